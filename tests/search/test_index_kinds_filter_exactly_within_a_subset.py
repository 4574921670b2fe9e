"""Subset searches (filters, "score these papers") are exact for every kind, loaded or in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search.vector_index import FaissIndex, NumpyIndex


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
@pytest.mark.parametrize("subset_size", [3, 40, 900])
def test_subset_results_equal_exact_search_of_the_subset(kind: str, subset_size: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(subset_size)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = rng.permutation(10_000)[:3000].astype(np.int64)  # unsorted primary keys
    index = FaissIndex(32, kind=kind)
    index.add(ids, vectors)
    index.save(tmp_path)
    loaded = FaissIndex.load(tmp_path)
    subset = rng.choice(ids, subset_size, replace=False)
    exact = NumpyIndex(32)
    exact.add(ids, vectors)
    query = rng.normal(size=(2, 32)).astype(np.float32)
    expected = [[i for i, _ in row] for row in exact.search(query, 10, subset=subset)]
    assert [[i for i, _ in row] for row in loaded.search(query, 10, subset=subset)] == expected
    assert [[i for i, _ in row] for row in index.search(query, 10, subset=subset)] == expected
