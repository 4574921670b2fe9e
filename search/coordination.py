"""Coordination between processes: where tasks run, the Redis client, one index builder at a
time, debounced build requests, the delivery counter and what waits in the broker's queues.

The embedded default (no broker) and production differ here and nowhere else in the search
app: ``tasks_run_in_process`` says which one this is, ``dispatch`` runs a task in this process
or queues it. Redis when REDIS_URL is set (across machines), a file lock in INDEX_DIR otherwise.
A floor below ``search.services``, ``search.selectors`` and ``search.tasks``, which all use it;
it imports none of them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from django.conf import settings

from search import index_store

logger = logging.getLogger(__name__)
REDIS_PREFIX = "paperscope"
BUILD_PENDING_KEY = f"{REDIS_PREFIX}:index-build-pending"
BUILDER_LOCK_KEY = f"{REDIS_PREFIX}:index-builder"
DELIVERIES_KEY = f"{REDIS_PREFIX}:deliveries"
# kombu keeps each queue as one Redis list per priority step: "name", "name\x06\x163", ...
_PRIORITY_STEPS = (3, 6, 9)
# How long an in-process build waits for a running one (a command or a worker) before it
# leaves the request to that build.
IN_PROCESS_BUILD_WAIT = 60.0
_redis: tuple[int, str, Any] | None = None


def tasks_run_in_process() -> bool:
    """True in the embedded default (no broker): tasks run in the process that asks for them.

    The one place that tells the two modes apart (settings derive CELERY_TASK_ALWAYS_EAGER from
    REDIS_URL). In-process there is no debounce, no retry later, and a busy builder is waited for.
    """
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


def dispatch(task: Any, *, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None, countdown: float | None = None) -> bool:
    """Run ``task`` now in this process (embedded default), or queue it on the broker.

    ``countdown``: seconds the queued task waits (ignored in-process). False when the broker
    could not be reached (logged): what the task would do is recorded in the database, and
    reconcile asks again once the broker is back. In-process, the task's own errors propagate.
    """
    if tasks_run_in_process():
        task.apply(args=list(args), kwargs=kwargs or {})
        return True
    from kombu.exceptions import OperationalError as BrokerUnavailable
    from redis.exceptions import RedisError

    try:
        task.apply_async(args=list(args), kwargs=kwargs or {}, countdown=countdown)
    except (RedisError, BrokerUnavailable) as exc:
        logger.warning("could not queue %s (%s); reconcile will", task.name, exc)
        return False
    return True


def redis_client() -> Any | None:
    """This process's Redis client, or None in the embedded default (no REDIS_URL).

    Created per process: a connection pool inherited through a fork would be shared by two
    processes at once.
    """
    global _redis
    url = settings.REDIS_URL
    if not url:
        return None
    if _redis is None or _redis[0] != os.getpid() or _redis[1] != url:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)
        _redis = (os.getpid(), url, client)
    return _redis[2]


def _pending_ttl() -> int:
    # Long enough to cover the debounce wait and a retry or two of a busy builder; short enough
    # that a scheduled build lost with a killed worker stops absorbing new requests soon.
    return int(max(60.0, settings.BUILD_DEBOUNCE_SECONDS * 3))


def build_wanted(*, full: bool = False, rescue: bool = False, takeover: bool = False) -> bool:
    """Whether a build must be scheduled for a request now (the debounce and the rescue rules).

    In-process, every request builds (at once). With a broker, the first request schedules one
    build BUILD_DEBOUNCE_SECONDS later and absorbs the rest until it starts; ``full`` always
    schedules. ``rescue``: a pending build that has not started three debounce delays after it
    was asked for was probably lost with a killed worker (its message waits out the visibility
    timeout), so another is scheduled. ``takeover``: the pending one is replaced however young.
    """
    if tasks_run_in_process():
        return True
    stale_after = 0.0 if takeover else 3 * build_debounce() if rescue else None
    return build_request_mark(stale_after=stale_after) or full


def build_debounce() -> float:
    """Seconds a scheduled build waits for further requests (and a postponed one for its retry)."""
    return max(1.0, float(settings.BUILD_DEBOUNCE_SECONDS))


def build_request_mark(*, refresh: bool = False, stale_after: float | None = None) -> bool:
    """Note that the index should be rebuilt; True when the caller must schedule the build.

    While a build is scheduled and has not started, further requests are absorbed by it (the
    flag lives in Redis, so this holds across processes and machines): a burst of 10,000
    papers yields a few builds. Without Redis every request schedules one (they run inline).
    ``refresh`` re-arms the flag for a build that is postponed behind a running one.
    ``stale_after``: a flag older than this many seconds is taken for a build lost with its
    worker (its message waits out the visibility timeout), and the caller schedules another.
    """
    client = redis_client()
    if client is None:
        return True
    now = str(time.time())
    if refresh:
        client.set(BUILD_PENDING_KEY, now, ex=_pending_ttl())
        return False
    if client.set(BUILD_PENDING_KEY, now, nx=True, ex=_pending_ttl()):
        return True
    if stale_after is not None:
        since = client.get(BUILD_PENDING_KEY)
        if since is not None and time.time() - float(since) > stale_after:
            client.set(BUILD_PENDING_KEY, now, ex=_pending_ttl())
            return True
    return False


def build_request_clear() -> None:
    """Called by a build once it holds the lock: later requests are for changes it may miss."""
    client = redis_client()
    if client is None:
        return
    from redis.exceptions import RedisError

    try:
        client.delete(BUILD_PENDING_KEY)
    except RedisError as exc:  # the flag expires on its own; the build must not fail for it
        logger.warning("could not clear the build request flag: %s", exc)


class BuildBusy(Exception):
    """Another process holds the builder lock."""


@contextmanager
def builder_lock(*, wait: float = 0.0) -> Iterator[None]:
    """Exactly one index writer at a time, on one machine or many.

    With Redis configured, a Redis lock serialises builders on every machine; it is renewed
    while held and expires BUILD_LOCK_TTL seconds after a killed holder stops renewing it.
    The OS file lock next to the builds always guards the directory itself (and is the only
    lock in the embedded default). Raises BuildBusy when not acquired within ``wait`` seconds.
    """
    deadline = time.monotonic() + wait
    with ExitStack() as stack:
        client = redis_client()
        if client is not None:
            stack.enter_context(_redis_lock(client, deadline=deadline))
        stack.enter_context(_file_lock(deadline=deadline))
        yield


@contextmanager
def _file_lock(*, deadline: float) -> Iterator[None]:
    index_store.index_dir().mkdir(parents=True, exist_ok=True)
    with open(index_store.index_dir() / "build.lock", "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    raise BuildBusy("another index build is running") from exc
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _redis_lock(client: Any, *, deadline: float) -> Iterator[None]:
    from redis.exceptions import LockError, RedisError

    ttl = max(3, int(settings.BUILD_LOCK_TTL))
    lock = client.lock(BUILDER_LOCK_KEY, timeout=ttl, sleep=0.1, thread_local=False)
    wait = max(0.0, deadline - time.monotonic())
    if not lock.acquire(blocking=wait > 0, blocking_timeout=wait or None):
        raise BuildBusy("another index build is running (on this or another machine)")
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl / 3):
            try:
                lock.reacquire()
            except (LockError, RedisError) as exc:
                # Redis restarted or is unreachable: the file lock still guards this machine.
                logger.warning("could not renew the index builder lock: %s", exc)

    renewer = threading.Thread(target=renew, name="index-builder-lock", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(timeout=5)
        try:
            lock.release()
        except (LockError, RedisError) as exc:
            logger.warning("could not release the index builder lock: %s", exc)


def delivery_count(task_id: str | None) -> int:
    """How many times the message ``task_id`` has been started (0 without Redis or an id).

    A batch is redelivered when its worker process dies; the count lets one that keeps killing
    its process be split or given up on instead of looping forever.
    """
    from redis.exceptions import RedisError

    client = redis_client()
    if client is None or not task_id:
        return 0
    key = f"{DELIVERIES_KEY}:{task_id}"
    try:
        count = int(client.incr(key))
        client.expire(key, 86_400)
    except RedisError:
        return 0
    return count


def _queue_lists(queue: str) -> list[str]:
    return [queue, *(f"{queue}\x06\x16{step}" for step in _PRIORITY_STEPS)]


def queue_lengths(queues: Sequence[str]) -> dict[str, int]:
    """Messages waiting in each Celery queue (empty without Redis, or with Redis down)."""
    from redis.exceptions import RedisError

    client = redis_client()
    if client is None:
        return {}
    try:
        return {queue: sum(int(client.llen(name)) for name in _queue_lists(queue)) for queue in queues}
    except RedisError:
        return {}


def queued_first_arguments(queue: str, *, task_name: str) -> list[Any]:
    """The first positional argument of every ``task_name`` message waiting in ``queue``.

    Empty without Redis; with Redis down, empty and logged. A message's body is base64 JSON
    ``[args, kwargs, options]``; messages that are not ``task_name``'s are skipped.
    """
    import base64
    import json

    from redis.exceptions import RedisError

    client = redis_client()
    if client is None:
        return []
    found: list[Any] = []
    try:
        for name in _queue_lists(queue):
            for raw in client.lrange(name, 0, -1):
                try:
                    message = json.loads(raw)
                    if message.get("headers", {}).get("task") != task_name:
                        continue
                    found.append(json.loads(base64.b64decode(message["body"]))[0][0])
                except (ValueError, KeyError, IndexError, TypeError):  # not a message of ours
                    continue
    except RedisError as exc:
        logger.warning("could not read the %s queue (%s); treated as empty", queue, exc)
    return found
