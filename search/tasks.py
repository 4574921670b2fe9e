"""Celery tasks: take ids, re-read rows, call a service; safe to run twice, or twice at once.

Delivery guarantees come from settings (acks_late, reject_on_worker_lost): a batch whose worker
process dies is redelivered, and a redelivered batch skips what was already stored. A batch that
fails is split in halves until the bad paper is alone; that paper's error is recorded (shown by
index_status) and it is retried with exponential backoff and jitter, a bounded number of times.
The periodic ``reconcile`` (celery beat) re-queues whatever is still missing, e.g. the tasks a
restarted Redis forgot.
"""

from __future__ import annotations

import logging
import os
import random
import sys
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

from search import coordination, embedder, index_store, selectors, services

logger = logging.getLogger(__name__)

# The database or Redis restarting: worth retrying the same work later.
TRANSIENT = (OperationalError, InterfaceError, RedisError)
MAX_BACKOFF_SECONDS = 600
_jitter = random.SystemRandom()
# A batch whose process died this many times (a paper that crashes the model) is split instead.
MAX_DELIVERIES = 3


def backoff(retries: int) -> float:
    """Seconds before retry number ``retries + 1``: exponential, capped, with jitter."""
    ceiling = min(MAX_BACKOFF_SECONDS, 5 * 2**retries)
    # Half fixed, half random: retries of many failed tasks spread out instead of stampeding.
    return ceiling / 2 + _jitter.uniform(0, ceiling / 2)


def _model_loaded_here() -> bool:
    # Read (never load) the embedder's per-process cache: used only to log the one load per process.
    return getattr(embedder, "_model_pid", None) == os.getpid() and bool(getattr(embedder, "_models", None))


def _log_model_load() -> None:
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    logger.info(
        "process %d loaded the embedding model (%s backend in %s, EMBEDDING_THREADS=%s, torch threads %s, OMP_NUM_THREADS=%s)",
        os.getpid(), settings.EMBEDDING_BACKEND, embedder.get_model().precision, settings.EMBEDDING_THREADS,
        torch_threads, os.environ.get("OMP_NUM_THREADS"),
    )


def _split(paper_ids: list[int], error: str) -> dict[str, int]:
    """Re-queue a failing batch as two halves, so a bad paper ends up alone."""
    logger.warning("batch of %d papers failed (%s); splitting it", len(paper_ids), error)
    half = len(paper_ids) // 2
    enqueue_embedding(paper_ids[:half])
    enqueue_embedding(paper_ids[half:])
    return {"embedded": 0, "skipped": 0, "missing": 0, "failed": 0, "split": len(paper_ids)}


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def embed_papers(self: Task, paper_ids: list[int]) -> dict[str, int]:
    """Embed a batch of papers (skipping up-to-date ones), then ask for an index build."""
    if coordination.delivery_count(self.request.id) > MAX_DELIVERIES:
        error = f"its worker process died {MAX_DELIVERIES} times while embedding it"
        if len(paper_ids) > 1:
            return _split(paper_ids, error)
        services.embedding_failure_record(paper_ids=paper_ids, error=error)
        logger.error("paper %s: %s; given up", paper_ids[0], error)
        return {"embedded": 0, "skipped": 0, "missing": 0, "failed": 1}
    loaded_before = _model_loaded_here()
    try:
        summary = services.embeddings_update(paper_ids=paper_ids)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    except (SoftTimeLimitExceeded, Exception) as exc:
        error = "took longer than CELERY_TASK_SOFT_TIME_LIMIT" if isinstance(exc, SoftTimeLimitExceeded) else f"{type(exc).__name__}: {exc}"
        if len(paper_ids) > 1:
            return _split(paper_ids, error)  # the good papers get stored on the way to the bad one
        services.embedding_failure_record(paper_ids=paper_ids, error=error)
        if coordination.tasks_run_in_process() or self.request.retries >= self.max_retries:
            logger.error("paper %s could not be embedded: %s", paper_ids[0], error)
            return {"embedded": 0, "skipped": 0, "missing": 0, "failed": 1}
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    if not loaded_before and _model_loaded_here():
        _log_model_load()
    if summary.embedded:
        # rescue: a build scheduled by an earlier batch that never started (lost with a killed
        # worker: its delayed message waits out the visibility timeout) must not absorb this
        # request, or the index would wait for beat's next reconcile.
        request_index_build(rescue=True)
    return {"embedded": summary.embedded, "skipped": summary.skipped, "missing": summary.missing, "failed": 0}


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=60,
    soft_time_limit=settings.INDEX_BUILD_SOFT_TIME_LIMIT, time_limit=settings.INDEX_BUILD_TIME_LIMIT,
)
def build_index(self: Task, full: bool = False) -> str | None:
    """Build and publish the index (incrementally unless ``full``); skipped when nothing changed.

    A request that finds a build running is coalesced: it waits behind it (re-armed as the one
    pending request, absorbing any that arrive meanwhile) and then builds what that one missed.
    """
    in_process = coordination.tasks_run_in_process()
    try:
        build = services.index_build(full=full, if_changed=not full, wait=coordination.IN_PROCESS_BUILD_WAIT if in_process else 0.0)
    except coordination.BuildBusy:
        if in_process:
            logger.info("index build already running; request coalesced into it")
            return None
        try:
            coordination.build_request_mark(refresh=True)
        except RedisError as exc:
            logger.warning("could not re-arm the build request (%s)", exc)
        raise self.retry(countdown=coordination.build_debounce()) from None
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    return build.build_id if build else None


