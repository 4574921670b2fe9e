"""Celery tasks of the harvest app: beat looks for due sources; each source harvests in its own task.

A harvest can run for hours (a first harvest of a busy set, a server that asks us to wait), so
it is acknowledged early and has its own time limits: a lost harvest is not redelivered (Redis
would hand a long-running one to a second worker) but resumes from the source's stored state
at the next check. Without REDIS_URL these run in-process, like every task.
"""

from __future__ import annotations

from celery import shared_task

from harvest import services
from harvest.models import HarvestSource


@shared_task(acks_late=False, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)
def harvest_source(source_id: int) -> dict[str, object] | None:
    """Harvest one source to the end of its list (skipped when another process holds it)."""
    source = HarvestSource.objects.filter(pk=source_id).first()
    if source is None:
        return None
    try:
        result = services.harvest_run(source=source)
    except services.HarvestBusy as exc:
        return {"skipped": str(exc)}
    return {"complete": result.complete, **result.counts, "error": result.error}


@shared_task(acks_late=False)
def harvest_due() -> list[int]:
    """Queue a harvest for every enabled source whose turn has come (Celery beat)."""
    due = [source.pk for source in services.sources_due()]
    for pk in due:
        harvest_source.delay(pk)
    return due
