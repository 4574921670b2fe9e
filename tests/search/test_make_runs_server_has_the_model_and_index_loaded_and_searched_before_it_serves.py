"""``make run`` starts ``manage.py serve --noreload``: Django's development server, warmed first as
gunicorn's workers are, so a newcomer's first search does not pay for loading the model and the
build. Real processes: the listing imported, embedded and built in the embedded default."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import LISTING

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_server_warms_the_model_and_current_build_before_it_accepts_requests(tmp_path: Path) -> None:
    assert "manage.py serve --noreload" in (ROOT / "Makefile").read_text()  # what make run starts
    env = {
        **os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "INDEX_DIR": str(tmp_path / "index"),
        "PAPERSCOPE_IGNORE_DOTENV": "1", "DEBUG": "0", "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)  # the embedded default, as make run uses
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120)
    subprocess.run([*manage, "import_papers", str(LISTING)], env=env, check=True, timeout=300, capture_output=True)
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([*manage, "serve", "--noreload", f"127.0.0.1:{port}"], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        text = log.read_text()
        warmed = re.search(r"warmed index build (\S+)", text)
        assert warmed, text
        started = text.index("Starting development server")
        # The warm-up (a real search over the current build) finished before the server listened.
        assert text.index("Loading the model and the search index") < warmed.start() < started, text
        assert warmed.group(1) in {p.name for p in (tmp_path / "index" / "builds").iterdir()}
        query = urllib.parse.urlencode({"q": "predicting combustion instabilities in rocket motors"})
        page = urllib.request.urlopen(f"{base}/search?{query}", timeout=60).read().decode()
        assert "Forecasting Thermoacoustic Instabilities" in re.sub(r"<[^>]+>", "", page)
    finally:
        server.terminate()
        server.wait(timeout=20)
