"""Fusion of dense and keyword scores into one ranking (pure functions, no ORM), and the value a
ranking returns (``Ranked``: what was found, from which build, for which analysed query).

Every candidate carries both exact scores (the dense cosine and the BM25 score), whichever side
found it. Three fusions are offered; the default was picked by measurement on SciFact's train
split (docs/benchmarks.md):

* ``zscore``: each side's scores standardised by the mean and spread of its own top-N, then
  ``weight * dense + (1 - weight) * keyword``;
* ``minmax``: the same with each side scaled to [0, 1] over its top-N;
* ``rrf``: weighted reciprocal-rank fusion, ``weight / (k + dense rank) + (1 - weight) / (k + keyword rank)``.

``weight`` is the dense share: 1 gives exactly the dense order, 0 the keyword order (papers
without any query word follow, in dense order).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from search.keyword import word_spans

if TYPE_CHECKING:
    from papers.models import Paper
    from search.index_store import LoadedIndex

FUSIONS = ("zscore", "minmax", "rrf")


class Fused(NamedTuple):  # a tuple: several times cheaper to make than a frozen dataclass
    pk: int
    score: float
    dense: float | None
    keyword: float | None
    dense_part: float  # what the dense side added to ``score``
    keyword_part: float  # what the keyword side added to ``score``


@dataclass(frozen=True)
class AnalysedQuery:
    """A query's text analysed once (search/keyword.py): what BM25 counts and what explanations show."""

    text: str
    terms: tuple[str, ...]  # index terms in order, stop words left out (``keyword.analyze(text)``)
    words: tuple[str, ...]  # the word of ``text`` behind each term, lower-cased

    @classmethod
    def of(cls, text: str) -> AnalysedQuery:
        spans = list(word_spans(text))
        return cls(
            text=text,
            terms=tuple(term for _, _, term in spans),
            words=tuple(text[start:end].lower() for start, end, _ in spans),
        )


@dataclass(frozen=True)
class Ranked:
    """What one ranking found, all of it from one index build.

    ``fused``: visible, filter-passing results, best first (papers the query named first);
    ``total``: how many a reader can page through; ``rows``: the papers' rows the database check
    already loaded (a page fetches only the others); ``index``: the build that was ranked, which
    explanations read too, so a build swapped in meanwhile cannot mix into one answer.
    """

    fused: tuple[Fused, ...]
    total: int
    rows: Mapping[int, Paper]
    index: LoadedIndex
    query: AnalysedQuery
    query_vector: np.ndarray | None
    mode: str


# The relevance floor (calibrated on SciFact's train split, docs/relevance.md). A query has any
# result at all only when its best paper is clearly a match (the gate): its meaning this close
# to the query's (cosine) ...
GATE_DENSE = 0.35
# ... or this share of the query's words in it, each word weighted by its idf (so "diffusion"
# counts far more than "models"; a word the collection lacks counts as the rarest word).
GATE_WORDS = 0.40
# Past the gate, a result counts when it reaches either of these lower bars.
FLOOR_DENSE = 0.25
FLOOR_WORDS = 0.20
# A long question of known words ("does there exist a good basic treatment of the dynamics of
# re-entry ...") rarely has a paper holding 40% of it: when at least this share of the query's
# weight is in words the collection knows, the gate opens at FLOOR_WORDS. Random letters are
# unknown words, so they never get this lower gate.
GATE_KNOWN_SHARE = 0.5


class Floor(NamedTuple):
    """Which evidence a mode uses and how much of it makes a match (None: not used)."""

    dense: float | None
    words: float | None
    gate_dense: float | None
    gate_words: float | None

    @classmethod
    def for_mode(cls, mode: str) -> Floor:
        dense, words = mode != "keyword", mode != "dense"
        return cls(
            dense=FLOOR_DENSE if dense else None,
            words=FLOOR_WORDS if words else None,
            gate_dense=GATE_DENSE if dense else None,
            gate_words=GATE_WORDS if words else None,
        )

    def opens(self, best_dense: float | None, best_coverage: float, known_share: float = 0.0) -> bool:
        """Whether the query's best evidence shows it matches anything at all."""
        if self.gate_dense is not None and best_dense is not None and best_dense >= self.gate_dense:
            return True
        if self.gate_words is None or self.words is None:
            return False
        gate = self.words if known_share >= GATE_KNOWN_SHARE else self.gate_words
        return best_coverage >= gate

    def passes(self, dense: float | None, coverage: float) -> bool:
        if self.dense is not None and dense is not None and dense >= self.dense:
            return True
        return self.words is not None and coverage >= self.words


