"""A real gunicorn master (preload_app) never maps torch, the model backend or FAISS; its workers do."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.prod.helpers import ROOT, clean_env, manage

# Shared libraries that prove a heavy library was loaded into a process.
LIBRARIES = {"torch": "libtorch", "onnx": "onnxruntime", "openvino": "libopenvino", "faiss": "faiss"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.slow
@pytest.mark.one_pass  # its gunicorn gets its own SQLite file: the same either pass
def test_the_master_never_loads_the_model_and_each_worker_warms_its_own(tmp_path: Path) -> None:
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        INDEX_DIR=str(tmp_path / "index"),
        EMBEDDING_CACHE_DIR=str(settings.EMBEDDING_CACHE_DIR),  # reuse the exported model
        WEB_CONCURRENCY="2",
        GUNICORN_BIND=f"127.0.0.1:{_free_port()}",
        LOG_FORMAT="json",
    )
    assert manage("migrate", "-v0", env=env).returncode == 0
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        master = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while log.read_text().count("model loaded") < 2:
            assert master.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        workers = _children(master.pid)
        assert len(workers) == 2
        backend = LIBRARIES[settings.EMBEDDING_BACKEND]
        master_maps = _maps(master.pid)
        for library in ("libtorch", "faiss", backend):
            assert library not in master_maps, f"{library} is loaded in the gunicorn master"
        for worker in workers:
            assert backend in _maps(worker), f"worker {worker} has not loaded {backend}"
        # Each worker got its share of the cores (post_fork), and says so.
        expected = max(1, len(os.sched_getaffinity(0)) // 2)
        assert len(re.findall(rf"model loaded, {expected} threads", log.read_text())) == 2
        port = env["GUNICORN_BIND"].rsplit(":", 1)[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:  # noqa: S310 - loopback
            assert response.status == 200
    finally:
        master.send_signal(signal.SIGTERM)
        master.wait(timeout=60)
