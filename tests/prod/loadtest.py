"""Loopback load test: wrk clients on the search API and page of a real gunicorn, while index builds
are published underneath it. Prints JSON and a table; exits non-zero on any error.

    python -m tests.prod.loadtest --clients 50 --duration 60          # make load (the recorded run)
    python -m tests.prod.loadtest --clients 10 --duration 10          # the CI version (a test)

Everything stays on 127.0.0.1 and stops by itself: wrk runs for --duration seconds, the build
loop stops with it, gunicorn is terminated at the end. With DATABASE_URL pointing at PostgreSQL
the run uses a fresh database ``paperscope_load`` on that server; otherwise a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [ROOT / "samples" / "hf-papers-listing.txt", ROOT / "samples" / "arxiv-sample-300.jsonl"]
QUERIES = [
    "large language models reasoning",
    "diffusion models for image generation",
    "retrieval augmented generation",
    "reinforcement learning from human feedback",
    "vision transformer",
    "speech recognition low resource languages",
    "graph neural networks for molecules",
    "efficient attention long context",
    "protein structure prediction",
    "robot manipulation policies",
]

# wrk script: alternate the JSON API and the HTML page over the queries; report in done().
LUA = """
local paths = {}
for _, q in ipairs({QUERIES}) do
  local e = q:gsub(" ", "+")
  table.insert(paths, "/api/search?q=" .. e)
  table.insert(paths, "/search?q=" .. e)
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write("WRK_JSON ", string.format(
    '{"requests": %d, "duration_s": %.3f, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
    .. '"status_errors": %d, "timeouts": %d, "p50_ms": %.1f, "p95_ms": %.1f, "p99_ms": %.1f, "max_ms": %.1f, "mean_ms": %.1f}\\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000))
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our interpreter, our command
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def _database(workdir: Path) -> tuple[str, str | None]:
    """(DATABASE_URL for the run, PostgreSQL database to drop afterwards)."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return f"sqlite:///{workdir / 'load.sqlite3'}", None
    import psycopg

    server, _, _ = base.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS paperscope_load")
        conn.execute("CREATE DATABASE paperscope_load")
    return f"{server}/paperscope_load", f"{server}/postgres"


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def run(
    *, clients: int, duration: int, workers: int = 2, threads: int = 4, build_every: float = 5.0,
    samples: list[Path] = SAMPLES, queries: list[str] = QUERIES,
) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="paperscope-load-"))
    database_url, drop_from = _database(workdir)
    port = _free_port()
    env = {
        **os.environ,
        "PAPERSCOPE_IGNORE_DOTENV": "1",
        "HF_HUB_OFFLINE": "1",
        "DATABASE_URL": database_url,
        "INDEX_DIR": str(workdir / "index"),
        "REDIS_URL": "",  # tasks in-process; the builds below are published by this script
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        "RATELIMIT_ENABLE": "False",  # every wrk client shares 127.0.0.1: this measures the app
        "LOG_LEVEL": "WARNING",
        "INDEX_BUILD_GRACE_SECONDS": "0",
    }
    gunicorn = None
    try:
        for step in (("migrate", "-v0"), ("import_papers", *map(str, samples), "--no-embed"), ("embed_papers", "--missing"), ("build_index",)):
            result = _manage(env, *step)
            if result.returncode != 0:
                raise SystemExit(f"{' '.join(step)} failed:\n{result.stdout}\n{result.stderr}")
        log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
        gunicorn = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if _get_json(f"{base}/readyz")["status"] == "ready":
                    break
            except OSError:
                pass
            if gunicorn.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not become ready:\n{(workdir / 'gunicorn.log').read_text()[-3000:]}")
            time.sleep(0.5)
        first_build = _get_json(f"{base}/api/index/status")["build_id"]
        # Warm each worker's caches (the per-sentence "why it matched" vectors) with one sequential
        # pass per worker, as live traffic would; the first search of a query costs seconds.
        warm_started = time.monotonic()
        for _ in range(workers):
            for query in queries:
                encoded = urllib.parse.quote_plus(query)
                for path in (f"/api/search?q={encoded}", f"/search?q={encoded}"):
                    with urllib.request.urlopen(f"{base}{path}", timeout=120) as response:  # noqa: S310 - loopback
                        response.read()
        warm_seconds = time.monotonic() - warm_started

        # Publish full rebuilds for the whole run: each one is a new build directory + CURRENT swap.
        stop = threading.Event()
        published: list[float] = []
        build_errors: list[str] = []

        def publish_builds() -> None:
            time.sleep(min(2.0, duration / 4))
            while not stop.is_set():
                started = time.monotonic()
                result = _manage(env, "build_index", "--full")
                if result.returncode == 0:
                    published.append(time.monotonic() - started)
                else:
                    build_errors.append(result.stderr[-500:])
                stop.wait(build_every)

        builder = threading.Thread(target=publish_builds, daemon=True)
        script = workdir / "load.lua"
        script.write_text(LUA.replace("{QUERIES}", "{" + ", ".join(json.dumps(q) for q in queries) + "}"))
        builder.start()
        wrk = subprocess.run(  # noqa: S603
            ["wrk", "-t", "1", "-c", str(clients), "-d", f"{duration}s", "--timeout", "30s", "-s", str(script), base],  # noqa: S607
            capture_output=True, text=True, timeout=duration + 120, check=False,
        )
        stop.set()
        builder.join(timeout=300)
        line = next((ln for ln in wrk.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
        if line is None:
            raise SystemExit(f"wrk failed:\n{wrk.stdout}\n{wrk.stderr}")
        stats = json.loads(line.removeprefix("WRK_JSON "))
        print(f"wrk: {stats}", file=sys.stderr)
        served_build = _get_json(f"{base}/api/index/status")["build_id"]
        stats.update(
            clients=clients,
            gunicorn_workers=workers,
            gunicorn_threads=threads,
            papers=_get_json(f"{base}/api/index/status").get("papers"),
            requests_per_s=round(stats["requests"] / stats["duration_s"], 1),
            errors=sum(stats[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")),
            builds_published=len(published),
            build_failures=len(build_errors),
            build_seconds_mean=round(sum(published) / len(published), 2) if published else None,
            served_new_build=served_build != first_build,
            warm_up_s=round(warm_seconds, 1),
            database="postgresql" if drop_from else "sqlite",
            cpus=len(os.sched_getaffinity(0)),
            # Other work on the machine skews every number: recorded with them.
            load_average_after=[round(x, 2) for x in os.getloadavg()],
        )
        return stats
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(timeout=60)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        if drop_from:
            import psycopg

            with psycopg.connect(drop_from, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS paperscope_load WITH (FORCE)")
        if os.environ.get("LOADTEST_KEEP") == "1":
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn process")
    parser.add_argument("--build-every", type=float, default=5.0, help="seconds between published builds")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    stats = run(clients=args.clients, duration=args.duration, workers=args.workers, threads=args.threads, build_every=args.build_every)
    text = json.dumps(stats, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    print(
        f"\n| clients | duration | requests | req/s | errors | p50 ms | p95 ms | p99 ms | builds published |\n"
        f"|---|---|---|---|---|---|---|---|---|\n"
        f"| {stats['clients']} | {stats['duration_s']:.0f} s | {stats['requests']} | {stats['requests_per_s']} | "
        f"{stats['errors']} | {stats['p50_ms']} | {stats['p95_ms']} | {stats['p99_ms']} | {stats['builds_published']} |"
    )
    if stats["errors"] or stats["build_failures"] or not stats["served_new_build"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
