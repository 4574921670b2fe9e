"""Real processes for fault tests: a database they share, a private Redis, workers, web servers.

Everything listens on 127.0.0.1 (tests/pipeline/hosts.py puts some on a bridge between network
namespaces instead), every process runs in its own session (killed as a group at
the end, orphans included), and every wait has a deadline.

Database: in the PostgreSQL pass of ``make test`` (DATABASE_URL is postgres://...), each test
gets a fresh database on that server, copied from a template migrated once per session; in
the SQLite pass, a copy of a migrated SQLite file. A trigger records every committed write to
search_paperembedding in ``embedding_writes`` so a test can prove each paper's vector was
written exactly once per content version.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
ARXIV = DATA / "arxiv-abstracts-115k" / "papers.jsonl.gz"
LISTING = DATA / "hf-papers" / "listing.txt"
PYTHON = sys.executable

_names = itertools.count(1)


def database_url() -> str:
    return os.environ.get("DATABASE_URL", "")


def on_postgres() -> bool:
    return database_url().startswith(("postgres://", "postgresql://"))


# Each fault test runs once per `make test` (the suite runs twice): production's faults (Celery
# workers, Redis, the 2,000-paper kills) in the PostgreSQL pass, the embedded default's (SQLite,
# tasks in-process, gunicorn readers) in the SQLite pass.
postgres_pass = pytest.mark.skipif(
    not on_postgres(), reason="production fault test: runs in the PostgreSQL pass of make test (DATABASE_URL=postgres://...)"
)
sqlite_pass = pytest.mark.skipif(on_postgres(), reason="embedded-default fault test: runs in the SQLite pass of make test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.25, on_timeout: Callable[[], str] | None = None) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = on_timeout() if on_timeout else ""
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{detail}")
        time.sleep(interval)


def arxiv_slice(path: Path, count: int, *, skip: int = 0) -> Path:
    """Write ``count`` papers of the arXiv abstracts corpus to a JSONL file."""
    if not ARXIV.is_file():
        pytest.skip(f"{ARXIV} is not available")
    with gzip.open(ARXIV, "rt", encoding="utf-8") as source, open(path, "w", encoding="utf-8") as target:
        target.writelines(itertools.islice(source, skip, skip + count))
    return path


# --- database -----------------------------------------------------------------------------------

_AUDIT_PG = """
CREATE TABLE embedding_writes (paper_id bigint, content_hash varchar(64), op text);
CREATE FUNCTION log_embedding_write() RETURNS trigger AS $$
BEGIN INSERT INTO embedding_writes VALUES (NEW.paper_id, NEW.content_hash, TG_OP); RETURN NEW; END
$$ LANGUAGE plpgsql;
CREATE TRIGGER embedding_writes AFTER INSERT OR UPDATE ON search_paperembedding
FOR EACH ROW EXECUTE FUNCTION log_embedding_write();
"""
_AUDIT_SQLITE = """
CREATE TABLE embedding_writes (paper_id bigint, content_hash varchar(64), op text);
CREATE TRIGGER embedding_inserts AFTER INSERT ON search_paperembedding
BEGIN INSERT INTO embedding_writes VALUES (NEW.paper_id, NEW.content_hash, 'INSERT'); END;
CREATE TRIGGER embedding_updates AFTER UPDATE ON search_paperembedding
BEGIN INSERT INTO embedding_writes VALUES (NEW.paper_id, NEW.content_hash, 'UPDATE'); END;
"""


class Database:
    """A database the test and its subprocesses share."""

    def __init__(self, url: str, *, drop: Callable[[], None] | None = None) -> None:
        self.url = url
        self._drop = drop

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.url.startswith("sqlite"):
            conn = sqlite3.connect(self.url[len("sqlite:///"):], timeout=30)
            try:
                return list(conn.execute(sql).fetchall())
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return list(conn.execute(sql).fetchall())

    def scalar(self, sql: str) -> Any:
        return self.query(sql)[0][0]

    def executescript(self, script: str) -> None:
        if self.url.startswith("sqlite"):
            conn = sqlite3.connect(self.url[len("sqlite:///"):], timeout=30)
            try:
                conn.executescript(script)
                conn.commit()
            finally:
                conn.close()
        else:
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(script)

    def record_embedding_writes(self) -> None:
        """Install the ``embedding_writes`` audit trigger (every committed vector write, one row)."""
        self.executescript(_AUDIT_SQLITE if self.url.startswith("sqlite") else _AUDIT_PG)

    def drop(self) -> None:
        if self._drop:
            self._drop()


def _pg_admin_url(url: str, dbname: str = "postgres") -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{dbname}"))


def _pg_execute(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg_admin_url(url), autocommit=True) as conn:
        conn.execute(sql)


def migrate(env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0", "--noinput"], cwd=ROOT, env=env, check=True, timeout=300)


@dataclass
class Template:
    """A migrated database, copied for each test (migrating takes seconds; copying, less)."""

    url: str
    name: str = ""

    def copy(self, tmp: Path) -> Database:
        if self.url.startswith("sqlite"):
            target = tmp / "db.sqlite3"
            shutil.copy(self.url[len("sqlite:///"):], target)
            db = Database(f"sqlite:///{target}")
        else:
            name = f"paperscope_faults_{os.getpid()}_{next(_names)}"
            base = database_url()
            _pg_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _pg_execute(base, f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
            db = Database(
                _pg_admin_url(base, name), drop=lambda: _pg_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
        db.record_embedding_writes()
        return db


def make_template(tmp: Path) -> Iterator[Template]:
    env = base_env(tmp)
    if on_postgres():
        try:
            import psycopg

            psycopg.connect(_pg_admin_url(database_url()), connect_timeout=5).close()
        except Exception as exc:  # noqa: BLE001 - any failure to connect means "not available"
            pytest.skip(f"PostgreSQL at {database_url()} is not reachable: {exc}")
        name = f"paperscope_faults_tpl_{os.getpid()}"
        _pg_execute(database_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg_execute(database_url(), f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = _pg_admin_url(database_url(), name)
        migrate(env)
        yield Template(url=env["DATABASE_URL"], name=name)
        _pg_execute(database_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'template.sqlite3'}"
        migrate(env)
        yield Template(url=env["DATABASE_URL"])


# --- processes ----------------------------------------------------------------------------------


def base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE", "PYTEST_CURRENT_TEST")}
    env.update(
        {
            "PAPERSCOPE_IGNORE_DOTENV": "1",
            "HF_HUB_OFFLINE": "1",
            "INDEX_DIR": str(tmp / "index"),
            "INDEX_RELOAD_INTERVAL": "0.2",
            "LOG_FORMAT": "text",
            "LOG_LEVEL": "INFO",
            "RATELIMIT_ENABLE": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 60) -> str:
        return f"--- {self.name} (pid {self.pid}) log tail ---\n" + "\n".join(self.text().splitlines()[-lines:])

    def children(self) -> list[int]:
        try:
            found = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in found]

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill_group(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
            pass


class RedisServer:
    """A private redis-server on a free port (never the machine's shared 6379), on loopback unless
    ``address`` names another of this machine's addresses (a bridge other hosts reach)."""

    def __init__(self, tmp: Path, *, address: str = "127.0.0.1", required: bool = False) -> None:
        if not shutil.which("redis-server"):
            (pytest.fail if required else pytest.skip)("redis-server is not installed")
        self.address = address
        with socket.socket() as sock:
            sock.bind((address, 0))
            self.port = int(sock.getsockname()[1])
        self.dir = tmp / "redis"
        self.dir.mkdir(exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://{self.address}:{self.port}/0"

    def start(self) -> None:
        # --save "" and no AOF: a restart loses every queued message, the worst case.
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", self.address, "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log"),
             # Protected mode answers only loopback clients while no password is set; on a bridge
             # the clients are the test's own namespaces.
             "--protected-mode", "yes" if self.address == "127.0.0.1" else "no"],
            start_new_session=True,
        )
        wait_until(self.ping, timeout=20, what=f"redis-server on port {self.port}", interval=0.05)

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host=self.address, port=self.port, socket_timeout=1, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def client(self) -> Any:
        import redis

        return redis.Redis(host=self.address, port=self.port, socket_timeout=5)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self, *, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


