"""A multi-host rehearsal with real components: two worker hosts, two web hosts, a database host.

Each "host" is a network namespace on this machine (tests/pipeline/hosts.py) reaching PostgreSQL
and Redis over a veth link to a bridge; INDEX_DIR is one directory every host uses, as a shared
volume would be. The real packaged model embeds real arXiv papers on both worker hosts while a
client on the database host searches both web hosts in a loop. Mid-run one worker host loses
everything it runs (SIGKILL to every process in its namespace: workers, pool, model), then one web
host does, with requests in flight. Proven: every paper embedded exactly once per content version,
the published build holds every paper and verify_index passes, the surviving web host serves it,
and every failed request was one the killed web host had in flight when it died.

The client stands in for a load balancer told the moment a web host dies: requests already sent
to it fail, none are sent after. The numbers it prints go to docs/scale.md ("Multi-host rehearsal").
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.pipeline.checks import (
    assert_each_paper_written_once_per_content_version,
    converged,
)
from tests.pipeline.harness import (
    Database,
    Pipeline,
    Proc,
    RedisServer,
    arxiv_slice,
    base_env,
    migrate,
    postgres_pass,
    wait_until,
)
from tests.pipeline.hosts import Host, Network, PostgresServer, netns_list

PAPERS = 320  # the real model on 2 shared cores: a few minutes
WEB_PORT = 8000
QUERIES = [
    "graph neural networks for molecules",
    "black hole accretion disk simulations",
    "error correcting codes for quantum computers",
    "sparse regression with the lasso",
    "dark matter detection experiments",
    "reinforcement learning for robot control",
]
EMBEDDED = re.compile(r"embed_papers\[[0-9a-f-]+\] succeeded in [0-9.]+s: \{'embedded': (\d+)")


@dataclass
class Request:
    host: str
    start: float
    end: float
    ok: bool
    error: str = ""


@dataclass
class Client:
    """Threads searching the web hosts in turn, recording every request; a host can be taken out."""

    backends: dict[str, str]
    threads: int = 4
    requests: list[Request] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _live: list[str] = field(default_factory=list)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self._live = list(self.backends)
        self.in_flight = dict.fromkeys(self.backends, 0)
        for n in range(self.threads):
            thread = threading.Thread(target=self._loop, args=(n,), daemon=True)
            thread.start()
            self._workers.append(thread)

    def take_out(self, host: str) -> None:
        """No request is sent to ``host`` from now on (those in flight continue)."""
        with self._lock:
            self._live.remove(host)

    def join(self) -> None:
        self.stop.set()
        for thread in self._workers:
            thread.join(timeout=120)

    def _loop(self, n: int) -> None:
        deadline = time.monotonic() + 900  # bounded even if the test fails before stopping it
        i = n
        while not self.stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                host = self._live[i % len(self._live)]
                self.in_flight[host] += 1
            i += 1
            query = QUERIES[i % len(QUERIES)]
            start = time.monotonic()
            ok, error = True, ""
            try:
                url = f"{self.backends[host]}/search?{urllib.parse.urlencode({'q': query})}"
                with urllib.request.urlopen(url, timeout=60) as response:
                    response.read()
                    ok = response.status == 200
                    error = "" if ok else f"HTTP {response.status}"
            except (urllib.error.URLError, OSError) as exc:
                ok, error = False, repr(exc)
            with self._lock:
                self.in_flight[host] -= 1
                self.requests.append(Request(host=host, start=start, end=time.monotonic(), ok=ok, error=error))

    def served(self, host: str, *, after: float = 0.0) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.host == host and r.ok and r.start >= after)


def _embedded_by(proc: Proc) -> int:
    return sum(int(n) for n in EMBEDDED.findall(proc.text()))


def _mid_batch(proc: Proc) -> bool:
    """The worker has finished a batch and holds another it has not finished."""
    log = proc.text()
    received = len(re.findall(r"Task search\.tasks\.embed_papers\[[0-9a-f-]+\] received", log))
    done = len(re.findall(r"embed_papers\[[0-9a-f-]+\] (?:succeeded|retry|failed)", log))
    return done >= 1 and received > done


@postgres_pass
def test_across_four_hosts_a_killed_worker_host_and_a_killed_web_host_lose_no_paper_and_no_request(tmp_path: Path) -> None:
    network = Network()
    hosts = {name: network.add_host(name) for name in ("worker-a", "worker-b", "web-c", "web-d")}
    postgres: PostgresServer | None = None
    p: Pipeline | None = None
    client: Client | None = None
    try:
        for host in hosts.values():
            network.wait_reachable(host)
        postgres = PostgresServer(network.address, subnet=network.subnet)
        env = base_env(tmp_path)
        env["DATABASE_URL"] = postgres.create_database("paperscope")
        migrate(env)
        db = Database(env["DATABASE_URL"])
        db.record_embedding_writes()
        p = Pipeline(tmp=tmp_path, db=db, env=env)
        p.redis = RedisServer(tmp_path, address=network.address, required=True)
        (tmp_path / "index").mkdir()
        env.update(
            {
                "REDIS_URL": p.redis.url,
                "EMBED_TASK_BATCH": "8",
                "BUILD_DEBOUNCE_SECONDS": "1",
                "BUILD_LOCK_TTL": "5",
                # Beat's reconcile re-queues the batches the dead host held (they stay unacknowledged
                # in Redis for the visibility timeout, 22 minutes); shortened from 300 s and 120 s.
                "RECONCILE_INTERVAL": "10",
                "RECONCILE_MIN_AGE": "10",
                "WORKER_THREADS": "1",
                "EMBEDDING_THREADS": "1",
            }
        )
        # The model exported for OpenVINO once, before any host starts (in production: in the image).
        p.manage("shell", "-c", "from search.embedder import encode_query; encode_query('warm up')")

        worker_a = p.start("worker-a", "celery", "-A", "config", "worker", "--concurrency", "1", "--loglevel", "INFO",
                           "--hostname", "worker@a", prefix=hosts["worker-a"].prefix)
        worker_b = p.start("worker-b", "celery", "-A", "config", "worker", "--concurrency", "1", "--loglevel", "INFO",
                           "--hostname", "worker@b", prefix=hosts["worker-b"].prefix)
        beat = p.start("beat-b", "celery", "-A", "config", "beat", "--loglevel", "INFO", prefix=hosts["worker-b"].prefix)
        web_env = {
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "2",
            "ALLOWED_HOSTS": ",".join(h.address for h in hosts.values()),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_SSL_REDIRECT": "0",  # no TLS proxy in front in this rehearsal
            "SECURE_HSTS_SECONDS": "0",
        }
        webs: dict[str, tuple[Host, Proc]] = {}
        for name in ("web-c", "web-d"):
            host = hosts[name]
            webs[name] = (host, p.start(name, "gunicorn", env={**web_env, "GUNICORN_BIND": f"{host.address}:{WEB_PORT}"}, prefix=host.prefix))
        for proc in (worker_a, worker_b):
            wait_until(lambda proc=proc: "ready." in proc.text() or not proc.alive(), timeout=180, what=f"{proc.name} to start", on_timeout=p.logs)
            assert proc.alive(), proc.tail()
        backends = {name: f"http://{host.address}:{WEB_PORT}" for name, (host, _) in webs.items()}

        def answers(url: str) -> bool:
            try:
                return urllib.request.urlopen(url, timeout=10).status == 200
            except OSError:
                return False

        for name, base in backends.items():
            wait_until(lambda base=base: answers(base + "/"), timeout=240, what=f"{name} to answer", interval=0.5, on_timeout=p.logs)

        # The import runs on the database host: it stores the papers and queues their batches.
        data = arxiv_slice(tmp_path / "papers.jsonl", PAPERS)
        t_import = time.monotonic()
        p.manage("import_papers", str(data))
        t_queued = time.monotonic()
        assert p.count("papers_paper") == PAPERS

        # Load starts once both web hosts answer searches from a published build.
        for name, base in backends.items():
            wait_until(lambda base=base: answers(base + "/search?q=warm"), timeout=240, what=f"{name} to serve a build", interval=0.5, on_timeout=p.logs)
        client = Client(backends=backends)
        client.start()

        # Worker host A dies mid-embedding (a third of the papers done, so both hosts ran a while, and
        # inside a batch): everything in its namespace, SIGKILL.
        wait_until(lambda: p.count("search_paperembedding") >= PAPERS // 3, timeout=420, interval=0.5, what="a third of the papers embedded", on_timeout=p.logs)
        wait_until(lambda: _mid_batch(worker_a), timeout=240, interval=0.05, what="worker host A inside a batch", on_timeout=p.logs)
        embedded_at_kill = p.count("search_paperembedding")
        assert embedded_at_kill < PAPERS, "the run finished before worker host A was killed"
        t_worker_kill = time.monotonic()
        assert hosts["worker-a"].kill_everything() >= 2  # the worker and its pool process at least
        by_a = _embedded_by(worker_a)
        assert by_a > 0, "worker host A embedded nothing before it was killed"

        # Web host C dies under load, with a request in flight.
        wait_until(lambda: client.served("web-c") >= 3 and client.in_flight["web-c"] > 0, timeout=120, interval=0.01,
                   what="web host C serving with a request in flight", on_timeout=p.logs)
        t_web_kill = time.monotonic()
        client.take_out("web-c")
        in_flight_at_kill = client.in_flight["web-c"]
        assert hosts["web-c"].kill_everything() >= 2  # the gunicorn master and its worker

        report = converged(p, papers=PAPERS, timeout=420)
        t_converged = time.monotonic()
        final = p.current_build()
        assert final
        manifest = json.loads((p.index_dir / "builds" / final / "manifest.json").read_text())
        assert manifest["count"] == PAPERS, manifest["count"]

        # The surviving web host serves the final build (it loads it on its next request).
        web_d = webs["web-d"][1]
        wait_until(lambda: f"serving index build {final} ({PAPERS} vectors)" in web_d.text(), timeout=60,
                   what="web host D to serve the final build", on_timeout=web_d.tail)
        t_served = time.monotonic()
        time.sleep(2)  # a few more requests to D after everything settled
        client.join()

        assert_each_paper_written_once_per_content_version(p, papers=PAPERS)
        by_b = _embedded_by(worker_b)
        assert by_b > 0 and by_a + by_b <= PAPERS, (by_a, by_b)
        assert beat.alive() and worker_b.alive() and web_d.alive()
        assert not hosts["worker-a"].pids() and not hosts["web-c"].pids()

        failed = [r for r in client.requests if not r.ok]
        assert all(r.host == "web-c" for r in failed), [r for r in failed if r.host != "web-c"][:5]
        assert all(r.start < t_web_kill <= r.end for r in failed), [r for r in failed if not r.start < t_web_kill <= r.end][:5]
        assert len(failed) <= in_flight_at_kill, (len(failed), in_flight_at_kill)
        assert client.served("web-d", after=t_web_kill) >= 10
        assert client.served("web-d", after=t_converged) >= 1

        summary = {
            "papers": PAPERS,
            "embedded_by": {"worker-a (killed)": by_a, "worker-b": by_b},
            "import_s": round(t_queued - t_import, 1),
            "papers_per_s_two_worker_hosts": round(embedded_at_kill / (t_worker_kill - t_queued), 2),
            "embedded_at_worker_kill": embedded_at_kill,
            "papers_per_s_whole_run": round(PAPERS / (t_converged - t_queued), 1),
            "papers_per_s_survivor_alone": round((PAPERS - embedded_at_kill) / (t_converged - t_worker_kill), 2),
            "worker_kill_to_converged_s": round(t_converged - t_worker_kill, 1),
            "worker_kill_to_survivor_web_serving_final_s": round(t_served - t_worker_kill, 1),
            "web_requests": {
                name: {"served": client.served(name), "failed": sum(1 for r in failed if r.host == name)} for name in backends
            },
            "in_flight_on_web_c_at_kill": in_flight_at_kill,
            "published_builds": p.count("search_indexbuild", "status = 'published'"),
            "final_build_count": manifest["count"],
            "verify": {k: report[k] for k in ("ok",) if k in report},
        }
        print("MULTI-HOST REHEARSAL " + json.dumps(summary))
    finally:
        if client:
            client.join()
        if p:
            p.close()
        if postgres:
            postgres.stop()
        leftovers = network.close()
    assert not leftovers, f"left behind: {leftovers}"
    assert not [name for name in netns_list() if name.startswith(f"paperscope-{network.tag}-")]
