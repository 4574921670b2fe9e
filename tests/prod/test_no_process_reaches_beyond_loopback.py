"""Private by proof: the real path (import -> embed -> build -> search) in fresh processes, a real
Celery worker and beat on Redis and gunicorn, each under strace in a network namespace that has
only loopback, try to reach nothing else: no connection, no DNS query (tests/prod/network_audit.py).

Settings must do the work: the processes start without HF_HUB_OFFLINE, CI or any other privacy
variable, with an empty HOME (no OpenVINO consent file) and a fresh model export directory (the
OpenVINO conversion is where openvino-telemetry phoned Google Analytics from every process).
The namespace means a regression is recorded but sends nothing anywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.prod.helpers import ROOT, clean_env, run_python
from tests.prod.network_audit import SAMPLE_PAPERS, audit_violations, namespace_command

pytestmark = pytest.mark.slow


def _namespace() -> list[str]:
    command = namespace_command()
    if command is None:  # a missing tool is a failure, never a skip: the claim rests on this test
        pytest.fail("the network audit needs strace, ip and unshare -n (apt-get install strace iproute2 util-linux; "
                    "scripts/ensure-test-services.sh installs them) and a kernel that allows network namespaces")
    return command


# It brings its own SQLite and Redis into the namespace (the host's PostgreSQL is outside it), so
# it runs in the SQLite pass of make test only.
@pytest.mark.one_pass
def test_the_real_pipeline_worker_and_gunicorn_reach_nothing_but_loopback(tmp_path: Path) -> None:
    run = subprocess.run(  # noqa: S603 - our own driver
        [*_namespace(), sys.executable, "-m", "tests.prod.network_audit", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False,
    )
    logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted((tmp_path / "logs").glob("*.log")))
    assert run.returncode == 0, f"{run.stderr[-3000:]}\n{logs}"
    result = json.loads((tmp_path / "result.json").read_text())

    # The path really ran: both model exports made afresh, every paper indexed, searches answered.
    assert result["embedded_indexed"] == SAMPLE_PAPERS
    assert result["indexed"] == SAMPLE_PAPERS
    for export in ("embedded-models", "models"):
        assert list((tmp_path / export).glob("*/openvino/model.xml")), f"no fresh OpenVINO export under {export}"
    assert result["api_search"] == {"status": 200, "results": 5}
    assert result["page_search"]["status"] == 200
    assert result["paper_page"] == {"status": 200}
    assert result["related"] == {"status": 200}

    traces = {Path(p).stem: Path(p).read_text() for p in result["traces"]}
    assert set(traces) >= {"embedded-migrate", "embedded-import", "migrate", "import", "worker", "beat", "gunicorn"}
    # strace saw the traffic that is allowed (the worker and gunicorn talking to Redis on loopback),
    # so an empty violation list means something.
    redis = f'sin_port=htons({result["redis_port"]}), sin_addr=inet_addr("127.0.0.1")'
    assert redis in traces["worker"] and redis in traces["gunicorn"]
    violations = {name: audit_violations(text) for name, text in traces.items()}
    assert violations == {name: [] for name in traces}


def test_the_audit_flags_a_connection_to_another_host_and_a_name_lookup(tmp_path: Path) -> None:
    """A process that tries other hosts is caught. In the namespace nothing is routed, so the
    attempts fail with ENETUNREACH after strace has recorded them: no packet leaves."""
    offender = textwrap.dedent(
        """
        import socket
        for family, address in ((socket.AF_INET, ("10.255.255.1", 443)), (socket.AF_INET6, ("2001:db8::1", 443))):
            try:
                socket.create_connection(address, timeout=1)
            except OSError:
                pass
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.sendto(b"x", ("192.0.2.7", 9))
        except OSError:
            pass
        try:
            socket.getaddrinfo("updates.paperscope.invalid", 443)
        except OSError:
            pass
        quiet = socket.socket()
        quiet.bind(("127.0.0.1", 0))
        quiet.listen()
        socket.create_connection(quiet.getsockname()).close()  # loopback: allowed
        """
    )
    trace = tmp_path / "offender.strace"
    script = f"ip link set lo up && strace -f -qq -e trace=network,execve -o {trace} {sys.executable} -c '{offender}'"
    run = subprocess.run([*_namespace(), "sh", "-c", script], capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    assert run.returncode == 0, run.stderr
    found = audit_violations(trace.read_text())
    joined = "\n".join(found)
    assert "connect to 10.255.255.1:443" in joined
    assert "connect to 2001:db8::1:443" in joined
    assert "sendto to 192.0.2.7:9" in joined
    assert "DNS query to" in joined  # the name lookup, to whichever resolver this host names
    assert "127.0.0.1" not in joined.replace("inet_addr(\"127.0.0.1\")", "")  # the loopback connection is fine
    assert "ENETUNREACH" in joined  # nothing was routed anywhere


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('42 connect(3, {sa_family=AF_INET, sin_port=htons(6379), sin_addr=inet_addr("127.0.0.1")}, 16) = 0', None),
        ('42 connect(3, {sa_family=AF_INET, sin_port=htons(5432), sin_addr=inet_addr("127.8.9.1")}, 16) = 0', None),
        ('42 connect(3, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0', None),
        ('42 connect(3, {sa_family=AF_UNIX, sun_path="/var/run/redis/redis.sock"}, 110) = 0', None),
        ('42 bind(3, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("0.0.0.0")}, 16) = 0', None),
        ('42 connect(3, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("142.250.1.1")}, 16) = -1 EINPROGRESS', "connect to 142.250.1.1:443"),
        ('42 connect(3, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6_addr), sin6_scope_id=0}, 28) = -1', "connect to ::ffff:10.1.2.3:443"),
        ('42 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 0', "DNS query to 127.0.0.53"),
        ('[pid 42] sendto(3, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("8.8.8.8")}, 16) = 1', "DNS query to 8.8.8.8"),
        ('42 connect(3, {sa_family=AF_UNIX, sun_path="/run/systemd/resolve/io.systemd.Resolve"}, 110) = -1 ENOENT', "name service lookup"),
    ],
)
def test_the_audit_tells_loopback_from_everything_else(line: str, reason: str | None) -> None:
    found = audit_violations(line)
    if reason is None:
        assert found == []
    else:
        assert len(found) == 1 and reason in found[0]


def test_settings_keep_openvino_telemetry_from_loading_in_every_django_process() -> None:
    """OpenVINO's converter falls back to its no-op stub when openvino_telemetry cannot be imported."""
    code = (
        "import django; django.setup()\n"
        "import os\n"
        "from openvino.tools.ovc import telemetry_utils\n"
        "print(telemetry_utils.tm.__name__, os.environ['HF_HUB_OFFLINE'], os.environ['HF_HUB_DISABLE_TELEMETRY'])\n"
    )
    env = clean_env()
    env.pop("HF_HUB_OFFLINE")
    done = run_python(code, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["openvino.tools.ovc.telemetry_stub", "1", "1"]