@shared_task(bind=True, acks_late=True)
def reconcile(self: Task, min_age: float | None = None, reason: str = "schedule") -> dict[str, Any]:
    """Re-queue papers whose vector is missing or stale; ask for a build when index and database disagree.

    Run by celery beat every RECONCILE_INTERVAL seconds, and by every worker each time it
    connects to the broker (config.celery.ReconcileOnConnect: a worker started after one was
    lost, or a broker that came back empty) with ``min_age=0``, so recovery does not wait for
    the schedule. Papers whose batch is still waiting in the embed queue are left to it; what a
    restarted Redis or a killed worker lost (its batches are invisible in Redis until the
    visibility timeout) is queued again. A batch another worker is embedding right now may be
    queued twice: harmless, the second finds the vectors stored and skips them.
    """
    if min_age is None:
        min_age = settings.RECONCILE_MIN_AGE
    queued = _queued_embedding_ids()
    ids = selectors.papers_to_reembed(min_age=min_age, max_attempts=settings.EMBED_MAX_ATTEMPTS)
    ids = [i for i in ids if i not in queued]
    enqueue_embedding(ids)
    waiting = len(queued)
    # Checksums every file of the current build: damage after the web processes loaded it
    # (bytes overwritten under their mapping) is recorded, so they stop serving it now.
    drift = selectors.index_drift()
    if drift.damaged and drift.build_id:
        index_store.record_damage(drift.build_id, drift.problem)
    build = bool(drift.problem or drift.buildable)
    if build:
        # A damaged current build cannot be a base: the build starts from scratch by itself.
        # On a worker's (re)connect a pending build request may belong to a build lost with the
        # worker before it, however young: take it over (at worst one build more) rather than
        # leave the index waiting for beat.
        request_index_build(rescue=True, takeover=reason != "schedule")
    report = {
        "reason": reason,
        "already_queued": waiting,  # papers whose batch waits in the queue
        "enqueued": len(ids),
        "missing": len(drift.missing),
        "stale": len(drift.stale),
        "extra": len(drift.extra),
        "problem": drift.problem,
        "build_requested": build,
    }
    logger.info("reconcile: %s", report)
    return report


def _queued_embedding_ids() -> set[int]:
    """Paper ids in embed tasks waiting in the broker's queue (empty without Redis)."""
    from config.celery import EMBED_QUEUE

    ids: set[int] = set()
    for batch in coordination.queued_first_arguments(EMBED_QUEUE, task_name=embed_papers.name):
        try:
            ids.update(int(i) for i in batch)
        except (TypeError, ValueError):  # not a batch of ids: not a message of ours
            continue
    return ids


def request_index_build(*, full: bool = False, rescue: bool = False, takeover: bool = False) -> None:
    """Ask for an index build: debounced and coalesced with a broker, inline in the embedded default.

    ``rescue`` (reconcile, new vectors): replace a pending build that has not started long after
    its debounce delay (probably lost with a killed worker) instead of waiting for it.
    ``takeover``: replace it even if it is young (coordination.build_wanted has the rules).
    """
    try:
        wanted = coordination.build_wanted(full=full, rescue=rescue, takeover=takeover)
    except RedisError as exc:
        # The papers are stored; reconcile asks again once Redis is back.
        logger.warning("could not request an index build (%s); reconcile will", exc)
        return
    if wanted:
        coordination.dispatch(build_index, kwargs={"full": full}, countdown=settings.BUILD_DEBOUNCE_SECONDS)


def enqueue_embedding(paper_ids: list[int]) -> None:
    """Queue embedding for papers, in batches of EMBED_TASK_BATCH ids (run at once in-process)."""
    size = settings.EMBED_TASK_BATCH
    for start in range(0, len(paper_ids), size):
        if not coordination.dispatch(embed_papers, args=[paper_ids[start : start + size]]):
            # The papers are stored; reconcile queues them once the broker is back.
            logger.warning("%d papers not queued; reconcile will", len(paper_ids) - start)
            return
