"""Truncate or corrupt the current build's file, or edit its manifest: refused everywhere.

gunicorn keeps answering from the previous build, verify_index exits non-zero, and
verify_index --repair publishes a good build that the web processes then serve.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.pipeline.conftest import Site
from tests.pipeline.harness import (
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
