"""nDCG@10, Recall@100 and MRR@10 agree with values worked out by hand."""

from __future__ import annotations

import math

from bench.metrics import mrr_at, ndcg_at, percentile, recall_at


def test_ndcg_uses_graded_gains_and_the_ideal_order() -> None:
    gains = {"a": 2, "b": 1}
    assert ndcg_at(["a", "b", "c"], gains) == 1.0
    expected = (1 / math.log2(2) + 2 / math.log2(3)) / (2 / math.log2(2) + 1 / math.log2(3))
    assert abs(ndcg_at(["b", "a"], gains) - expected) < 1e-12
    assert ndcg_at(["x"] * 10 + ["a"], gains) == 0.0  # past rank 10 counts nothing


def test_recall_and_mrr() -> None:
    gains = {"a": 1, "b": 1, "c": 1, "d": 1}
    assert recall_at(["a", "x", "c"], gains) == 0.5
    assert mrr_at(["x", "y", "b"], gains) == 1 / 3
    assert mrr_at(["x"] * 10 + ["a"], gains) == 0.0


def test_percentiles_interpolate() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([5.0], 0.95) == 5.0
