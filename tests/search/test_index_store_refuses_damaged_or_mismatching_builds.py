"""A build whose files, manifest, model or dim do not match is refused; search keeps the previous one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from search import index_store
from search.queries import semantic_search
from search.services import index_build


def _vectors(build: Path) -> Path:
    files = json.loads((build / "manifest.json").read_text())["files"]
    return build / max(files, key=lambda name: files[name]["bytes"])


def _truncate(build: Path) -> None:
    path = _vectors(build)
    path.write_bytes(path.read_bytes()[:100])


def _flip_bytes(build: Path) -> None:
    path = _vectors(build)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _edit_manifest(build: Path) -> None:
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["count"] -= 1
    (build / "manifest.json").write_text(json.dumps(manifest))


def _delete_a_file(build: Path) -> None:
    (build / index_store.MEMBERS).unlink()


DAMAGE = {"truncated": _truncate, "flipped": _flip_bytes, "manifest-edited": _edit_manifest, "file-missing": _delete_a_file}


@pytest.mark.django_db
@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_build_is_refused_and_the_previous_build_keeps_serving(listing_index: list[int], damage: Callable[[Path], None]) -> None:
    previous = index_store.current_index()
    assert previous is not None
    newer = index_build(full=True)
    assert newer is not None
    damage(index_store.builds_dir() / newer.build_id)

    with pytest.raises(index_store.IndexRefused):
        index_store.verify_build(newer.build_id)
    assert index_store.current_index() is previous  # refused: still the build it had
    assert newer.build_id in index_store.reader.refused
    assert semantic_search(query="predicting combustion instabilities in rocket motors").hits


@pytest.mark.django_db
def test_a_reader_started_after_the_damage_serves_the_newest_valid_older_build(listing_index: list[int]) -> None:
    older = index_store.current_build_id()
    newer = index_build(full=True)
    assert newer is not None
    _flip_bytes(index_store.builds_dir() / newer.build_id)
    index_store.reader.reset()  # a web process started now

    loaded = index_store.current_index()
    assert loaded is not None and loaded.build_id == older
    hits = semantic_search(query="predicting combustion instabilities in rocket motors").hits
    assert hits[0].paper.title.startswith("Forecasting Thermoacoustic Instabilities")


@pytest.mark.django_db
def test_a_build_for_another_model_or_dimension_is_refused(listing_index: list[int], settings) -> None:  # type: ignore[no-untyped-def]
    build_id = index_store.current_build_id()
    assert build_id
    with pytest.raises(index_store.IndexRefused, match="model"):
        index_store.verify_build(build_id, expected_model="another-model")
    with pytest.raises(index_store.IndexRefused, match="dim"):
        index_store.verify_build(build_id, expected_dim=768)
    settings.EMBEDDING_MODEL_NAME = "another-model"
    index_store.reader.reset()
    assert index_store.current_index() is None  # never serves vectors of a different model