@dataclass
class Pipeline:
    tmp: Path
    db: Database
    env: dict[str, str]
    redis: RedisServer | None = None
    procs: list[Proc] = field(default_factory=list)

    @property
    def index_dir(self) -> Path:
        return Path(self.env["INDEX_DIR"])

    def _argv(self, program: str, args: tuple[str, ...], instruments: tuple[str, ...]) -> list[str]:
        if instruments:
            return [PYTHON, "-m", "tests.pipeline.instrumented", *instruments, program, *args]
        if program == "celery":
            return [PYTHON, "-m", "celery", *args]
        if program == "gunicorn":
            return [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", *args, "config.wsgi"]
        return [PYTHON, "manage.py", *args]

    def manage(self, *args: str, instruments: tuple[str, ...] = (), env: dict[str, str] | None = None, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a manage.py command to completion (output captured)."""
        merged = {**self.env, **(env or {})}
        if merged.get("EMBEDDING_MODEL_NAME") == "fast-test-embedder" and not instruments:
            # A pipeline on the fast test embedder (instrumented.FAST_MODEL_NAME): its commands run
            # with it too, which also silences paperscope.E006 for its 32-dimensional builds.
            instruments = ("--fast",)
        result = subprocess.run(  # noqa: PLW1510 - the caller decides (check=)
            self._argv("manage", args, instruments), cwd=ROOT, env=merged,
            capture_output=True, text=True, timeout=timeout, start_new_session=True,
        )
        if check and result.returncode != 0:
            pytest.fail(f"manage.py {' '.join(args)} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def start(self, name: str, program: str, *args: str, instruments: tuple[str, ...] = (), env: dict[str, str] | None = None, prefix: Sequence[str] = ()) -> Proc:
        """Start a long-running process in its own session, output to a log file.

        ``prefix`` runs it through another command first (``ip netns exec NAME``: on another host).
        """
        log = self.tmp / f"{name}-{len(self.procs)}.log"
        handle = open(log, "wb")  # noqa: SIM115 - closed with the process
        popen = subprocess.Popen(
            [*prefix, *self._argv(program, args, instruments)], cwd=ROOT, env={**self.env, **(env or {})},
            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
        handle.close()
        proc = Proc(name=name, popen=popen, log=log)
        self.procs.append(proc)
        return proc

    def worker(self, name: str = "worker", *, concurrency: int = 1, fast: bool = True, env: dict[str, str] | None = None, prefix: Sequence[str] = ()) -> Proc:
        proc = self.start(
            name, "celery", "-A", "config", "worker", "--concurrency", str(concurrency), "--pool", "prefork",
            "--loglevel", "INFO", "--hostname", f"{name}-{len(self.procs)}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            instruments=("--fast",) if fast else (), env=env, prefix=prefix,
        )
        wait_until(lambda: "ready." in proc.text() or not proc.alive(), timeout=120, what=f"{name} to start")
        assert proc.alive(), proc.tail()
        return proc

    def beat(self, *, env: dict[str, str] | None = None) -> Proc:
        return self.start("beat", "celery", "-A", "config", "beat", "--loglevel", "INFO", env=env)

    def web(self, *, workers: int = 2) -> tuple[Proc, str]:
        port = free_port()
        proc = self.start(
            "web", "gunicorn", env={"WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": "2", "GUNICORN_BIND": f"127.0.0.1:{port}"},
        )
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert proc.alive(), proc.tail()
            try:
                return urllib.request.urlopen(base + "/", timeout=5).status == 200
            except OSError:
                return False

        wait_until(up, timeout=180, what="the web server", interval=0.5, on_timeout=proc.tail)
        return proc, base

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.procs)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.kill_group()
        if self.redis:
            self.redis.stop()

    # --- facts ------------------------------------------------------------------------------------

    def count(self, table: str, where: str = "") -> int:
        return int(self.db.scalar(f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")))

    def verify(self, *, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        # --skip-checks: the fast embedder's 32-dimensional builds carry its own model name while
        # EMBEDDING_MODEL still names the packaged 384-dimensional model, which paperscope.E006 reports.
        result = self.manage("verify_index", "--json", "--skip-checks", env=env, check=False)
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        return result.returncode, (json.loads(lines[-1]) if lines else {"stderr": result.stderr[-2000:]})

    def current_build(self) -> str | None:
        try:
            return (self.index_dir / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None


def search_ids(base: str, query: str) -> list[int]:
    """Paper ids on the first results page of /search, in order (raises on any non-200)."""
    url = f"{base}/search?{urllib.parse.urlencode({'q': query})}"
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200, response.status
        html = response.read().decode()
    return list(dict.fromkeys(int(i) for i in re.findall(r'href="/papers/(\d+)/"', html)))


def manage_env_python(pipeline: Pipeline, code: str, *, env: dict[str, str] | None = None) -> str:
    """Run Python in a Django shell against the pipeline's database; returns stdout."""
    return pipeline.manage("shell", "-c", code, env=env).stdout


# --- a served site ------------------------------------------------------------------------------


def build_without_paper(pipeline: Pipeline, paper_id: int) -> str:
    """Publish a build that lacks ``paper_id`` while the paper stays visible in the database.

    Search shows the paper only once a build holding it is served: which build a web process
    answers from becomes visible from outside. (Visibility is changed with a plain UPDATE, which
    sends no signal, so nothing but this build_index runs.)
    """
    out = pipeline.manage(
        "shell", "-c",
        "from papers.models import Paper; from search.services import index_build; "
        f"Paper.objects.filter(pk={paper_id}).update(hidden=True); build = index_build(); "
        f"Paper.objects.filter(pk={paper_id}).update(hidden=False); print('BUILD', build.build_id)",
    ).stdout
    return out.split("BUILD ")[-1].split()[0]


def write_current(pipeline: Pipeline, build_id: str) -> None:
    """Point CURRENT at a build the way the builder does (write a temp file, rename over)."""
    tmp = pipeline.index_dir / ".CURRENT.test"
    tmp.write_text(build_id)
    os.replace(tmp, pipeline.index_dir / "CURRENT")


def unpublished_build(pipeline: Pipeline) -> str:
    """Write a complete build without publishing it; returns its id."""
    out = pipeline.manage("build_index", "--full", instruments=("--no-publish",)).stdout
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return str(next(e["build_id"] for e in events if e.get("event") == "written"))


def vectors_file(pipeline: Pipeline, build_id: str) -> Path:
    """The build's vector index file (the biggest file its manifest lists)."""
    directory = pipeline.index_dir / "builds" / build_id
    files = json.loads((directory / "manifest.json").read_text())["files"]
    return directory / max(files, key=lambda name: files[name]["bytes"])


def wait_served_everywhere(web: Proc, base: str, build_id: str, *, workers: int = 2, timeout: float = 60) -> None:
    """Search until every web process has logged loading ``build_id`` (each loads on its next request)."""

    def loaded_by_all() -> bool:
        try:
            search_ids(base, "warm")
        except urllib.error.HTTPError as exc:  # the web log holds why
            pytest.fail(f"search answered {exc.code} while waiting for {build_id}\n{web.tail()}")
        return web.text().count(f"serving index build {build_id} ") >= workers

    wait_until(loaded_by_all, timeout=timeout, interval=0.05, what=f"every web process to serve {build_id}", on_timeout=web.tail)
