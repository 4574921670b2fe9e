"""End to end with real processes: import -> embed -> build -> a running server -> rebuild."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from html import unescape
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


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "INDEX_DIR": str(tmp_path / "index"),
        "PAPERSCOPE_IGNORE_DOTENV": "1",
        "DEBUG": "1",
    }
    env.pop("REDIS_URL", None)  # the embedded default: tasks run in-process
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120)
    subprocess.run([*manage, "import_papers", str(LISTING)], env=env, check=True, timeout=300, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        env["_MANAGE"] = json.dumps(manage)
        yield env, base
    finally:
        server.terminate()
        server.wait(timeout=20)


def _titles(base: str, query: str) -> list[str]:
    url = f"{base}/search?{urllib.parse.urlencode({'q': query})}"
    html = urllib.request.urlopen(url, timeout=60).read().decode()
    found = re.findall(r'<h3 class="result-title"><a href="/papers/\d+/">(.*?)</a>', html, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", t)).strip() for t in found]


def test_search_over_http_then_a_second_build_is_served_without_restart(site: tuple[dict[str, str], str], tmp_path: Path) -> None:
    env, base = site
    manage = json.loads(env["_MANAGE"])
    assert _titles(base, "predicting combustion instabilities in rocket motors")[0].startswith(
        "Forecasting Thermoacoustic Instabilities"
    )

    new_paper = {
        "title": "Coral reef bleaching forecasts from ocean temperature satellites",
        "abstract": "We forecast mass coral bleaching events from satellite sea surface temperature records.",
        "arxiv_id": "2601.99999",
    }
    path = tmp_path / "new.jsonl"
    path.write_text(json.dumps(new_paper) + "\n", encoding="utf-8")
    subprocess.run([*manage, "import_papers", str(path), "--no-embed"], env=env, check=True, timeout=120, capture_output=True)
    subprocess.run([*manage, "embed_papers", "--missing"], env=env, check=True, timeout=300, capture_output=True)
    # Not built yet: the paper is not found (the relevance floor may leave the page empty).
    assert new_paper["title"] not in _titles(base, "coral bleaching prediction")
    subprocess.run([*manage, "build_index"], env=env, check=True, timeout=120, capture_output=True)

    deadline = time.monotonic() + 30
    while _titles(base, "coral bleaching prediction")[:1] != [new_paper["title"]]:
        assert time.monotonic() < deadline, "the running server never picked up the new build"
        time.sleep(0.5)
