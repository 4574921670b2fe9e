"""HTTP throughput and latency of the search API and page: gunicorn on loopback, load from wrk.

The server is the production one (``gunicorn -c config/gunicorn.conf.py``) on 127.0.0.1 with
the benchmark database and a build made by ``manage.py build_index --full``. The load generator
is a second process (wrk when installed, else a bounded Python client), time-limited; rate
limiting is switched off for the run because it measures capacity, not the limiter.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from django.conf import settings

from bench.database import app_env
from bench.measure import process_memory
from bench.metrics import latency_summary, percentile


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str, timeout: float = 30) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Server:
    """A gunicorn master and its workers on a free loopback port; always stopped on exit."""

    def __init__(self, *, database: Path | str, index_dir: Path, workers: int, threads: int, **extra: str) -> None:
        self.port = free_port()
        env = app_env(
            database=database,
            index_dir=index_dir,
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            WEB_CONCURRENCY=str(workers),
            GUNICORN_THREADS=str(threads),
            RATELIMIT_ENABLE="false",
            DEBUG="false",
            LOG_LEVEL="WARNING",
            **extra,
        )
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - outlives this call; closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.workers = workers

    def wait_ready(self, probe: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if _get(self.port, probe, timeout=60)[0] == 200 and len(_children(self.process.pid)) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        self.log.seek(0)
        raise RuntimeError(f"gunicorn did not become ready:\n{self.log.read()[-3000:].decode(errors='replace')}")

    def worker_pids(self) -> list[int]:
        return _children(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


_WRK_SCRIPT = """
local paths = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
"""


def _parse_wrk(output: str) -> dict[str, Any]:
    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    facts: dict[str, Any] = {}
    for label in ("50%", "75%", "90%", "99%"):
        match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+(?:us|ms|s))", output, re.MULTILINE)
        if match:
            facts[f"p{label[:-1]}_ms"] = round(ms(match.group(1)), 2)
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    facts["requests_per_s"] = float(match.group(1)) if match else float("nan")
    match = re.search(r"(\d+) requests in", output)
    facts["requests"] = int(match.group(1)) if match else 0
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    facts["non_2xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: (.*)", output)
    facts["socket_errors"] = match.group(1).strip() if match else ""
    return facts


def load(*, port: int, paths: list[str], connections: int, seconds: int) -> dict[str, Any]:
    """Concurrent load from a second process for ``seconds``: wrk if available, else Python threads."""
    wrk = shutil.which("wrk")
    if wrk:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(_WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
        threads = max(1, min(2, connections))
        result = subprocess.run(
            [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s", script.name, f"http://127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
        Path(script.name).unlink(missing_ok=True)
        facts = _parse_wrk(result.stdout)
        facts.update(tool="wrk", connections=connections, seconds=seconds)
        return facts
    return _python_load(port=port, paths=paths, connections=connections, seconds=seconds)


_PY_LOAD = """
import http.client, json, sys, threading, time
port, seconds, connections = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
paths = json.loads(sys.stdin.read())
lat, bad, lock = [], [0], threading.Lock()
deadline = time.perf_counter() + seconds
def run(offset):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    n = offset
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        c.request("GET", paths[n % len(paths)]); r = c.getresponse(); r.read()
        d = time.perf_counter() - t
        with lock:
            lat.append(d)
            if r.status != 200: bad[0] += 1
        n += connections
ts = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
start = time.perf_counter()
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps({"lat": lat, "bad": bad[0], "elapsed": time.perf_counter() - start}))
"""


def _python_load(*, port: int, paths: list[str], connections: int, seconds: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _PY_LOAD, str(port), str(seconds), str(connections)],
        input=json.dumps(paths),
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    data = json.loads(result.stdout)
    stats = latency_summary(data["lat"])
    return {
        "tool": "python-threads",
        "connections": connections,
        "seconds": seconds,
        "requests": stats["n"],
        "requests_per_s": round(stats["n"] / data["elapsed"], 1),
        "p50_ms": stats["p50_ms"],
        "p99_ms": stats["p99_ms"],
        "non_2xx": data["bad"],
    }


def bench_http(
    *,
    database: Path,
    index_dir: Path,
    queries: list[str],
    seconds: int,
    repeats: int = 3,
    workers: int = 2,
    threads: int = 4,
    log: Any = print,
) -> dict[str, Any]:
    """Throughput and latency of /api/search and /search at 1 and 8 concurrent connections.

    Every route and concurrency is run ``repeats`` times, interleaved (api 1, api 8, page 1,
    page 8, api 1, ...), and summarised by the median run: a neighbour's burst on the shared
    cores then moves one run, not the verdict.
    """
    api_paths = [f"/api/search?{urllib.parse.urlencode({'q': q, 'page_size': 10})}" for q in queries]
    page_paths = [f"/search?{urllib.parse.urlencode({'q': q})}" for q in queries]
    server = Server(database=database, index_dir=index_dir, workers=workers, threads=threads)
    try:
        server.wait_ready(api_paths[0])
        for path in api_paths[:20] + page_paths[:20]:  # every worker warm on both routes
            status, body = _get(server.port, path)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        results: dict[str, Any] = {"workers": workers, "threads": threads, "repeats": repeats, "runs": []}
        for repeat in range(1, repeats + 1):
            for route, paths in (("api", api_paths), ("page", page_paths)):
                for connections in (1, 8):
                    log(f"  http: {route} with {connections} connection(s) for {seconds}s (run {repeat} of {repeats}) ...")
                    run = load(port=server.port, paths=paths, connections=connections, seconds=seconds)
                    run.update(route=route, repeat=repeat)
                    results["runs"].append(run)
        results["summary"] = summarise(results["runs"])
        results["memory"] = [process_memory(pid) for pid in server.worker_pids()]
        return results
    finally:
        server.stop()


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(percentile(present, 0.5), 2) if present else None


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per route and concurrency: the median of its runs' p50, p99 and requests/s."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["route"], run["connections"]), []).append(run)
    return [
        {
            "route": route,
            "connections": connections,
            "runs": len(same),
            "p50_ms": _median([r.get("p50_ms") for r in same]),
            "p99_ms": _median([r.get("p99_ms") for r in same]),
            "requests_per_s": _median([r.get("requests_per_s") for r in same]),
            "p50_ms_runs": [r.get("p50_ms") for r in same],
            "p99_ms_runs": [r.get("p99_ms") for r in same],
            "non_2xx": sum(r["non_2xx"] for r in same),
            "tool": same[0]["tool"],
            "seconds": same[0]["seconds"],
        }
        for (route, connections), same in groups.items()
    ]
