"""The whole stack on PostgreSQL at benchmark scale: what it holds in memory while it serves and updates.

``bench_scale --steps stack`` copies the benchmark's SQLite collection into a PostgreSQL database
of its own (COPY; skipped when the row counts already match), hard-links the index directory
(builds are immutable, so the copy costs no space and the SQLite steps keep theirs), and starts
the production processes against them: gunicorn (2 workers), one Celery worker (the compose
file's command) and a redis-server of the stack's own (a free loopback port, nothing saved). One client searches throughout; meanwhile
``added`` papers arrive with their vectors (as a harvest leaves them once embedded) and the worker
makes an incremental build (``--stack-build full``: a full one), which the web workers then load. Every second it reads the
proportional memory (PSS: shared pages split between the processes that map them, so the sum is
what the stack occupies) of every process of the stack: the web master and workers, the Celery
worker and its children, PostgreSQL's processes (the server's, whichever database they serve),
the stack's redis-server.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import environ
from django.conf import settings
from django.db import connections

from bench import http
from bench.database import app_env, manage, register
from bench.measure import process_memory
from bench.metrics import latency_summary
from search.index_store import CURRENT

PG_ALIAS = "bench_pg"
# The tables the benchmark fills (papers, then their vectors: the foreign key's order).
TABLES = ("papers_paper", "search_paperembedding")


def _published(index_dir: Path) -> str:
    return (index_dir / CURRENT).read_text().strip()


def _conninfo(url: str, *, database: str | None = None) -> str:
    """``url`` (``postgres://`` as DATABASE_URL spells it) as psycopg takes it, optionally naming
    another database of the same server."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(("postgresql", parts.netloc, f"/{database}" if database else parts.path, parts.query, ""))


def _count(connection: Any, table: str) -> int:
    from psycopg import sql

    row = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0


def copy_to_postgres(*, sqlite_path: Path, url: str, log: Callable[[str], None]) -> dict[str, Any]:
    """The SQLite collection's papers and vectors in the PostgreSQL database ``url`` (made and
    migrated when missing), copied with COPY unless it already holds as many rows."""
    import psycopg
    from psycopg import sql

    name = urllib.parse.urlsplit(url).path.lstrip("/")
    with psycopg.connect(_conninfo(url, database="postgres"), autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    manage("migrate", "-v0", env=app_env(database=url))
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    wanted = {table: int(source.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) for table in TABLES}
    started = time.perf_counter()
    with psycopg.connect(_conninfo(url)) as target:
        held = {table: _count(target, table) for table in TABLES}
        if held == wanted:
            return {"rows": wanted, "copied": []}
        target.execute("SET synchronous_commit = off")
        copied = []
        for number, table in enumerate(TABLES):
            if held[table] == wanted[table]:
                continue  # e.g. the papers, copied while the vectors were still being stored
            # CASCADE empties the tables that refer to this one (the vectors, after the papers).
            target.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(sql.Identifier(table)))
            for later in TABLES[number + 1 :]:
                held[later] = 0
            copied.append(table)
            columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
            log(f"  stack: copying {wanted[table]:,} rows of {table} into PostgreSQL ...")
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
            with target.cursor().copy(statement) as copy:
                for row in source.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id"):
                    copy.write_row(row)
            target.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))").format(sql.Literal(table), sql.Identifier(table)))
            target.commit()
        target.autocommit = True
        target.execute("ANALYZE")
    return {"rows": wanted, "copied": copied, "copy_s": round(time.perf_counter() - started, 1)}


def connect(url: str) -> str:
    """Register the ``bench_pg`` alias for ``url`` in this process; returns the alias."""
    config = dict(connections.databases["default"])
    config.update({"OPTIONS": {}, "CONN_HEALTH_CHECKS": False, **environ.Env.db_url_config(url)})
    config["CONN_MAX_AGE"] = 0
    register(PG_ALIAS, config)
    return PG_ALIAS


def linked_index(index_dir: Path, into: Path) -> Path:
    """A copy of ``index_dir`` made of hard links (its builds are immutable; new ones are new files)."""
    if into.exists():
        shutil.rmtree(into)
    shutil.copytree(index_dir, into, copy_function=os.link)
    return into


def _pss(pid: int) -> float:
    try:
        return process_memory(pid)["pss_mb"]
    except OSError:
        return 0.0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += http._children(current)
    return found


def _named(prefix: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith(prefix):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class _RedisServer:
    """The stack's own redis-server (broker and cache) on a free loopback port; nothing saved."""

    def __init__(self) -> None:
        import redis

        self.port = http.free_port()
        self.directory = tempfile.TemporaryDirectory(prefix="bench-stack-redis-")
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed")
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.directory.name],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                if redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1).ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.directory.cleanup()


