"""Several "hosts" on this machine: Linux network namespaces joined by a bridge over veth links.

Each host is a network namespace with one interface (``eth0``, a veth whose other end is on a
bridge in the machine's own namespace) and its own 10.x.y.z address; the machine keeps 10.x.y.1
on the bridge, where the test's private PostgreSQL and Redis listen, as they would on a database
host. A process started on a host sees only that host's network: 127.0.0.1 there is the host's
own loopback, so every connection to a service crosses a veth link. The filesystem is shared
(namespaces isolate the network only), which stands in for a volume every host mounts: INDEX_DIR.

Needs root (``ip netns add``). A missing requirement fails the test rather than skipping it: a
CI runner that cannot do this must be noticed, not silently pass.

Teardown (``Network.close``) kills every process in every namespace, deletes the namespaces (which
removes their veths) and the bridge, and fails if any of them is still listed afterwards.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pipeline.harness import wait_until

_networks = itertools.count(1)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)  # noqa: PLW1510 - checked below
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def require_namespaces() -> None:
    """Fail (not skip) unless this process can create network namespaces and veth links."""
    if os.geteuid() != 0:
        pytest.fail("multi-host rehearsal needs root for network namespaces (ip netns add); run it as root")
    if not shutil.which("ip"):
        pytest.fail("multi-host rehearsal needs iproute2's `ip` (apt-get install iproute2)")


def netns_list() -> list[str]:
    return [line.split()[0] for line in _ip("netns", "list").stdout.splitlines() if line.strip()]


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@dataclass
class Host:
    """One namespace: its name, its address on the bridge, and how to run things there."""

    name: str
    netns: str
    address: str

    @property
    def prefix(self) -> list[str]:
        """Prepend to a command line to run it on this host."""
        return ["ip", "netns", "exec", self.netns]

    def pids(self) -> list[int]:
        return [int(pid) for pid in _ip("netns", "pids", self.netns, check=False).stdout.split()]

    def kill_everything(self, *, timeout: float = 10) -> int:
        """SIGKILL every process in this namespace (the host loses power); returns how many there were."""
        killed: set[int] = set()
        deadline = time.monotonic() + timeout
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        return len(killed)


class Network:
    """A bridge on this machine and the hosts plugged into it; ``close`` removes all of it."""

    def __init__(self) -> None:
        require_namespaces()
        n = next(_networks)
        self.tag = f"{os.getpid() % 100000}{n}"
        # 10.<200-249>.<0-255>.0/24, picked from the pid: unlikely to meet another test's network.
        self.subnet = f"10.{200 + os.getpid() % 50}.{(os.getpid() // 50 + n) % 256}"
        self.bridge = f"psb{self.tag}"
        self.address = f"{self.subnet}.1"
        self.hosts: list[Host] = []
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.address}/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            self.close()
            pytest.fail(f"cannot create a bridge for the multi-host rehearsal: {exc}")

    def add_host(self, name: str) -> Host:
        index = len(self.hosts) + 1
        host = Host(name=name, netns=f"paperscope-{self.tag}-{name}", address=f"{self.subnet}.{10 + index}")
        outside, inside = f"psv{self.tag}h{index}", f"psv{self.tag}n{index}"
        self.hosts.append(host)  # before anything can fail, so close() removes it
        try:
            _ip("netns", "add", host.netns)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", outside, "master", self.bridge)
            _ip("link", "set", outside, "up")
            _ip("link", "set", inside, "netns", host.netns)
            ns = ("-n", host.netns)
            _ip(*ns, "link", "set", inside, "name", "eth0")
            _ip(*ns, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip(*ns, "link", "set", "eth0", "up")
            _ip(*ns, "link", "set", "lo", "up")
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            pytest.fail(f"cannot create host {name} (network namespace + veth): {exc}")
        return host

    def wait_reachable(self, host: Host, *, timeout: float = 20) -> None:
        """The host reaches the bridge address (its veth link is up both ways)."""

        def ping() -> bool:
            return subprocess.run(
                [*host.prefix, "python3", "-c", f"import socket; s = socket.socket(); s.settimeout(1); s.connect_ex(('{self.address}', 9)); s.close()"],
                capture_output=True, timeout=10, check=False,
            ).returncode == 0

        wait_until(ping, timeout=timeout, what=f"{host.name} to reach {self.address}", interval=0.2)

    def close(self) -> list[str]:
        """Kill every process on every host, delete the namespaces and the bridge; returns leftovers."""
        for index, host in enumerate(self.hosts, start=1):
            host.kill_everything()
            _ip("link", "del", f"psv{self.tag}h{index}", check=False)  # and its peer, eth0 inside
            _ip("netns", "del", host.netns, check=False)
        _ip("link", "del", self.bridge, check=False)
        ours = f"paperscope-{self.tag}-"
        leftovers = [name for name in netns_list() if name.startswith(ours)]
        if _ip("link", "show", self.bridge, check=False).returncode == 0:
            leftovers.append(f"bridge {self.bridge}")
        links = _ip("-o", "link", "show", check=False).stdout
        leftovers += [f"link {line.split(':')[1].strip()}" for line in links.splitlines() if f"psv{self.tag}" in line]
        return leftovers


class PostgresServer:
    """A private PostgreSQL cluster on ``address`` (trust auth, for the test only), removed on stop.

    It runs as the ``postgres`` user (PostgreSQL refuses root) from a directory under /tmp that
    user owns; nothing touches the machine's own server.
    """

    def __init__(self, address: str, *, subnet: str) -> None:
        binaries = self._binaries()
        self.address = address
        self.port = free_port(address)
        self.dir = Path(tempfile.mkdtemp(prefix="paperscope-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.proc: subprocess.Popen[bytes] | None = None
        data = self.dir / "data"
        initdb = subprocess.run(
            [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            capture_output=True, text=True, timeout=120, check=False, user="postgres", group="postgres", extra_groups=[],
        )
        if initdb.returncode != 0:
            self.stop()
            pytest.fail(f"initdb failed: {initdb.stdout[-2000:]}{initdb.stderr[-2000:]}")
        with open(data / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write(f"host all all {subnet}.0/24 trust\n")
        self.log = self.dir / "postgres.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [str(binaries / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.dir),
                 "-c", f"listen_addresses={address}", "-c", "max_connections=200", "-c", "shared_buffers=64MB"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, user="postgres", group="postgres", extra_groups=[],
            )
        wait_until(self._ready, timeout=60, what=f"PostgreSQL on {address}:{self.port}", interval=0.2,
                   on_timeout=lambda: self.log.read_text(errors="replace")[-3000:])

    @staticmethod
    def _binaries() -> Path:
        found = shutil.which("initdb")
        if found:
            return Path(os.path.realpath(found)).parent
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not candidates:
            pytest.fail("multi-host rehearsal needs the PostgreSQL server binaries (initdb, postgres)")
        return candidates[-1].parent

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@{self.address}:{self.port}/{database}"

    def _ready(self) -> bool:
        import psycopg

        assert self.proc is not None and self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
        try:
            psycopg.connect(self.url(), connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

