"""manage.py bench_warm: the first search after a start and after a new build, vs a warm one.

Builds a sample collection once (import, embed, ``build_index --full``), then for each mode and
round starts gunicorn (one worker, the production config) on it and times, over HTTP:

- ``first_after_start``: the first /api/search once the worker answers /healthz;
- ``warm_median``: the median of the next searches (each a different query);
- ``first_after_build``: the slowest search from the moment a new build is published
  (``build_index --full``) until the worker serves it (the request that notices it, and those
  after it), checked afterwards on /readyz.

Modes: ``cold`` (GUNICORN_WARM=0: model, build and each new build load inside the request that
needs them) and ``warm`` (the default: post_worker_init searches once before traffic; new builds
load and are searched in a background thread before they are swapped in). Prints JSON (and
writes it with --json) and a table.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from bench.database import app_env, manage
from bench.http import Server, _get, free_port

SAMPLE = Path(settings.BASE_DIR) / "samples" / "arxiv-sample-300.jsonl"
QUERIES = [
    "diffusion models for video generation", "reinforcement learning from human feedback",
    "graph neural networks for molecules", "galaxy rotation curves and dark matter",
    "robot grasping with tactile sensing", "large language model reasoning benchmarks",
    "speech recognition in noisy environments", "protein structure prediction",
    "image segmentation with transformers", "quantum error correction codes",
    "federated learning privacy", "climate model downscaling",
]


class Command(BaseCommand):
    help = "Time the first search after a gunicorn start and after a new build, against a warm one (GUNICORN_WARM=0 vs 1)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", default=str(SAMPLE), help="a JSONL collection to import (default: samples/arxiv-sample-300.jsonl)")
        parser.add_argument("--rounds", type=int, default=3)
        parser.add_argument("--warm-searches", type=int, default=7, help="searches whose median is the warm latency")
        parser.add_argument("--modes", default="cold,warm", help="comma-separated: cold (GUNICORN_WARM=0) and/or warm")
        parser.add_argument("--reload-interval", type=float, default=1.0, help="INDEX_RELOAD_INTERVAL of the server")
        parser.add_argument("--json", dest="json_out", default="", help="also write the results here")

    def handle(self, *args: Any, source: str, rounds: int, warm_searches: int, modes: str, reload_interval: float, json_out: str, **options: Any) -> None:
        with tempfile.TemporaryDirectory(prefix="bench-warm-") as work:
            database, index_dir = Path(work) / "db.sqlite3", Path(work) / "index"
            env = app_env(database=database, index_dir=index_dir)
            manage("migrate", "-v0", env=env)
            manage("import_papers", source, "--no-embed", env=env)
            manage("embed_papers", "--missing", env=env)
            manage("build_index", "--full", env=env)
            papers = json.loads(_get_status(env))
            results: dict[str, Any] = {"source": source, "papers": papers, "rounds": rounds, "modes": {}}
            for mode in [m.strip() for m in modes.split(",")]:
                runs = [self._round(mode, env=env, database=database, index_dir=index_dir, warm_searches=warm_searches, reload_interval=reload_interval) for _ in range(rounds)]
                results["modes"][mode] = {"runs": runs, **{key: round(statistics.median([r[key] for r in runs]), 1) for key in runs[0] if key.endswith("_ms") and not isinstance(runs[0][key], list)}}
        text = json.dumps(results, indent=2)
        self.stdout.write(text)
        if json_out:
            Path(json_out).write_text(text + "\n")
        self.stdout.write(f"\n{'mode':6} {'first after start':>18} {'first after build':>18} {'warm median':>12}  (ms, median of {rounds} rounds)")
        for mode, facts in results["modes"].items():
            self.stdout.write(f"{mode:6} {facts['first_after_start_ms']:>18} {facts['first_after_build_ms']:>18} {facts['warm_median_ms']:>12}")

    def _round(self, mode: str, *, env: dict[str, str], database: Path, index_dir: Path, warm_searches: int, reload_interval: float) -> dict[str, Any]:
        server = _Started(database=database, index_dir=index_dir, warm="0" if mode == "cold" else "1", reload_interval=reload_interval)
        try:
            started = time.perf_counter()
            server.wait_ready("/healthz")
            ready_s = time.perf_counter() - started
            first = _search(server.port, QUERIES[0])
            warm = [_search(server.port, QUERIES[1 + i % (len(QUERIES) - 1)]) for i in range(warm_searches)]
            manage("build_index", "--full", env=env)
            time.sleep(reload_interval + 0.2)
            around: list[float] = []
            deadline = time.monotonic() + 60
            while len(around) < 4 or (len(around) < 200 and time.monotonic() < deadline and not _serves_published(server.port, env)):
                around.append(_search(server.port, QUERIES[len(around) % len(QUERIES)]))
            return {
                "ready_s": round(ready_s, 2),
                "first_after_start_ms": round(first, 1),
                "first_after_build_ms": round(max(around), 1),
                "after_build_ms": [round(ms, 1) for ms in around],
                "warm_median_ms": round(statistics.median(warm), 1),
            }
        finally:
            server.stop()


class _Started(Server):
    """bench.http.Server with GUNICORN_WARM and INDEX_RELOAD_INTERVAL set."""

    def __init__(self, *, database: Path, index_dir: Path, warm: str, reload_interval: float) -> None:
        self.port = free_port()
        env = app_env(
            database=database, index_dir=index_dir, GUNICORN_BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY="1",
            GUNICORN_THREADS="4", RATELIMIT_ENABLE="false", DEBUG="false", LOG_LEVEL="WARNING",
            GUNICORN_WARM=warm, INDEX_RELOAD_INTERVAL=str(reload_interval),
        )
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=settings.BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.workers = 1


def _search(port: int, query: str) -> float:
    started = time.perf_counter()
    status, body = _get(port, "/api/search?" + urllib.parse.urlencode({"q": query}), timeout=120)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200 or not json.loads(body)["results"]:
        raise RuntimeError(f"search {query!r} answered {status}: {body[:300]!r}")
    return elapsed


def _serves_published(port: int, env: dict[str, str]) -> bool:
    published = (Path(env["INDEX_DIR"]) / "CURRENT").read_text().strip()
    body = json.loads(_get(port, "/readyz", timeout=60)[1])
    return bool(body.get("checks", {}).get("index", {}).get("build_id") == published)


def _get_status(env: dict[str, str]) -> str:
    out = manage("shell", "-c", "from papers.models import Paper; print(Paper.objects.count())", env=env)
    return out.strip().splitlines()[-1]
