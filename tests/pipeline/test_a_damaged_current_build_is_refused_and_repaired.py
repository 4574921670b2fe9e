"""Truncate or corrupt the current build's file, or edit its manifest: refused everywhere.

Before a web process loads it: gunicorn keeps answering from the previous build, verify_index
exits non-zero, and verify_index --repair publishes a good build that the web processes then
serve. After every web process loaded it (the last test, at production settings): they keep
answering, reconcile catches the damage and replaces the build.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.pipeline.conftest import Site
from tests.pipeline.harness import (
    LISTING,
    Pipeline,
    build_without_paper,
    search_ids,
    sqlite_pass,
    unpublished_build,
    vectors_file,
    wait_served_everywhere,
    write_current,
)


def _truncate(build: Path, file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


def _corrupt(build: Path, file: Path) -> None:
    data = bytearray(file.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    file.write_bytes(bytes(data))


def _edit_manifest(build: Path, file: Path) -> None:
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["count"] += 1  # a plausible-looking edit; its checksum no longer matches
    (build / "manifest.json").write_text(json.dumps(manifest, indent=2))


pytestmark = sqlite_pass


@pytest.mark.parametrize(
    ("damage", "paper_rank"), [(_truncate, 11), (_corrupt, 12), (_edit_manifest, 13)], ids=["truncated", "corrupted", "manifest-edited"]
)
def test_a_damaged_current_build_is_refused_search_keeps_answering_and_repair_recovers(site: Site, damage: object, paper_rank: int) -> None:
    p, base = site.pipeline, site.base
    paper = sorted(site.titles)[paper_rank]
    query = site.titles[paper]
    previous = build_without_paper(p, paper)
    wait_served_everywhere(site.web, base, previous)
    assert paper not in search_ids(base, query)

    bad = unpublished_build(p)  # holds the paper
    damage(p.index_dir / "builds" / bad, vectors_file(p, bad))  # type: ignore[operator]
    write_current(p, bad)

    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        hits = search_ids(base, query)  # a 200 every time
        assert hits and paper not in hits  # answered from the previous build
    assert site.web.text().count(f"refused index build: build {bad}") == 2  # both web processes

    code, report = p.verify()
    assert code != 0 and report["problem"], report
    status = p.manage("index_status").stdout
    assert "problem:" in status or bad in status

    repaired = p.manage("verify_index", "--repair")
    assert "OK: the index matches the database" in repaired.stdout, repaired.stdout
    assert p.current_build() not in (bad, previous)
    wait_served_everywhere(site.web, base, str(p.current_build()))
    assert paper in search_ids(base, query)


# --- damage after the build was loaded (the red team's case) ---------------------------------
PRODUCTION = {"INDEX_RELOAD_INTERVAL": "1.0", "BUILD_DEBOUNCE_SECONDS": "10"}


def _keyword_file(p: Pipeline, build: str) -> Path:
    directory = p.index_dir / "builds" / build
    files = json.loads((directory / "manifest.json").read_text())["files"]
    keyword = [name for name in files if name.startswith("keyword")]
    assert keyword, files
    return directory / max(keyword, key=lambda name: files[name]["bytes"])


@sqlite_pass
def test_a_build_damaged_after_every_web_process_loaded_it_is_caught_by_reconcile_and_replaced(pipeline: Pipeline) -> None:
    """Overwritten vector bytes and a truncated keyword file under two running gunicorn workers.

    The workers keep answering (the build is small enough to be held in memory: no SIGBUS,
    no wrong results); the next reconcile (what beat runs every RECONCILE_INTERVAL) checksums
    the build, records it damaged and rebuilds it from the stored vectors; every worker stops
    serving the damaged build and serves the new one.
    """
    p = pipeline
    p.env.update(PRODUCTION)
    p.manage("import_papers", str(LISTING))
    web, base = p.web(workers=2)
    build = str(p.current_build())
    query = "language models"
    wait_served_everywhere(web, base, build)
    before = search_ids(base, query)
    booted = web.text().count("Booting worker")

    vectors = vectors_file(p, build)
    with open(vectors, "r+b") as handle:  # in place, same size: what a bad disk or a stray dd does
        handle.seek(vectors.stat().st_size // 2)
        handle.write(bytes(256))
    keyword = _keyword_file(p, build)
    with open(keyword, "r+b") as handle:
        handle.truncate(keyword.stat().st_size // 2)

    for _ in range(20):  # both workers, several times: still the right answers, no crash
        assert search_ids(base, query) == before
    assert web.alive() and web.text().count("Booting worker") == booted, web.tail()
    assert "SIGBUS" not in web.text() and "signal 7" not in web.text()

    code, report = p.verify()
    assert code != 0 and build in report["problem"], report
    out = p.manage("shell", "-c", "from search.tasks import reconcile; print(reconcile.apply().get())").stdout
    assert "checksum mismatch" in out or "bytes, expected" in out, out
    assert build in json.loads((p.index_dir / "DAMAGED").read_text())

    repaired = p.current_build()
    assert repaired not in (None, build)
    wait_served_everywhere(web, base, str(repaired))
    assert search_ids(base, query) == before
    code, report = p.verify()
    assert code == 0 and report["ok"], report
    assert web.text().count("Booting worker") == booted  # no worker died on the way
