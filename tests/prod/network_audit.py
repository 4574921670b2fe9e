"""The network audit: which addresses Paperscope's processes try to reach, read from strace.

``audit_violations`` parses ``strace -f -e trace=network`` output and returns every attempt to
reach anything but this host's loopback: a ``connect``/``sendto``/``sendmsg`` to an AF_INET or
AF_INET6 address outside 127.0.0.0/8 and ::1, any DNS query (port 53, loopback resolvers
included), and an AF_UNIX connect to systemd-resolved. nscd's socket is not flagged by itself
(glibc asks it for users and groups too); the driver hides it, and resolved's, behind empty
directories, so a host name lookup has to go to DNS itself, where it is flagged.

``python -m tests.prod.network_audit DIR`` is the driver the test runs inside a network
namespace that has only loopback (``unshare -n -m``), so a violation is recorded by strace but can
reach nothing: it starts its own Redis, runs the real path (migrate -> import_papers ->
embedding and index build by a real Celery worker -> searches through gunicorn, with celery beat
beside them) in fresh processes, each under strace, with a fresh HOME and a fresh model export
directory (the OpenVINO export is where openvino-telemetry used to phone home), and without any
of the privacy environment variables set: settings must set them itself. It writes
``DIR/result.json``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SAMPLE = ROOT / "samples" / "hf-papers-listing.txt"
SAMPLE_PAPERS = 61

# One strace line: optional pid, the call, its arguments.
_EXEC = re.compile(r'^(?:\[pid\s+)?(?P<pid>\d+)\]?\s*execve\("(?P<program>[^"]*)", \[(?P<argv>.*?)\]')
_CALL = re.compile(r"^(?:\[pid\s+)?(?P<pid>\d+)?\]?\s*(?P<call>connect|sendto|sendmsg|sendmmsg|bind)\((?P<args>.*)$")
_INET = re.compile(r'sa_family=AF_INET, sin_port=htons\((?P<port>\d+)\), sin_addr=inet_addr\("(?P<addr>[^"]+)"\)')
_INET6 = re.compile(r'sa_family=AF_INET6, sin6_port=htons\((?P<port>\d+)\).*?inet_pton\(AF_INET6, "(?P<addr>[^"]+)"')
_UNIX = re.compile(r'sa_family=AF_UNIX, sun_path=(?P<abstract>@)?"(?P<path>[^"]*)"')
# Sockets glibc's resolver and name-service caches listen on.
_NAME_SERVICE_SOCKETS = ("systemd/resolve", "io.systemd.Resolve")
# Directories of name-service daemons that would answer host lookups out of our sight.
_NAME_SERVICE_DIRS = ("/run/nscd", "/var/run/nscd", "/run/systemd/resolve")
_FORK = re.compile(r"^(?P<pid>\d+)\s+(?:clone3?|v?fork)\(.*\)\s*=\s*(?P<child>\d+)")

# Environment variables that would hide a leak if the test inherited them: settings must set
# whatever privacy needs itself.
PRIVACY_ENV = (
    "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY",
    "DO_NOT_TRACK", "CI", "TF_BUILD", "JENKINS_URL", "OPENVINO_TELEMETRY",
)


def _loopback(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def audit_violations(trace: str) -> list[str]:
    """Each line of ``trace`` that tries to reach something other than loopback (or a resolver)."""
    found: list[str] = []
    programs: dict[str, str] = {}  # pid -> the program it runs (when strace saw the execve)
    for raw in trace.splitlines():
        line = raw.strip()
        fork = _FORK.match(line)
        if fork is not None:
            programs[fork["child"]] = programs.get(fork["pid"], "a child of the traced command")
            continue
        execve = _EXEC.match(line)
        if execve is not None:
            programs[execve["pid"] or ""] = execve["argv"][:160]
            continue
        match = _CALL.match(line)
        if match is None or match["call"] == "bind":
            continue
        args, who = match["args"], programs.get(match["pid"] or "", "a child of the traced command")
        for pattern in (_INET, _INET6):
            for address in pattern.finditer(args):
                port, addr = int(address["port"]), address["addr"]
                if port == 53:
                    found.append(f"DNS query to {addr} by {who}: {line}")
                elif not _loopback(addr):
                    found.append(f"{match['call']} to {addr}:{port} by {who}: {line}")
        unix = _UNIX.search(args)
        if unix and any(name in unix["path"] for name in _NAME_SERVICE_SOCKETS):
            found.append(f"name service lookup via {unix['path']} by {who}: {line}")
    return found


# --- the driver (runs inside the loopback-only namespace) ---------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(work: Path, redis_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PRIVACY_ENV and not k.startswith(("DATABASE_", "REDIS_"))}
    home = work / "home"
    home.mkdir(exist_ok=True)
    env.update(
        {
            "HOME": str(home),  # no OpenVINO consent file, no HF cache, no pip config
            "XDG_CACHE_HOME": str(home / ".cache"),
            "PAPERSCOPE_IGNORE_DOTENV": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "INDEX_DIR": str(work / "index"),
            "EMBEDDING_CACHE_DIR": str(work / "models"),  # fresh: the OpenVINO export runs again
            "EMBEDDING_BACKEND": "openvino",
            "BUILD_DEBOUNCE_SECONDS": "1",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "2",
            "LOG_FORMAT": "text",
        }
    )
    return env


def _traced(name: str, argv: list[str], *, work: Path) -> list[str]:
    log = work / "traces" / f"{name}.strace"
    log.parent.mkdir(exist_ok=True)
    # execve too: a violation is reported with the program that made it.
    return ["strace", "-f", "-qq", "-s", "96", "-e", "trace=network,execve,clone,clone3,fork,vfork", "-o", str(log), *argv]


def _wait(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def _indexed_count(index_dir: Path) -> int:
    try:
        build = (index_dir / "CURRENT").read_text().strip()
        return int(json.loads((index_dir / "builds" / build / "manifest.json").read_text()).get("count", 0))
    except (OSError, ValueError):
        return 0


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - our own loopback server
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def drive(work: Path) -> dict[str, object]:
    redis_port, web_port = _free_port(), _free_port()
    env = _env(work, redis_port)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, argv: list[str], traced: bool = True) -> subprocess.Popen[bytes]:
        out = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(  # noqa: S603 - our own commands
            _traced(name, argv, work=work) if traced else argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        return process

    def run(name: str, argv: list[str], timeout: float) -> None:
        with open(logs / f"{name}.log", "wb") as out:
            subprocess.run(_traced(name, argv, work=work), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                           timeout=timeout, check=True)

    result: dict[str, object] = {"redis_port": redis_port, "web_port": web_port}
    python, manage = str(VENV_BIN / "python"), str(ROOT / "manage.py")
    # The embedded default first (no broker: import_papers embeds and builds in its own process,
    # `make run`'s path), with its own database and a fresh model export.
    embedded = env | {"DATABASE_URL": f"sqlite:///{work / 'embedded.sqlite3'}", "INDEX_DIR": str(work / "embedded-index"),
                      "EMBEDDING_CACHE_DIR": str(work / "embedded-models")}
    del embedded["REDIS_URL"]
    for name, argv in (("embedded-migrate", [python, manage, "migrate", "--noinput"]),
                       ("embedded-import", [python, manage, "import_papers", str(SAMPLE)])):
        with open(logs / f"{name}.log", "wb") as out:
            subprocess.run(_traced(name, argv, work=work), cwd=ROOT, env=embedded, stdout=out,  # noqa: S603
                           stderr=subprocess.STDOUT, timeout=600, check=True)
    result["embedded_indexed"] = _indexed_count(work / "embedded-index")
    try:
        start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
              traced=False)
        run("migrate", [python, manage, "migrate", "--noinput"], timeout=300)
        start("worker", [str(VENV_BIN / "celery"), "-A", "config", "worker", "--concurrency", "1", "--loglevel", "INFO"])
        start("beat", [str(VENV_BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO",
                       "--schedule", str(work / "beat-schedule")])
        run("import", [python, manage, "import_papers", str(SAMPLE)], timeout=300)
        _wait("the worker to embed and index the sample", lambda: _indexed_count(work / "index") >= SAMPLE_PAPERS, timeout=900)
        result["indexed"] = _indexed_count(work / "index")
        start("gunicorn", [str(VENV_BIN / "gunicorn"), "config.wsgi", "-c", str(ROOT / "config" / "gunicorn.conf.py"),
                           "--bind", f"127.0.0.1:{web_port}"])
        base = f"http://127.0.0.1:{web_port}"
        _wait("gunicorn to be ready", lambda: _probe(f"{base}/readyz"), timeout=300)
        status, body = _get(f"{base}/api/search?q=language+models+that+reason+step+by+step&page_size=5")
        result["api_search"] = {"status": status, "results": len(json.loads(body).get("results", [])) if status == 200 else 0}
        status, body = _get(f"{base}/search?q=diffusion+models+for+images")
        result["page_search"] = {"status": status, "bytes": len(body)}
        first = json.loads(_get(f"{base}/api/search?q=video&page_size=1")[1])["results"][0]["id"]
        result["paper_page"] = {"status": _get(f"{base}/papers/{first}/")[0]}
        result["related"] = {"status": _get(f"{base}/api/papers/{first}/related")[0]}
    finally:
        for process in reversed(started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    result["traces"] = sorted(str(p) for p in (work / "traces").glob("*.strace"))
    return result


def _probe(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False


def namespace_command() -> list[str] | None:
    """How to enter a new network namespace holding only loopback, or None where this host refuses."""
    if shutil.which("unshare") is None or shutil.which("strace") is None:
        return None
    for flags in (["-n", "-m"], ["-r", "-n", "-m"]):  # as root; else as a user in its own user namespace
        probe = subprocess.run(["unshare", *flags, "true"], capture_output=True, check=False)  # noqa: S603, S607
        if probe.returncode == 0:
            return ["unshare", *flags, "--"]
    return None


def main() -> None:
    work = Path(sys.argv[1])
    # A new namespace starts with loopback down; nothing else exists in it.
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)  # noqa: S603, S607
    # In our own mount namespace: empty name-service directories (see the module docstring).
    for directory in _NAME_SERVICE_DIRS:
        if Path(directory).is_dir() and not Path(directory).is_symlink():
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", directory], check=True)  # noqa: S603, S607
    result = drive(work)
    (work / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
