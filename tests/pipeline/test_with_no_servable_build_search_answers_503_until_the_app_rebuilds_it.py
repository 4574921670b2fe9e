"""The only build missing, corrupt or wiped: 503 + Retry-After everywhere, never an empty 200,
and the app rebuilds from the stored vectors by itself.

Production settings (INDEX_RELOAD_INTERVAL=1, BUILD_DEBOUNCE_SECONDS=10, the real model). The
embedded default rebuilds inside the web process (no worker there); with a broker the web
process asks the Celery worker. /readyz, /api/search, the search page, verify_index and
index_status all name the same problem while it lasts.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.pipeline.harness import (
    LISTING,
    Pipeline,
    sqlite_pass,
    vectors_file,
    wait_until,
)

PRODUCTION = {"INDEX_RELOAD_INTERVAL": "1.0", "BUILD_DEBOUNCE_SECONDS": "10"}
QUERY = "language models"


def _get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def _only_build(p: Pipeline) -> str:
    """Leave exactly one build on disk (the current one), so no older build can stand in."""
    current = p.current_build()
    assert current
    for build in (p.index_dir / "builds").iterdir():
        if build.name != current:
            shutil.rmtree(build)
    return current


def _corrupt(p: Pipeline, build: str) -> None:
    path = vectors_file(p, build)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def _delete(p: Pipeline, build: str) -> None:
    shutil.rmtree(p.index_dir / "builds" / build)  # CURRENT still names it


def _wipe(p: Pipeline, build: str) -> None:
    shutil.rmtree(p.index_dir)  # the volume lost: no CURRENT, no builds; the vectors are in the DB
    p.index_dir.mkdir()


def _search_api(base: str) -> tuple[int, dict[str, str], str]:
    return _get(f"{base}/api/search?{urllib.parse.urlencode({'q': QUERY})}")


def _assert_503(response: tuple[int, dict[str, str], str], reason_word: str) -> None:
    code, headers, body = response
    assert code == 503, (code, body[:300])
    assert int(headers["Retry-After"]) > 0
    detail = json.loads(body)["detail"]
    assert reason_word in detail, detail


def _assert_unavailable_everywhere(base: str, reason_word: str) -> None:
    """While the rebuild is pending: the API, the search page and /readyz say 503 and why."""
    _assert_503(_search_api(base), reason_word)
    code, headers, body = _get(f"{base}/search?{urllib.parse.urlencode({'q': QUERY})}")
    assert code == 503 and int(headers["Retry-After"]) > 0, code
    assert "being rebuilt" in body
    assert "No papers matched" not in body
    code, _, body = _get(f"{base}/readyz")
    assert code == 503
    reasons = " ".join(json.loads(body)["reasons"])
    assert reason_word in reasons, reasons


def _assert_never_an_empty_200(base: str, seconds: float) -> None:
    """Until it is back, every answer is a 503 or real results: never "no results" with a 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        code, _, body = _search_api(base)
        assert code in (200, 503), code
        if code == 200:
            assert json.loads(body)["total"] > 0, body[:300]
        code, _, body = _get(f"{base}/search?{urllib.parse.urlencode({'q': QUERY})}")
        assert code in (200, 503) and "No papers matched" not in body, code


def _assert_recovered(p: Pipeline, base: str, damaged: str | None, *, timeout: float) -> None:
    def served() -> bool:
        code, _, body = _get(f"{base}/api/search?{urllib.parse.urlencode({'q': QUERY})}")
        return code == 200 and json.loads(body)["total"] > 0

    wait_until(served, timeout=timeout, interval=0.5, what="search to answer from a rebuilt index", on_timeout=p.logs)
    assert p.current_build() not in (None, damaged)
    code, report = p.verify()
    assert code == 0 and report["ok"], report
    assert _get(f"{base}/readyz")[0] == 200


@sqlite_pass
@pytest.mark.parametrize(
    ("damage", "reason_word"),
    [(_corrupt, "checksum mismatch"), (_delete, "manifest"), (_wipe, "no build published")],
    ids=["only-build-corrupt", "only-build-deleted", "index-directory-wiped"],
)
def test_embedded_default_answers_503_then_rebuilds_in_process(
    pipeline: Pipeline, damage: Callable[[Pipeline, str], None], reason_word: str
) -> None:
    p = pipeline
    p.env.update(PRODUCTION)
    p.manage("import_papers", str(LISTING))
    build = _only_build(p)
    damage(p, build)
    # verify_index and index_status name the problem before any web process looked.
    code, report = p.verify()
    assert code != 0 and report["problem"], report
    web, base = _start_web_without_warmup(p)
    # The first search finds nothing to serve: a 503 that says why, and the rebuild starts
    # (in a thread of the web process: the embedded default has no worker).
    _assert_503(_search_api(base), reason_word)
    _assert_never_an_empty_200(base, seconds=3)
    _assert_recovered(p, base, build, timeout=60)
    assert "asked for a rebuild from the stored vectors" in web.text()
    assert p.count("search_paperembedding") == p.count("papers_paper")  # rebuilt, nothing re-embedded


@pytest.mark.parametrize("damage", [_corrupt, _wipe], ids=["only-build-corrupt", "index-directory-wiped"])
def test_with_a_broker_the_web_asks_the_worker_to_rebuild(broker_pipeline: Pipeline, damage: Callable[[Pipeline, str], None]) -> None:
    p = broker_pipeline
    p.env.update(PRODUCTION)
    worker = p.worker(fast=False)
    p.manage("import_papers", str(LISTING))
    wait_until(lambda: p.current_build() is not None and _count_in(p) == p.count("papers_paper"), timeout=300, what="the import to be built", on_timeout=worker.tail)
    build = _only_build(p)
    damage(p, build)
    code, report = p.verify()
    assert code != 0 and report["problem"], report
    web, base = _start_web_without_warmup(p)
    started = time.monotonic()
    # The build waits out BUILD_DEBOUNCE_SECONDS (10) in the queue: every surface says why.
    _assert_unavailable_everywhere(base, "checksum mismatch" if damage is _corrupt else "no build published")
    _assert_never_an_empty_200(base, seconds=2)
    # BUILD_DEBOUNCE_SECONDS=10, then a build of 61 stored vectors.
    _assert_recovered(p, base, build, timeout=60)
    assert time.monotonic() - started < 45
    assert "asked for a rebuild from the stored vectors" in web.text()


def _count_in(p: Pipeline) -> int:
    build = p.current_build()
    if build is None:
        return -1
    manifest: dict[str, Any] = json.loads((p.index_dir / "builds" / build / "manifest.json").read_text())
    return int(manifest["count"])


def _start_web_without_warmup(p: Pipeline) -> tuple[Any, str]:
    """gunicorn as in production, started after the damage (its warm-up finds nothing to serve)."""
    from tests.pipeline.harness import free_port

    port = free_port()
    proc = p.start(
        "web", "gunicorn",
        env={"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2", "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WARM": "0"},
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.alive(), proc.tail()
        try:
            return urllib.request.urlopen(base + "/healthz", timeout=5).status == 200
        except OSError:
            return False

    wait_until(up, timeout=180, what="the web server", interval=0.5, on_timeout=proc.tail)
    return proc, base
