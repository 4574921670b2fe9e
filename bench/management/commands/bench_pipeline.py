"""manage.py bench_pipeline: papers/s from import to searchable, in-process vs Celery workers.

Each mode starts from an empty database and index and imports the same slice:

- ``inprocess``: no broker; the import embeds and builds in its own process (the embedded default).
- ``1``, ``2``, ...: that many Celery worker processes (one ``celery worker -c N``) on a private
  redis-server; the import only queues work. Threads per process: cores // N (config/celery.py).

The clock starts when ``import_papers`` starts and stops when every paper has a stored vector
and the published build holds exactly the visible papers (what verify_index checks), so it
includes model loading, queueing, the debounced builds and the last publish. Prints JSON (and
writes it with --json) and a table.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.corpus import ARXIV_115K
from bench.http import free_port

ROOT = Path(settings.BASE_DIR)


class Command(BaseCommand):
    help = "Measure papers/s from import to searchable: in-process and with N Celery worker processes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", default=str(ARXIV_115K))
        parser.add_argument("--papers", type=int, default=5000)
        parser.add_argument("--modes", default="inprocess,1,2", help="comma-separated: inprocess and/or worker process counts")
        parser.add_argument("--database-url", default="", help="a PostgreSQL server to create scratch databases on (default: SQLite files)")
        parser.add_argument("--debounce", type=float, default=2.0, help="BUILD_DEBOUNCE_SECONDS for the worker modes")
        parser.add_argument("--timeout", type=float, default=3600.0, help="give up on a mode after this many seconds")
        parser.add_argument("--json", dest="json_out", default="", help="also write the results here")

    def handle(self, *args: Any, source: str, papers: int, modes: str, database_url: str, debounce: float, timeout: float, json_out: str, **options: Any) -> None:
        if not shutil.which("redis-server") and any(m != "inprocess" for m in modes.split(",")):
            raise CommandError("redis-server is needed for the worker modes")
        work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
        try:
            data = work / "slice.jsonl"
            opener = gzip.open if source.endswith(".gz") else open
            with opener(source, "rt", encoding="utf-8") as src, open(data, "w", encoding="utf-8") as dst:
                dst.writelines(itertools.islice(src, papers))
            results = [self._run(mode.strip(), data=data, work=work / mode.strip(), database_url=database_url, debounce=debounce, timeout=timeout) for mode in modes.split(",")]
        finally:
            shutil.rmtree(work, ignore_errors=True)
        report = {
            "benchmark": "pipeline end to end (import to searchable)",
            "papers": papers,
            "source": source,
            "database": "postgresql" if database_url else "sqlite",
            "embedding_backend": settings.EMBEDDING_BACKEND,
            "model": settings.EMBEDDING_MODEL_NAME,
            "cores": len(os.sched_getaffinity(0)),
            "load_average_after": os.getloadavg(),
            "results": results,
        }
        text = json.dumps(report, indent=2)
        self.stdout.write(text)
        if json_out:
            Path(json_out).write_text(text + "\n")
        self.stdout.write("")
        self.stdout.write(f"{'mode':<20}{'papers':>8}{'import s':>10}{'searchable s':>14}{'papers/s':>10}{'builds':>8}")
        for r in results:
            self.stdout.write(f"{r['mode']:<20}{r['papers']:>8}{r['import_s']:>10.1f}{r['searchable_s']:>14.1f}{r['papers_per_s']:>10.1f}{r['builds']:>8}")

    def _run(self, mode: str, *, data: Path, work: Path, database_url: str, debounce: float, timeout: float) -> dict[str, Any]:
        work.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        env.update({"PAPERSCOPE_IGNORE_DOTENV": "1", "HF_HUB_OFFLINE": "1", "INDEX_DIR": str(work / "index"), "LOG_LEVEL": "WARNING"})
        drop = None
        if database_url:
            name = f"paperscope_bench_{os.getpid()}_{mode}"
            admin = urllib.parse.urlunsplit(urllib.parse.urlsplit(database_url)._replace(path="/postgres"))
            import psycopg

            def run_sql(sql: str) -> None:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(sql)

            run_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            run_sql(f'CREATE DATABASE "{name}"')
            env["DATABASE_URL"] = urllib.parse.urlunsplit(urllib.parse.urlsplit(database_url)._replace(path=f"/{name}"))
            drop = lambda: run_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            env["DATABASE_URL"] = f"sqlite:///{work / 'db.sqlite3'}"
        processes: list[subprocess.Popen[bytes]] = []
        manage = [sys.executable, str(ROOT / "manage.py")]
        try:
            # Every argument below is this project's own path or a number: no outside input.
            subprocess.run([*manage, "migrate", "-v0", "--noinput"], env=env, check=True, cwd=ROOT)
            if mode != "inprocess":
                port = free_port()
                processes.append(subprocess.Popen(
                    [str(shutil.which("redis-server")), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(work)],
                    stdout=subprocess.DEVNULL, start_new_session=True,
                ))
                env.update({"REDIS_URL": f"redis://127.0.0.1:{port}/0", "BUILD_DEBOUNCE_SECONDS": str(debounce)})
                log = open(work / "worker.log", "wb")  # noqa: SIM115 - closed below
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", mode, "--loglevel", "WARNING",
                     "--without-gossip", "--without-mingle", "--without-heartbeat"],
                    env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                ))
                log.close()
                time.sleep(3)  # the worker connects; its processes load the model on their first batch (timed)
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            subprocess.run([*manage, "import_papers", str(data)], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            imported = time.perf_counter() - started
            facts = self._wait_searchable(env, work / "index", started=started, timeout=timeout)
            elapsed = time.perf_counter() - started
            return {
                "mode": "in-process" if mode == "inprocess" else f"{mode} worker process{'es' if mode != '1' else ''}",
                "papers": facts["papers"],
                "import_s": round(imported, 2),
                "searchable_s": round(elapsed, 2),
                "papers_per_s": round(facts["papers"] / elapsed, 2),
                "builds": facts["builds"],
                # Other work on the machine skews the numbers: the 1-minute load before and after.
                "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            }
        finally:
            for proc in reversed(processes):
                try:
                    os.killpg(proc.pid, 9)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=30)
            if drop:
                drop()

    def _wait_searchable(self, env: dict[str, str], index: Path, *, started: float, timeout: float) -> dict[str, int]:
        """Poll cheaply (plain SQL, the members file) so that waiting costs the run nothing."""
        url = env["DATABASE_URL"]
        visible_sql = "SELECT id, content_hash FROM papers_paper WHERE hidden = false AND merged_into_id IS NULL"
        builds_sql = "SELECT count(*) FROM search_indexbuild WHERE status = 'published'"
        while True:
            if url.startswith("sqlite"):
                import sqlite3

                conn = sqlite3.connect(url[len("sqlite:///"):], timeout=30)
                try:
                    visible = dict(conn.execute(visible_sql).fetchall())
                    builds = conn.execute(builds_sql).fetchone()[0]
                finally:
                    conn.close()
            else:
                import psycopg

                with psycopg.connect(url, autocommit=True) as pg:
                    visible = dict(pg.execute(visible_sql).fetchall())
                    builds = pg.execute(builds_sql).fetchone()[0]  # type: ignore[index]
            members = self._members(index)
            if members and members == {int(k): h[:16] for k, h in visible.items()}:
                return {"papers": len(visible), "builds": int(builds)}
            if time.perf_counter() - started > timeout:
                raise CommandError(f"not searchable after {timeout:.0f}s ({len(members)} of {len(visible)} papers indexed)")
            time.sleep(0.5)

    @staticmethod
    def _members(index: Path) -> dict[int, str]:
        import numpy as np

        try:
            build = (index / "CURRENT").read_text().strip()
            members = np.load(index / "builds" / build / "members.npy", allow_pickle=False)
        except (OSError, ValueError):
            return {}
        return {int(i): h.decode("ascii") for i, h in zip(members["id"], members["hash"], strict=True)}
