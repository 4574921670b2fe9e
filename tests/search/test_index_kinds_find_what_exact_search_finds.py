"""Approximate kinds (IVF, IVF-SQ8, HNSW) find nearly what exact search finds, at their default parameters.

Index mechanics only, so clustered synthetic vectors stand in for embeddings here; recall on real
arXiv vectors and real queries is measured by ``manage.py bench_speed``.
"""

from __future__ import annotations

import numpy as np
import pytest

from search.vector_index import NumpyIndex, make_index


def _clustered(n: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    rows = centres[rng.integers(0, clusters, size=n)] + 0.6 * rng.normal(size=(n, dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["IVF{n},Flat", "IVF{n},SQ8", "HNSW{M}"])
def test_recall_at_10_against_exact_search_is_at_least_0_9(kind: str) -> None:
    vectors = _clustered(6000, 48, 40, seed=1)
    queries = _clustered(100, 48, 40, seed=2)
    ids = np.arange(6000, dtype=np.int64) * 3 + 11
    exact = NumpyIndex(48)
    exact.add(ids, vectors)
    approximate = make_index(48, kind)
    approximate.add(ids, vectors)
    found = [
        len({i for i, _ in a} & {i for i, _ in e}) / 10
        for a, e in zip(approximate.search(queries, 10), exact.search(queries, 10), strict=True)
    ]
    assert np.mean(found) >= 0.9


def test_ivf_chooses_its_list_count_from_the_collection_size() -> None:
    index = make_index(16, "ivf")
    index.add(np.arange(40_000), _clustered(40_000, 16, 10, seed=3))
    assert index.params["nlist"] == 400  # 2 sqrt(n)
    assert index.factory == "IVF400,Flat"


def test_a_tiny_ivf_collection_never_has_more_lists_than_it_can_train() -> None:
    index = make_index(8, "IVF1000,Flat")
    index.add(np.arange(100), _clustered(100, 8, 3, seed=4))
    assert index.params["nlist"] == 2  # at least 39 training points per list
    assert len(index.search(_clustered(1, 8, 3, seed=5), 100)[0]) == 100
