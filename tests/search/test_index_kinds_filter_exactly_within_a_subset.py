"""Subset searches (filters, "score these papers") are exact for every kind that can read its
vectors back, loaded or in memory, and refused by kinds that store compressed codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search.vector_index import (
    ExactSearchUnavailable,
    IVFIndex,
    NumpyIndex,
    ivf_reads_directly,
    load_index,
    make_index,
)


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["IDMap,Flat", "IVF{n},Flat", "HNSW{M}"])
@pytest.mark.parametrize("subset_size", [3, 40, 900])
def test_subset_results_equal_exact_search_of_the_subset(kind: str, subset_size: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(subset_size)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = rng.permutation(10_000)[:3000].astype(np.int64)  # unsorted primary keys
    index = make_index(32, kind)
    index.add(ids, vectors)
    index.save(tmp_path)
    loaded = load_index(tmp_path, kind=index.kind, params=index.params)
    subset = rng.choice(ids, subset_size, replace=False)
    exact = NumpyIndex(32)
    exact.add(ids, vectors)
    query = rng.normal(size=(2, 32)).astype(np.float32)
    expected = [[i for i, _ in row] for row in exact.search(query, 10, subset=subset)]
    assert [[i for i, _ in row] for row in loaded.search(query, 10, subset=subset)] == expected
    assert [[i for i, _ in row] for row in index.search(query, 10, subset=subset)] == expected


def test_a_loaded_ivf_build_reads_a_few_given_vectors_from_its_lists(tmp_path: Path) -> None:
    # Hybrid search scores the keyword side's finds by meaning: ~100 given ids per query.
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(5000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = rng.permutation(50_000)[:5000].astype(np.int64)
    index = make_index(16, "ivf")
    index.add(ids, vectors)
    assert index.save(tmp_path) == [IVFIndex.FILENAME, IVFIndex.DIRECTORY]
    loaded = load_index(tmp_path, kind=index.kind, params=index.params)
    assert isinstance(loaded, IVFIndex) and isinstance(loaded._directory, np.memmap)  # shared page cache, not a private copy
    subset = np.concatenate([rng.choice(ids, 50, replace=False), [-5, 10**9]])  # two unknown ids
    assert ivf_reads_directly(len(subset), len(loaded))
    query = rng.normal(size=(1, 16)).astype(np.float32)
    hits = loaded.search(query, 60, subset=subset)[0]
    position = {int(pk): row for row, pk in enumerate(ids)}
    expected = sorted(((int(pk), float(vectors[position[int(pk)]] @ query[0])) for pk in subset[:50]), key=lambda h: -h[1])
    assert [pk for pk, _ in hits] == [pk for pk, _ in expected]
    assert np.allclose([s for _, s in hits], [s for _, s in expected], atol=1e-5)
    # After a removal the directory is rebuilt: a removed id is never scored.
    index.remove(subset[:1])
    assert int(subset[0]) not in {pk for pk, _ in index.search(query, 60, subset=subset)[0]}


@pytest.mark.parametrize("subset_size", [3, 900])
def test_a_compressed_kind_refuses_to_search_within_a_subset_instead_of_answering_approximately(subset_size: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vectors = _unit(rng.normal(size=(3000, 32)))
    ids = np.arange(3000, dtype=np.int64) * 5
    index = make_index(32, "IVF{n},SQ8")
    index.add(ids, vectors)
    assert index.save(tmp_path) == [IVFIndex.FILENAME]  # no directory: nothing to read back exactly
    loaded = load_index(tmp_path, kind=index.kind, params=index.params)
    for searched in (index, loaded):
        with pytest.raises(ExactSearchUnavailable, match=r"IVF\d+,SQ8 index stores compressed codes"):
            searched.search(vectors[:1], 10, subset=rng.choice(ids, subset_size, replace=False))
        assert len(searched.search(vectors[:1], 10)[0]) == 10  # unfiltered search still answers
