"""Celery tasks: take ids, re-read rows, call a service; safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from search import services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def embed_papers(self: object, paper_ids: list[int]) -> dict[str, int]:
    """Embed a batch of papers (skips up-to-date ones), then ask for an index build."""
    try:
        summary = services.embeddings_update(paper_ids=paper_ids)
    except OperationalError:
        raise
    except Exception as exc:
        services.embedding_failure_record(paper_ids=paper_ids, error=f"{type(exc).__name__}: {exc}")
        raise
    if summary.embedded:
        request_index_build()
    return {"embedded": summary.embedded, "skipped": summary.skipped, "missing": summary.missing}


@shared_task(acks_late=True)
def build_index() -> str | None:
    """Build and publish the index; a request while a build runs is coalesced into it."""
    try:
        return services.index_build().build_id
    except services.BuildBusy:
        logger.info("index build already running; request coalesced")
        return None


def request_index_build() -> None:
    """Ask for an index build (runs inline in the embedded default)."""
    build_index.delay()


def enqueue_embedding(paper_ids: list[int]) -> None:
    """Queue embedding for papers, in batches of EMBED_TASK_BATCH ids."""
    size = settings.EMBED_TASK_BATCH
    for start in range(0, len(paper_ids), size):
        embed_papers.delay(paper_ids[start : start + size])
