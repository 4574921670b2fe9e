"""Celery tasks of the library: the daily and weekly digests (scheduled in config/celery.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="library.tasks.send_digests", acks_late=True)
def send_digests(frequency: str) -> dict[str, object]:
    """Send every reader's digest of this frequency (daily or weekly); safe to run twice."""
    from library.digests import digest_run

    summary = digest_run(frequency=frequency)
    return {"frequency": summary.frequency, "emails": summary.emails, "papers": summary.papers, "rankings": summary.rankings}
