"""The configured index kind is what a build writes, what its manifest records and what loads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from search import index_store


def _unit(n: int, dim: int = 16) -> np.ndarray:
    rows = np.random.default_rng(n).normal(size=(n, dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _build(n: int) -> index_store.LoadedIndex:
    writer = index_store.BuildWriter()
    ids = np.arange(1, n + 1, dtype=np.int64)
    index_store.write_vectors(writer, backend="faiss", ids=ids, vectors=_unit(n), dim=16)
    writer.finish(backend="faiss", model="m", dim=16, count=n, extra={"kind": "full"})
    return index_store.load_build(writer.build_id, expected_model="m")


@pytest.mark.parametrize(
    ("setting", "kind", "factory"),
    [
        ("flat", "IDMap,Flat", "IDMap,Flat"),
        ("ivf", "IVF{n},Flat", "IVF10,Flat"),
        ("hnsw", "HNSW{M}", "IDMap,HNSW32"),
        ("IVF{n},SQ8", "IVF{n},SQ8", "IVF10,SQ8"),
        ("IVF4,Flat", "IVF4,Flat", "IVF4,Flat"),
        ("HNSW16", "HNSW16", "IDMap,HNSW16"),
    ],
)
def test_the_configured_kind_is_built_recorded_and_loaded(setting: str, kind: str, factory: str, settings: object) -> None:
    settings.INDEX_KIND = setting  # type: ignore[attr-defined]
    loaded = _build(400)
    assert loaded.manifest["index_kind"] == kind
    assert loaded.manifest["index_factory"] == factory == loaded.vectors.factory
    assert loaded.vectors.kind == kind
    assert loaded.manifest["index_params"] == loaded.vectors.params
    assert loaded.vectors.search(_unit(400)[5:6], 1)[0][0][0] == 6


def test_auto_keeps_exact_search_up_to_the_threshold_and_uses_ivf_above(settings: object) -> None:
    settings.INDEX_KIND = "auto"  # type: ignore[attr-defined]
    settings.INDEX_AUTO_EXACT_MAX = 300  # type: ignore[attr-defined]
    assert _build(300).manifest["index_factory"] == "IDMap,Flat"
    above = _build(301)
    assert above.manifest["index_kind"] == "IVF{n},Flat"
    assert above.manifest["index_factory"] == "IVF7,Flat"  # 301 points train at most 7 lists
    assert above.manifest["index_params"]["nlist"] == 7


def test_search_parameters_come_from_settings(settings: object) -> None:
    settings.INDEX_KIND = "hnsw"  # type: ignore[attr-defined]
    settings.INDEX_HNSW_M = 8  # type: ignore[attr-defined]
    settings.INDEX_HNSW_EF_SEARCH = 40  # type: ignore[attr-defined]
    built = _build(100)
    assert built.manifest["index_params"] == {"M": 8, "efConstruction": 80, "efSearch": 40}
    assert built.manifest["index_factory"] == "IDMap,HNSW8"
    # Search parameters are read again at load: tuned without a rebuild; structure is the build's.
    settings.INDEX_HNSW_EF_SEARCH = 200  # type: ignore[attr-defined]
    settings.INDEX_HNSW_M = 48  # type: ignore[attr-defined]
    assert index_store.load_build(built.build_id).vectors.params == {"M": 8, "efConstruction": 80, "efSearch": 200}


def test_a_build_whose_file_is_another_structure_than_its_manifest_says_is_refused(settings: object) -> None:
    settings.INDEX_KIND = "ivf"  # type: ignore[attr-defined]
    built = _build(400)
    manifest = dict(built.manifest, index_factory="IVF11,Flat")
    manifest["sha256"] = index_store.manifest_digest(manifest)
    (index_store.builds_dir() / built.build_id / index_store.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(index_store.IndexRefused, match="holds a IVF10,Flat index, manifest says IVF11,Flat"):
        index_store.load_build(built.build_id)


def test_a_build_of_the_previous_format_is_refused_and_so_rebuilt_from_the_database(settings: object) -> None:
    settings.INDEX_KIND = "flat"  # type: ignore[attr-defined]
    built = _build(50)
    manifest = dict(built.manifest, format=1)
    manifest["sha256"] = index_store.manifest_digest(manifest)
    (index_store.builds_dir() / built.build_id / index_store.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(index_store.IndexRefused, match="unknown format 1"):
        index_store.load_build(built.build_id)
