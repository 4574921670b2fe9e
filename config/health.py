"""Liveness (/healthz) and readiness (/readyz) for load balancers, Docker and Kubernetes.

/healthz says the process answers HTTP; it touches nothing else, so a database outage never
gets healthy web processes restarted. /readyz says this process can serve searches now:
database reachable and migrated, broker reachable (when one is configured), an index build
loaded, that build not lagging behind the vectors in the database for longer than
INDEX_MAX_LAG seconds, and no paper waiting for its embedding longer than EMBED_MAX_LAG. Each failing check names its reason; any failure answers 503.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from django.conf import settings
from django.db import connection

Check = dict[str, Any]

_migrated = False  # once true it stays true for this process: migrations never un-apply
_redis_clients: dict[str, Any] = {}


def liveness() -> tuple[int, dict[str, Any]]:
    return 200, {"status": "ok", "pid": os.getpid()}


def readiness() -> tuple[int, dict[str, Any]]:
    """Run every check; 200 when all pass, else 503 with each failure's reason."""
    checks: dict[str, Check] = {"database": _check_database()}
    if settings.REDIS_URL:
        checks["broker"] = _check_broker()
    checks["index"] = _check_index(database_ok=checks["database"]["ok"])
    if checks["database"]["ok"]:
        checks["embedding"] = _check_embedding()
    ok = all(check["ok"] for check in checks.values())
    body: dict[str, Any] = {"status": "ready" if ok else "not ready", "checks": checks}
    if not ok:
        body["reasons"] = [f"{name}: {check['reason']}" for name, check in checks.items() if not check["ok"]]
    return (200 if ok else 503), body


def _short(exc: BaseException) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line[:200]}"


def _check_database() -> Check:
    global _migrated
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrated:
            from django.db.migrations.executor import MigrationExecutor

            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if pending:
                return {"ok": False, "reason": f"{len(pending)} migration(s) not applied (run manage.py migrate)"}
            _migrated = True
    except Exception as exc:  # any driver error means "not ready", never a 500
        return {"ok": False, "reason": _short(exc)}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_broker() -> Check:
    import redis

    url = settings.CELERY_BROKER_URL
    started = time.perf_counter()
    try:
        client = _redis_clients.get(url)
        if client is None:
            client = _redis_clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
    except Exception as exc:
        return {"ok": False, "reason": _short(exc)}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_index(*, database_ok: bool) -> Check:
    from search.embedder import model_name
    from search.index_store import current_build_id, current_index, reader

    published = current_build_id()
    if published is None:
        return {"ok": False, "reason": reader.unavailable_reason()}
    loaded = current_index()
    if loaded is None:
        # Searches answer 503 with this same sentence; a rebuild has been asked for.
        return {"ok": False, "reason": reader.unavailable_reason(), "published": published}
    check: Check = {"ok": True, "build_id": loaded.build_id, "count": loaded.count, "model": model_name()}
    if loaded.build_id != published:
        refused = reader.refused.get(published, "not loaded yet")
        return {**check, "ok": False, "reason": f"newest build {published} refused ({refused}); serving {loaded.build_id}"}
    created = _parse_time(loaded.manifest.get("created"))
    if created is not None:
        check["age_s"] = round((dt.datetime.now(dt.timezone.utc) - created).total_seconds())
    if database_ok and created is not None:
        check.update(_lag(created=created))
    if check.get("lag_s", 0) > settings.INDEX_MAX_LAG > 0:
        check["ok"] = False
        check["reason"] = (
            f"{check['unindexed']} vector(s) stored since the build {check['lag_s']} s ago are not in the index "
            f"(INDEX_MAX_LAG={settings.INDEX_MAX_LAG}); is a Celery worker running?"
        )
    return check


_backlog: tuple[float, Check] | None = None  # (monotonic time, check): probes come every few seconds
_BACKLOG_TTL = 10.0


def _check_embedding() -> Check:
    """Papers waiting for their vector: how many, and how long the oldest has waited.

    Fails when the oldest has waited longer than EMBED_MAX_LAG seconds while a broker is
    configured (a worker is expected to embed them; in the embedded default imports embed
    inline). Papers reconcile has given up on (EMBED_MAX_ATTEMPTS failures) do not count:
    index_status lists them with their errors.
    """
    global _backlog
    now = time.monotonic()
    if _backlog is not None and now - _backlog[0] < _BACKLOG_TTL:
        return _backlog[1]
    from search.selectors import embedding_backlog

    try:
        waiting, oldest = embedding_backlog(max_attempts=settings.EMBED_MAX_ATTEMPTS)
    except Exception as exc:
        return {"ok": True, "error": _short(exc)}  # the database check reports a real outage
    waited = round((dt.datetime.now(dt.timezone.utc) - oldest).total_seconds()) if oldest else 0
    check: Check = {"ok": True, "waiting": waiting, "oldest_wait_s": waited}
    limit = settings.EMBED_MAX_LAG
    if settings.REDIS_URL and limit > 0 and waited > limit:
        check["ok"] = False
        check["reason"] = (
            f"{waiting} paper(s) waiting for their embedding, the oldest for {waited} s (EMBED_MAX_LAG={limit}); "
            "is a Celery worker running? (reconcile re-queues lost batches whenever a worker connects)"
        )
    _backlog = (now, check)
    return check


def _lag(*, created: dt.datetime) -> Check:
    """Vectors written after the serving build: how many, and how long the oldest has waited."""
    from django.db.models import Count, Min

    from search.embedder import model_name
    from search.models import PaperEmbedding

    try:
        newer = PaperEmbedding.objects.filter(model=model_name(), updated__gt=created).aggregate(n=Count("pk"), oldest=Min("updated"))
    except Exception as exc:
        return {"lag_error": _short(exc)}
    if not newer["n"]:
        return {"unindexed": 0, "lag_s": 0}
    waited = (dt.datetime.now(dt.timezone.utc) - newer["oldest"]).total_seconds()
    return {"unindexed": newer["n"], "lag_s": round(waited)}


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