class _Sampler(threading.Thread):
    """Every ``interval`` seconds: the PSS of each group of the stack's processes (MB)."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]], interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.groups, self.interval = groups, interval
        self.samples: list[dict[str, Any]] = []
        self.phase = "start"
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            sample: dict[str, Any] = {"t": time.monotonic(), "phase": self.phase}
            for group, pids in self.groups.items():
                sample[group] = round(sum(_pss(pid) for pid in pids()), 1)
            sample["total"] = round(sum(v for k, v in sample.items() if k in self.groups), 1)
            self.samples.append(sample)
            self._stopping.wait(self.interval)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=30)

    def summary(self) -> dict[str, Any]:
        peak = max(self.samples, key=lambda s: s["total"])
        phases: dict[str, Any] = {}
        for sample in self.samples:
            phases.setdefault(sample["phase"], []).append(sample)
        return {
            "peak_total_mb": peak["total"],
            "at_peak_mb": {g: peak[g] for g in self.groups},
            "peak_phase": peak["phase"],
            "peak_by_group_mb": {g: max(s[g] for s in self.samples) for g in self.groups},
            "last_mb": {g: self.samples[-1][g] for g in (*self.groups, "total")},
            "by_phase_peak_total_mb": {p: max(s["total"] for s in ss) for p, ss in phases.items()},
            "samples": len(self.samples),
        }


def run(
    *, url: str, index_dir: Path, paths: list[str], add: Callable[[str], list[int]], log: Callable[[str], None], settle: float = 10.0, full: bool = False
) -> dict[str, Any]:
    """The stack on ``url`` and ``index_dir``: searches throughout, ``add(alias)`` papers and the
    worker's build meanwhile (incremental, or ``full``: from scratch, what an operator's
    ``build_index --full`` or a damaged build asks of the worker); memory sampled every second
    (module docstring)."""
    broker = _RedisServer()
    extra = {"REDIS_URL": broker.url, "INDEX_RELOAD_INTERVAL": "1"}
    server = http.Server(database=url, index_dir=index_dir, workers=2, threads=4, **extra)
    worker_log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "2", "--loglevel", "WARNING", "-n", f"bench-stack-{os.getpid()}@%h"],
        cwd=settings.BASE_DIR, env=app_env(database=url, index_dir=index_dir, DEBUG="false", **extra), stdout=worker_log, stderr=subprocess.STDOUT,
    )
    sampler = _Sampler({
        "web": lambda: _descendants(server.process.pid),
        "worker": lambda: _descendants(worker.pid),
        "postgresql": lambda: _named("postgres"),
        "redis": lambda: [broker.process.pid],
    })
    timings: dict[str, list[float]] = {}
    failed: list[tuple[str, int]] = []
    searching = threading.Event()

    def client() -> None:
        n = 0
        while searching.is_set():
            path = paths[n % len(paths)]
            n += 1
            started = time.perf_counter()
            try:
                status, _ = http._get(server.port, path, timeout=60)
            except OSError:
                status = 0
            timings.setdefault(sampler.phase, []).append(time.perf_counter() - started)
            if status != 200:
                failed.append((sampler.phase, status))

    try:
        log("stack: starting gunicorn and a Celery worker on PostgreSQL ...")
        server.wait_ready(paths[0], timeout=900)
        sampler.start()
        before = _published(index_dir)
        sampler.phase = "serving"
        searching.set()
        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        time.sleep(settle)
        sampler.phase = "adding papers"
        alias = connect(url)
        added = add(alias)
        connections[alias].close()
        sampler.phase = "worker builds"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", f"from search.tasks import build_index; build_index.delay(full={full})"],
            cwd=settings.BASE_DIR, env=app_env(database=url, index_dir=index_dir, **extra), check=True, capture_output=True, timeout=300,
        )
        deadline = time.monotonic() + 3600
        while _published(index_dir) == before and time.monotonic() < deadline:
            if worker.poll() is not None:
                raise RuntimeError("the Celery worker exited")
            time.sleep(0.5)
        built_s = time.perf_counter() - started
        if _published(index_dir) == before:
            raise RuntimeError("the worker published no build within an hour")
        sampler.phase = "serving the new build"
        time.sleep(settle)
        searching.clear()
        thread.join(timeout=120)
        sampler.stop()
    finally:
        searching.clear()
        server.stop()
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
        worker_log.close()
        if sampler.is_alive():
            sampler.stop()
        broker.stop()
    return {
        "added": len(added),
        "worker_build_to_published_s": round(built_s, 1),
        "memory": sampler.summary(),
        "searches": {phase: latency_summary(values) for phase, values in timings.items()},
        "failed_requests": len(failed),
    }
