"""Celery application: JSON only, settings from Django (CELERY_* names), queues, beat, threads.

Two queues: ``embed`` (embedding batches; any number of workers on any machine) and ``index``
(builds and reconcile; a worker that can write INDEX_DIR). A worker started without ``-Q``
consumes both. docs/pipeline.md has the commands:

    celery -A config worker --concurrency 2 --loglevel INFO
    celery -A config beat --loglevel INFO
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, bootsteps
from celery.signals import celeryd_init, worker_init
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

EMBED_QUEUE = "embed"
INDEX_QUEUE = "index"

logger = logging.getLogger(__name__)

app = Celery("paperscope")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue(EMBED_QUEUE), Queue(INDEX_QUEUE))
app.conf.task_default_queue = EMBED_QUEUE
app.conf.task_routes = {
    "search.tasks.embed_papers": {"queue": EMBED_QUEUE},
    "search.tasks.build_index": {"queue": INDEX_QUEUE},
    "search.tasks.reconcile": {"queue": INDEX_QUEUE},
}
app.autodiscover_tasks()


def _survive_a_lost_redis_connection() -> None:
    """Keep the worker alive when Redis goes away while it holds unacknowledged messages.

    celery 5.7.0's consumer, on a lost broker connection, first collects the connection (which
    detaches the transport from its client) and then closes it; closing tries to hand the
    unacknowledged messages back to Redis through the detached transport and raises
    AttributeError, which stops the worker ("Unrecoverable error"). There is nothing to hand
    them back over at that point: they stay in Redis's unacked set and are redelivered after
    the visibility timeout (and reconcile re-queues what a Redis restart forgot).
    tests/pipeline/test_redis_restarted_mid_run_the_real_pipeline_converges.py covers it.
    """
    from kombu.transport import redis as kombu_redis

    restore = kombu_redis.QoS.restore_unacked
    if restore.__module__ == __name__:  # patched already (this module imported twice)
        return

    def restore_unacked(self: Any, client: Any = None) -> Any:
        if client is None and getattr(self.channel.connection, "client", None) is None:
            logger.warning("broker connection gone: %d unacknowledged message(s) left to Redis's visibility timeout", len(self._delivered))
            self._delivered.clear()
            return None
        return restore(self, client)

    setattr(kombu_redis.QoS, "restore_unacked", restore_unacked)  # a method replaced at run time


_survive_a_lost_redis_connection()


@worker_init.connect
def _refuse_to_start_on_check_errors(sender: Any = None, **kwargs: Any) -> None:
    """Celery runs Django's system checks at worker start but ignores what they find: a worker
    with a misconfigured embedding or index would take tasks it can only fail. It exits instead.

    Connected after celery's Django fixup (which sets Django up on the same signal). Celery logs
    and swallows a receiver's exceptions; SystemExit is not one of them, so the worker stops.
    """
    from django.core.exceptions import ImproperlyConfigured

    from search.checks import refuse_to_start_on_errors

    try:
        refuse_to_start_on_errors("the Celery worker")
    except ImproperlyConfigured as exc:
        logger.critical("%s", exc)
        raise SystemExit(str(exc)) from exc


class ReconcileOnConnect(bootsteps.StartStopStep):
    """Ask for a reconcile each time this worker's consumer (re)connects to the broker.

    A consumer starts when the worker starts (perhaps replacing one that was lost with the
    batches it held) and again after every broker reconnection (perhaps to a Redis that came
    back empty): both are when work may have been lost, and waiting for beat's next run left
    papers unembedded for minutes (RECONCILE_INTERVAL is 300 s). ``min_age=0``: nothing lost
    is left for later; a batch another worker holds right now may run twice, which is harmless.
    """

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def start(self, c: Any) -> None:
        try:
            c.app.send_task(
                "search.tasks.reconcile", kwargs={"min_age": 0, "reason": "worker connected"},
                queue=INDEX_QUEUE, expires=600,
            )
        except Exception as exc:  # the broker went away again: the next connection asks again
            logger.warning("could not ask for a reconcile on connecting (%s)", exc)


app.steps["consumer"].add(ReconcileOnConnect)


@app.on_after_configure.connect
def _beat_schedule(sender: Celery, **kwargs: Any) -> None:
    from django.conf import settings

    interval = float(settings.RECONCILE_INTERVAL)
    # expires: a reconcile that waited out a whole interval in the queue is superseded by the next.
    sender.add_periodic_task(interval, sender.signature("search.tasks.reconcile", expires=interval), name="reconcile")
    # Harvest sources are checked often; each says itself how often it is harvested (admin).
    check = float(settings.HARVEST_CHECK_INTERVAL)
    sender.add_periodic_task(check, sender.signature("harvest.tasks.harvest_due", expires=check), name="harvest-due")
    # Library digests: daily at LIBRARY_DIGEST_HOUR UTC, weekly on Mondays at the same hour.
    from celery.schedules import crontab

    hour = int(settings.LIBRARY_DIGEST_HOUR)
    sender.add_periodic_task(crontab(minute=0, hour=hour), sender.signature("library.tasks.send_digests", args=("daily",)), name="digests-daily")
    sender.add_periodic_task(
        crontab(minute=0, hour=hour, day_of_week="mon"), sender.signature("library.tasks.send_digests", args=("weekly",)), name="digests-weekly"
    )


def worker_threads(concurrency: int) -> int:
    """Threads each worker process may use so that all of them together fill, not oversubscribe, the cores."""
    from django.conf import settings

    if settings.WORKER_THREADS:
        return int(settings.WORKER_THREADS)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, concurrency))


@celeryd_init.connect
def _limit_threads(sender: str | None = None, conf: Any = None, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Size torch / OpenVINO / FAISS / OpenMP thread pools per worker process, in the parent.

    Runs in the worker's main process before it forks its pool: the environment is inherited
    and read by each library when a child first imports it (the parent never does: the model
    loads after the fork). EMBEDDING_THREADS is what the embedder passes to torch/OpenVINO.
    """
    from django.conf import settings

    concurrency = int((options or {}).get("concurrency") or (conf and conf.worker_concurrency) or os.cpu_count() or 1)
    threads = worker_threads(concurrency)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if settings.WORKER_THREADS or name not in os.environ:
            os.environ[name] = str(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # its own pool would add threads per process
    if settings.WORKER_THREADS or not settings.EMBEDDING_THREADS:
        settings.EMBEDDING_THREADS = threads
    logger.info("%d worker process(es), %d thread(s) each for embedding and FAISS", concurrency, threads)
