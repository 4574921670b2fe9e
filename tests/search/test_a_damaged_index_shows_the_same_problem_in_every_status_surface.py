"""One damaged build, one story: verify_index, index_status, the admin dashboard, /readyz and
the 503s of search name the same problem (in-process; tests/pipeline runs the real processes).

Also: damage found by reconcile after the build was loaded (INDEX_DIR/DAMAGED) makes a
process stop serving it at its next check, and a build small enough to be read into memory
keeps answering correctly after its files are truncated on disk (no SIGBUS).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from search import index_store
from search.index_store import current_build_id, reader
from search.selectors import index_status

DASHBOARD = reverse("admin:search_indexbuild_dashboard")


def _build_dir(index_dir: Path) -> Path:
    build = current_build_id()
    assert build
    return index_dir / "builds" / build


def _biggest_file(build: Path) -> Path:
    files = json.loads((build / "manifest.json").read_text())["files"]
    return build / max(files, key=lambda name: files[name]["bytes"])


def _corrupt(build: Path) -> str:
    path = _biggest_file(build)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(data))
    return "checksum mismatch"


def _truncate(build: Path) -> str:
    path = _biggest_file(build)
    path.write_bytes(path.read_bytes()[:100])
    return "bytes, expected"


def _edit_manifest(build: Path) -> str:
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["count"] += 1
    (build / "manifest.json").write_text(json.dumps(manifest))
    return "manifest checksum mismatch"


def _delete(build: Path) -> str:
    shutil.rmtree(build)
    return "unreadable manifest"


@pytest.fixture
def no_rebuild(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Record the reader's rebuild requests instead of building (the pipeline tests build for real)."""
    asked: list[str | None] = []
    monkeypatch.setattr(reader, "_ask_for_rebuild", lambda build_id: asked.append(build_id))
    return asked


@pytest.mark.parametrize("damage", [_corrupt, _truncate, _edit_manifest, _delete], ids=["corrupt", "truncated", "manifest-edited", "deleted"])
def test_every_surface_names_the_same_problem_of_the_only_build(
    admin_client: Client, listing_index: list[int], _isolated_index: Path, no_rebuild: list[str | None], damage: Callable[[Path], str]
) -> None:
    build = _build_dir(_isolated_index)
    for other in (_isolated_index / "builds").iterdir():
        if other != build:
            shutil.rmtree(other)
    words = damage(build)
    reader.reset()

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_index", "--json", stdout=out)
    problem = json.loads(out.getvalue().splitlines()[0])["problem"]
    assert words in problem and build.name in problem

    response = admin_client.get("/api/search", {"q": "language models"})
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert words in response.json()["detail"] and "being rebuilt" in response.json()["detail"]
    page = admin_client.get("/search", {"q": "language models"})
    assert page.status_code == 503 and words in page.content.decode()
    readyz = admin_client.get("/readyz").json()
    assert readyz["status"] == "not ready" and words in " ".join(readyz["reasons"])
    assert words in index_status().problem
    dashboard = admin_client.get(DASHBOARD).content.decode()
    assert words in dashboard
    assert set(no_rebuild) == {build.name}  # a rebuild asked for (the real one at most every 30 s)


def test_damage_reconcile_finds_after_the_build_was_loaded_stops_it_being_served(
    client: Client, listing_index: list[int], _isolated_index: Path, no_rebuild: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = index_store.current_index()
    assert loaded is not None and client.get("/api/search", {"q": "language models"}).status_code == 200
    build = _build_dir(_isolated_index)
    _corrupt(build)  # the same size: nothing a stat would notice
    assert client.get("/readyz").status_code == 200  # nobody has looked yet

    # The worker's reconcile (every RECONCILE_INTERVAL): checksums, records the damage, asks for a build.
    requested: list[dict[str, Any]] = []
    monkeypatch.setattr("search.tasks.request_index_build", lambda **kwargs: requested.append(kwargs))
    from search.tasks import reconcile

    report = reconcile.apply().get()
    assert "checksum mismatch" in report["problem"] and requested
    assert build.name in index_store.damaged_builds()

    response = client.get("/api/search", {"q": "language models"})
    assert response.status_code == 503 and "damaged on disk" in response.json()["detail"]
    readyz = client.get("/readyz").json()
    assert "damaged on disk" in " ".join(readyz["reasons"])
    assert "damaged on disk" in index_status().problem

    # The rebuild reconcile asked for is published: served again.
    from search.services import index_build

    index_build(full=True)
    assert client.get("/api/search", {"q": "language models"}).status_code == 200
    assert client.get("/readyz").status_code == 200


def test_a_small_build_is_read_into_memory_so_truncating_its_files_cannot_crash_a_reader(
    client: Client, listing_index: list[int], _isolated_index: Path
) -> None:
    before = client.get("/api/search", {"q": "language models"}).json()
    loaded = index_store.current_index()
    assert loaded is not None
    build = _build_dir(_isolated_index)
    for path in build.rglob("*"):
        if path.is_file() and path.name != "manifest.json":
            path.write_bytes(b"")  # a mapped page past the new end of file would raise SIGBUS
    after = client.get("/api/search", {"q": "language models"}).json()
    assert [r["id"] for r in after["results"]] == [r["id"] for r in before["results"]]
