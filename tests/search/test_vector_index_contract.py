"""The same contract for every index kind (FAISS factory strings) and the NumPy reference.

Fake vectors are fine here: index mechanics only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search.vector_index import (
    ExactSearchUnavailable,
    family_of,
    load_index,
    make_index,
)

# Every FAISS family, by its INDEX_KIND, and the brute-force reference.
KINDS = ["numpy", "IDMap,Flat", "IVF{n},Flat", "IVF{n},SQ8", "HNSW{M}"]
# Scores decoded from 8-bit codes are off by up to ~range/255 per dimension; the rest are exact.
SCORE_TOLERANCE = {"IVF{n},SQ8": 5e-3}


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _filters_exactly(kind: str) -> bool:
    return kind == "numpy" or family_of(kind).EXACT_VECTORS


def _filled(backend: str, n: int = 50, dim: int = 8):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(n, dim)))
    ids = np.arange(1000, 1000 + n, dtype=np.int64) * 7  # ids are primary keys, not positions
    index = make_index(dim, backend)
    index.add(ids, vectors)
    return index, ids, vectors


def test_search_returns_primary_keys_best_first(backend: str) -> None:
    index, ids, vectors = _filled(backend)
    hits = index.search(vectors[3:4], 5)[0]
    assert hits[0][0] == ids[3]
    assert hits[0][1] == pytest.approx(1.0, abs=SCORE_TOLERANCE.get(backend, 1e-5))
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_both_backends_agree(backend: str) -> None:
    index, _, vectors = _filled(backend)
    reference, _, _ = _filled("numpy")
    query = vectors[10:12] * 0.5 + vectors[20:22] * 0.5
    if backend in SCORE_TOLERANCE:
        # Compressed codes may swap two papers whose exact scores are within the code's error,
        # never find other papers or misstate a score beyond it.
        for found, expected in zip(index.search(query, 7), reference.search(query, 7), strict=True):
            assert {i for i, _ in found} == {i for i, _ in expected}
            exact = dict(expected)
            assert all(score == pytest.approx(exact[i], abs=SCORE_TOLERANCE[backend]) for i, score in found)
        return
    assert [[i for i, _ in row] for row in index.search(query, 7)] == [
        [i for i, _ in row] for row in reference.search(query, 7)
    ]


def test_removed_ids_never_come_back(backend: str) -> None:
    index, ids, vectors = _filled(backend)
    assert index.remove(ids[:10]) == 10
    assert len(index) == 40
    found = {i for i, _ in index.search(vectors[:10], 50)[0]}
    assert not found & set(ids[:10].tolist())


def test_adding_an_existing_id_replaces_its_vector(backend: str) -> None:
    index, ids, vectors = _filled(backend)
    index.add(ids[:1], vectors[5:6])
    assert len(index) == 50
    top_two = {i for i, _ in index.search(vectors[5:6], 2)[0]}
    assert top_two == {ids[0], ids[5]}


def test_subset_search_only_returns_the_subset_and_fills_k(backend: str) -> None:
    index, ids, vectors = _filled(backend)
    subset = ids[::10]
    if not _filters_exactly(backend):
        with pytest.raises(ExactSearchUnavailable, match="cannot search within a filter exactly"):
            index.search(vectors[:1], 10, subset=subset)
        return
    hits = index.search(vectors[:1], 10, subset=subset)[0]
    assert {i for i, _ in hits} == set(subset.tolist())


def test_k_larger_than_the_index_drops_missing_hits(backend: str) -> None:
    index, _, vectors = _filled(backend, n=3)
    hits = index.search(vectors[:1], 10)[0]
    assert len(hits) == 3 and all(i != -1 for i, _ in hits)


def test_save_and_load_round_trip(backend: str, tmp_path: Path) -> None:
    index, ids, vectors = _filled(backend)
    index.save(tmp_path)
    loaded = load_index(tmp_path, kind=index.kind, params=index.params)
    assert loaded.factory == index.factory
    assert len(loaded) == 50
    assert sorted(loaded.ids().tolist()) == sorted(ids.tolist())
    assert loaded.search(vectors[7:8], 3) == index.search(vectors[7:8], 3)


def test_an_empty_index_returns_no_hits(backend: str) -> None:
    index = make_index(8, backend)
    assert index.search(np.ones((1, 8), dtype=np.float32), 5) == [[]]


def test_an_empty_build_answers_queries_of_any_dimension_with_no_hits(backend: str) -> None:
    # A build published before any paper is embedded has no vectors to take a dimension from
    # (the builder writes 1); a 384-dimensional query must find nothing there, not raise.
    index = make_index(1, backend)
    assert index.search(np.ones((2, 384), dtype=np.float32), 5) == [[], []]
    assert index.search(np.ones(384, dtype=np.float32), 5) == [[]]
