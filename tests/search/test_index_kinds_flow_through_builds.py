"""The configured index kind is what a build writes, what its manifest records and what loads."""

from __future__ import annotations

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


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_the_configured_kind_is_built_recorded_and_loaded(kind: str, settings: object) -> None:
    settings.INDEX_KIND = kind  # type: ignore[attr-defined]
    loaded = _build(400)
    assert loaded.manifest["index_kind"] == kind
    assert loaded.vectors.kind == kind  # type: ignore[union-attr]
    assert loaded.manifest["index_params"] == loaded.vectors.params  # type: ignore[union-attr]
    assert loaded.vectors.search(_unit(400)[5:6], 1)[0][0][0] == 6


def test_auto_keeps_exact_search_up_to_the_threshold_and_uses_ivf_above(settings: object) -> None:
    settings.INDEX_KIND = "auto"  # type: ignore[attr-defined]
    settings.INDEX_AUTO_EXACT_MAX = 300  # type: ignore[attr-defined]
    assert _build(300).manifest["index_kind"] == "flat"
    above = _build(301)
    assert above.manifest["index_kind"] == "ivf"
    assert above.manifest["index_params"]["nlist"] == 7  # 301 points train at most 7 lists


def test_search_parameters_come_from_settings(settings: object) -> None:
    settings.INDEX_KIND = "hnsw"  # type: ignore[attr-defined]
    settings.INDEX_HNSW_M = 8  # type: ignore[attr-defined]
    settings.INDEX_HNSW_EF_SEARCH = 40  # type: ignore[attr-defined]
    assert _build(100).manifest["index_params"] == {"M": 8, "efConstruction": 80, "efSearch": 40}
