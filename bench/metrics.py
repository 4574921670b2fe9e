"""Every metric the benchmarks report, written once: ranking quality and latency percentiles.

Ranking metrics follow BEIR/pytrec_eval: nDCG@k with the qrels' graded gains, Recall@k over the
judged-relevant documents (gain > 0), MRR@k (reciprocal rank of the first relevant document).
Recall of an approximate index against exact search is the same recall, with the exact top k as
the relevant set. Percentiles interpolate linearly between the closest ranks (numpy's default).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Mapping, Sequence
from typing import Any


def ndcg_at(ranked: Sequence[Hashable], gains: Mapping[Any, int], k: int = 10) -> float:
    """nDCG@k of one ranking against graded gains (0.0 when nothing is relevant)."""
    dcg = sum(gains.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[Hashable], gains: Mapping[Any, int], k: int = 100) -> float:
    """Share of the relevant documents (gain > 0) found in the first k (0.0 when none is relevant)."""
    relevant = {doc for doc, g in gains.items() if g > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[Hashable], gains: Mapping[Any, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document within the first k, else 0.0."""
    for i, doc in enumerate(ranked[:k]):
        if gains.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def recall_against_exact(found: Sequence[Sequence[Hashable]], exact: Sequence[Sequence[Hashable]], k: int = 10) -> float:
    """Mean share of the exact top k that each search found (an approximate index's recall@k)."""
    scores = [recall_at(f, dict.fromkeys(e[:k], 1), k) for f, e in zip(found, exact, strict=True)]
    return round(statistics.fmean(scores), 4) if scores else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1) of ``values``, linearly interpolated; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p99/mean in milliseconds of samples given in seconds, and their count."""
    if not samples_s:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "mean_ms": float("nan"), "n": 0}
    ms = [s * 1000 for s in samples_s]
    return {
        "p50_ms": round(percentile(ms, 0.50), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "n": len(ms),
    }
