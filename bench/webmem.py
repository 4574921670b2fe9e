"""Private memory of real gunicorn web workers serving an app build of a given size (default 1M).

The claim measured: "at most N MB private memory (USS) per web process at 1M papers". So the
process is the production one (``gunicorn -c config/gunicorn.conf.py``, 2 workers x 4 threads),
the build is the app's own (``build_index --full``: vectors + BM25 keyword index) over the
benchmark database with generated papers made visible beyond the corpus, and memory is read
from ``/proc/<pid>/smaps_rollup`` after the workers have served searches on both routes
(the JSON API and the HTML page with its explanations), one at a time and concurrently.
"""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path
from typing import Any

from bench import http
from bench.measure import memory_breakdown, process_memory


def bench_web_memory(
    *, database: Path, index_dir: Path, queries: list[str], searches: int = 200, seconds: int = 10, log: Any = print
) -> dict[str, Any]:
    """USS/PSS/anon per worker after ``searches`` sequential searches (half API, half page) and a
    concurrent run of ``seconds`` per route at 8 connections."""
    api = [f"/api/search?{urllib.parse.urlencode({'q': q, 'page_size': 10})}" for q in queries]
    page = [f"/search?{urllib.parse.urlencode({'q': q})}" for q in queries]
    server = http.Server(database=database, index_dir=index_dir, workers=2, threads=4)
    try:
        server.wait_ready(api[0])
        pids = server.worker_pids()
        after_start = {str(pid): process_memory(pid) for pid in pids}
        started = time.perf_counter()
        for n in range(searches):
            paths = api if n % 2 == 0 else page
            status, body = http._get(server.port, paths[(n // 2) % len(paths)])
            if status != 200:
                raise RuntimeError(f"search answered {status}: {body[:300]!r}")
        sequential_s = time.perf_counter() - started
        concurrent = []
        for route, paths in (("api", api), ("page", page)):
            log(f"  web memory: {route} with 8 connections for {seconds}s ...")
            run = http.load(port=server.port, paths=paths, connections=8, seconds=seconds)
            concurrent.append({"route": route, **{k: run.get(k) for k in ("requests", "requests_per_s", "p50_ms", "non_2xx")}})
        workers: list[dict[str, Any]] = []
        for pid in server.worker_pids():
            workers.append({"pid": pid, **process_memory(pid), "after_start": after_start.get(str(pid)), "breakdown": memory_breakdown(pid)})
        return {
            "workers": workers,
            "threads_per_worker": 4,
            "sequential_searches": searches,
            "sequential_s": round(sequential_s, 1),
            "concurrent": concurrent,
            "uss_mb_max": max(w["uss_mb"] for w in workers),
            "pss_mb_max": max(w["pss_mb"] for w in workers),
            "anon_mb_max": max(w["anon_mb"] for w in workers),
        }
    finally:
        server.stop()


def app_build(*, database_path: Path, index_dir: Path, ids: Any, vectors: Any, model: str) -> dict[str, Any]:
    """Store the collection's vectors as the app's embeddings and run ``build_index --full`` on it.

    Generated papers among ``ids`` are made visible for the build (and every other generated
    row hidden), so the app build holds exactly the collection.
    """
    import shutil

    from bench import database

    started = time.perf_counter()
    visible_generated = database.show_only(ids)
    database.store_embeddings(ids=ids, vectors=vectors, model=model)
    stored_s = time.perf_counter() - started
    shutil.rmtree(index_dir, ignore_errors=True)
    env = database.app_env(database=database_path, index_dir=index_dir)
    started = time.perf_counter()
    out = database.manage("build_index", "--full", env=env)
    return {
        "size": len(ids),
        "generated_visible": visible_generated,
        "store_embeddings_s": round(stored_s, 1),
        "build_index_s": round(time.perf_counter() - started, 1),
        "build_index_output": out.strip(),
    }