def check_weight(weight: float) -> float:
    """The weight as a float in [0, 1], or ValueError with a message a reader can act on."""
    try:
        value = float(weight)
    except (TypeError, ValueError):
        raise ValueError(f"weight must be a number between 0 and 1, not {weight!r}") from None
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"weight must be between 0 (keyword only) and 1 (dense only), not {weight!r}")
    return value


def _normaliser(top: np.ndarray, method: str) -> tuple[float, float]:
    """(shift, scale) so that (score - shift) / scale is the normalised score."""
    if not len(top):
        return 0.0, 1.0
    values = np.asarray(top, dtype=np.float64)
    if method == "zscore":
        spread = float(values.std())
        return float(values.mean()), spread if spread > 1e-9 else 1.0
    low, high = float(values.min()), float(values.max())
    return low, (high - low) if high - low > 1e-9 else 1.0


def fuse(
    *,
    dense: dict[int, float],
    keyword: dict[int, float],
    weight: float,
    method: str,
    depth: int,
    rrf_k: int = 60,
) -> list[Fused]:
    """Rank the union of candidates by the weighted fusion of their two scores, best first.

    ``dense`` and ``keyword`` map every candidate to its exact score on that side (a keyword
    score of 0 means no query word occurs in the paper). The normalisation statistics come from
    each side's top ``depth`` scores only, so a paper's fused score does not depend on how deep
    the page being served is.
    """
    if method not in FUSIONS:
        raise ValueError(f"unknown fusion {method!r}; choose one of {', '.join(FUSIONS)}")
    weight = check_weight(weight)
    pks = list(dense) + [pk for pk in keyword if pk not in dense]
    d = np.fromiter((dense.get(pk, -1.0) for pk in pks), dtype=np.float64, count=len(pks))
    k = np.fromiter((keyword.get(pk, 0.0) for pk in pks), dtype=np.float64, count=len(pks))
    if method == "rrf":
        dense_part = weight / (rrf_k + _ranks(d, np.ones(len(d), dtype=bool)))
        matched = k > 0
        keyword_part = np.where(matched, (1.0 - weight) / (rrf_k + _ranks(k, matched)), 0.0)
    else:
        d_shift, d_scale = _normaliser(np.sort(d)[::-1][:depth], method)
        positive = np.sort(k[k > 0])[::-1][:depth]
        k_shift, k_scale = _normaliser(positive, method)
        dense_part = weight * (d - d_shift) / d_scale
        # Statistics over matching papers only: a paper without any query word (score 0) then
        # lands below every paper that has one, as it should.
        keyword_part = (1.0 - weight) * (k - k_shift) / k_scale
    total = dense_part + keyword_part
    # Ties among papers without a query word (all of them at weight 0) go by meaning; other
    # ties by id, as the single-side orders break them, so weight 0 and 1 reproduce those.
    order = np.lexsort((np.asarray(pks, dtype=np.int64), np.where(k <= 0, -d, 0.0), -total)).tolist()
    scores, dense_parts, keyword_parts = total.tolist(), dense_part.tolist(), keyword_part.tolist()
    return [
        Fused(pks[i], scores[i], dense.get(pks[i]), keyword.get(pks[i]), dense_parts[i], keyword_parts[i])
        for i in order
    ]


def _ranks(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """1-based rank of each score among the valid ones (best = 1); ties share the best rank."""
    ranks = np.full(len(scores), np.inf)
    values = scores[valid]
    if len(values):
        ordered = np.sort(values)[::-1]
        ranks[valid] = np.searchsorted(-ordered, -values, side="left") + 1
    return ranks
