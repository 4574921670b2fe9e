"""Celery tasks of the papers app: take ids, re-read rows, call a service; safe to run twice.

Without REDIS_URL they run in-process (Celery eager mode), like the search tasks.
"""

from __future__ import annotations

from celery import shared_task

from papers.duplicates import duplicates_find
from papers.import_jobs import import_job_run as run_import_job


@shared_task(acks_late=True)
def import_job_run(job_id: int) -> dict[str, object] | None:
    """Run an admin upload (an ImportJob): a redelivered job starts over, a finished one is skipped."""
    job = run_import_job(job_id=job_id)
    if job is None:
        return None
    return {"status": job.status, "created": job.created_count, "rejected": job.error_count}


@shared_task(acks_late=True)
def duplicates_scan() -> dict[str, int]:
    """Look for duplicate candidate pairs (the all-pairs cosine step is the slow part)."""
    scan = duplicates_find()
    return {"proposed": scan.total, "known": scan.known}
