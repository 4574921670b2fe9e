"""One query's keyword evidence: every paper's BM25 score and its share of the query's idf weight
("coverage", what the relevance floor reads), without scoring every posting of the common words.

``search/keyword.py`` scores a query term at a time over whole posting lists: ~5 ns a posting,
3.1M postings for a median title at 2.6M papers, most of them a few common words' ("learning",
"model"). A ranking needs far less than every paper's exact score: the best ``depth`` papers,
exact scores of the few hundred candidates it fuses, and the floor's counts. So here
(docs/scale.md, "Run 11"):

* Each paper gets a bit mask of the query terms it holds (uint16, one bit per distinct known
  term). Coverage depends only on which terms a paper holds, so it is read from a table of every
  mask's coverage, equal bit for bit to the sum ``KeywordIndex.coverage`` takes (same float32
  additions, same order).
* Terms held by at least ``COMMON_SHARE`` of the papers only set their bit (~0.7 ns a posting,
  sequential writes to a small array). The others are scored in full (BM25, ``KeywordIndex``'s
  compiled loop). Scores add up rarest term first (``KeywordIndex.plan``), so a paper's partial
  score plus its common terms' parts, added later in the same order, is its exact score.
* A paper's exact score is its partial score plus the parts of the common terms its mask holds,
  read from their posting lists by binary search. Those parts are each below the term's BM25
  weight, so ``partial + bound(mask)`` bounds the exact score (MaxScore, Turtle and Flood 1995):
  the top k is exact after scoring only the papers whose bound reaches the k-th best found.

Where the shortcut would cost more than it saves (a small collection, no common term, more than
MAX_TERMS distinct terms, a band of candidates larger than BAND_MAX) the common terms are scored
in full (``complete``) and every answer is read from whole arrays, as before. Either way the
answers equal those of ``KeywordIndex.scores``/``coverage`` exactly: the test
tests/search/test_keyword_evidence_scores_common_words_only_where_they_matter_with_exact_answers.py
compares the two over real abstracts.
"""

from __future__ import annotations

import numba
import numpy as np

from search.keyword import KeywordIndex, _add_scores, best_of

# A term held by at least this share of the live papers has its postings marked, not scored.
COMMON_SHARE = 0.02
# Below this many postings in all, the whole query is scored as before (nothing to gain).
MIN_POSTINGS = 200_000
# Distinct known terms a mask holds; a longer query (a pasted abstract) is scored in full.
MAX_TERMS = 16
# Most candidates scored by binary search before the common terms are scored in full instead.
BAND_MAX = 50_000
# The top k scores the rarest common terms in full while those not scored could add more than
# this share of the k-th best partial score (the band of papers to check would be wide).
PROMOTE_SHARE = 0.5
# Candidates scored at a time, best bound first, while looking for the top k.
BATCH = 2_048
# Bounds are widened (relative, then absolute) so that float32 rounding never puts an exact score
# above its bound: scores are below ~100 and each float32 addition is off by at most 2^-24 of it.
_MARGIN = (1e-4, 1e-3)


@numba.njit(nogil=True, boundscheck=False)
def _add_scores_bit(
    scores: np.ndarray, mask: np.ndarray, docs: np.ndarray, tfs: np.ndarray, lengths: np.ndarray,
    k1: np.float32, base: np.float32, b: np.float32, average: np.float32, weight: np.float32, bit: np.uint16,
) -> None:
    # The arithmetic of keyword._add_scores, in the same order (bit-for-bit the same scores).
    for i in range(docs.shape[0]):
        doc = docs[i]
        tf = tfs[i]
        norm = k1 * (base + b * np.float32(lengths[doc]) / average)
        scores[doc] += weight * tf / (norm + tf)
        mask[doc] |= bit


@numba.njit(nogil=True, boundscheck=False)
def _set_bit(mask: np.ndarray, docs: np.ndarray, bit: np.uint16) -> None:
    for i in range(docs.shape[0]):
        mask[docs[i]] |= bit


@numba.njit(nogil=True, boundscheck=False)
def _count_passing(mask: np.ndarray, passes: np.ndarray, present: np.ndarray) -> int:
    """How many papers' masks pass (``passes`` per mask), marking each mask seen in ``present``."""
    count = 0
    for i in range(mask.shape[0]):
        m = mask[i]
        count += passes[m]
        present[m] = 1
    return count


@numba.njit(nogil=True, boundscheck=False)
def _band(scores: np.ndarray, mask: np.ndarray, bound: np.ndarray, low: np.float32, out: np.ndarray) -> int:
    """Positions (ascending, into ``out``) of the papers holding a term whose partial score plus
    their mask's bound reaches ``low``; returns how many there are (only the first len(out) are
    written)."""
    n = 0
    for i in range(scores.shape[0]):
        if scores[i] + bound[mask[i]] >= low:  # bound[0] is -inf: papers holding no term never are
            if n < out.shape[0]:
                out[n] = i
            n += 1
    return n


@numba.njit(nogil=True, boundscheck=False)
def _reach(scores: np.ndarray, mask: np.ndarray, bound: np.ndarray, low: np.float32, out: np.ndarray) -> tuple[int, int]:
    """(papers whose partial score already reaches ``low``, papers that may reach it with their
    common terms' parts); the latter's positions go to ``out`` (as far as it holds them)."""
    sure = 0
    n = 0
    for i in range(scores.shape[0]):
        s = scores[i]
        if s >= low:
            sure += 1
        else:
            if s + bound[mask[i]] >= low:
                if n < out.shape[0]:
                    out[n] = i
                n += 1
    return sure, n


def compile_kernels() -> None:
    """Compile this module's loops now (gunicorn's master, before it forks; keyword.compile_kernels)."""
    for writable in (False, True):
        docs, tfs, lengths = np.zeros(1, dtype=np.int32), np.ones(1, dtype=np.float32), np.ones(1, dtype=np.int32)
        for values in (docs, tfs, lengths):
            values.setflags(write=writable)
        scores, mask, one = np.zeros(1, dtype=np.float32), np.zeros(1, dtype=np.uint16), np.float32(1)
        _add_scores_bit(scores, mask, docs, tfs, lengths, one, one, one, one, one, np.uint16(1))
        _set_bit(mask, docs, np.uint16(1))
    scores, mask = np.zeros(1, dtype=np.float32), np.zeros(1, dtype=np.uint16)
    _count_passing(mask, np.zeros(2, dtype=np.uint8), np.zeros(2, dtype=np.uint8))
    _band(scores, mask, np.zeros(2, dtype=np.float32), np.float32(1), np.zeros(1, dtype=np.int64))
    _reach(scores, mask, np.zeros(2, dtype=np.float32), np.float32(1), np.zeros(1, dtype=np.int64))


class Evidence:
    """BM25 and coverage of one analysed query over one keyword index (see the module docstring).

    Positions are the index's (aligned with ``index.ids``); pks are paper ids.
    """

    def __init__(self, index: KeywordIndex, terms: list[str], *, coverage: bool = True) -> None:
        """``coverage``: whether the coverage will be asked for (when the query is scored in full,
        as before, it is then computed beside the scores; otherwise it comes at no cost)."""
        self.index = index
        size = len(index.ids)
        plan, total = index.plan(terms) if index.live and terms else ([], 0.0)
        self._plan = plan
        self._total = np.float32(total)
        self.complete = True
        self._mask: np.ndarray | None = None
        postings = sum(df for *_, df in plan)
        cutoff = COMMON_SHARE * index.live
        # The plan runs rarest first, so the common terms are its tail; the rarest term is always
        # scored, so that the top k has a bound to start from.
        first_common = next((j for j, (*_, df) in enumerate(plan) if df >= cutoff), len(plan))
        first_common = max(first_common, 1)
        if postings < MIN_POSTINGS or len(plan) > MAX_TERMS or first_common >= len(plan):
            self.scores, self._coverage = index.evidence(terms) if coverage else (index.scores(terms), np.zeros(0, dtype=np.float32))
            return
        self.complete = False
        self._first_common = first_common
        k1, base, b, average = index._length_norm
        self.scores = np.zeros(size, dtype=np.float32)
        mask = np.zeros(size, dtype=np.uint16)
        for j, (term, repeats, idf, _) in enumerate(plan):
            bit, weight = np.uint16(1 << j), np.float32(repeats * idf)
            for offset, segment, start, end in index._postings(term):
                docs, window = segment.docs[start:end], slice(offset, offset + len(segment))
                if j < first_common:
                    _add_scores_bit(self.scores[window], mask[window], docs, segment.tfs[start:end], segment.lengths,
                                    k1, base, b, average, weight, bit)
                else:
                    _set_bit(mask[window], docs, bit)
        if len(index._removed):
            self.scores[index._removed] = 0
            mask[index._removed] = 0
        self._mask = mask
        # Per mask: its coverage (float32 sums in plan order, as KeywordIndex adds them) and the
        # most its common terms can add to a score (each part is below the term's weight).
        masks = np.arange(1 << len(plan), dtype=np.int64)
        shares = np.zeros(len(masks), dtype=np.float32)
        for j, (_, _, idf, _) in enumerate(plan):
            shares[(masks >> j) & 1 == 1] += np.float32(idf)
        self._shares = shares / self._total if total > 0 else shares
        self._set_bounds()

    def _set_bounds(self) -> None:
        """Per mask, the most the common terms not scored yet can add to a score (each part is
        below the term's weight), widened by _MARGIN; -inf for papers holding no term."""
        masks = np.arange(1 << len(self._plan), dtype=np.int64)
        bound = np.zeros(len(masks), dtype=np.float64)
        for j in range(self._first_common, len(self._plan)):
            _, repeats, idf, _ = self._plan[j]
            bound[(masks >> j) & 1 == 1] += float(np.float32(repeats * idf))
        self._bound = (bound * (1 + _MARGIN[0]) + _MARGIN[1]).astype(np.float32)
        self._bound[0] = -np.inf

    def _unscored_weight(self) -> float:
        return sum(float(np.float32(repeats * idf)) for _, repeats, idf, _ in self._plan[self._first_common :])

    def _score_next_common(self) -> None:
        """Score the rarest common term not scored yet in full (its bit stays in the masks)."""
        index = self.index
        term, repeats, idf, _ = self._plan[self._first_common]
        k1, base, b, average = index._length_norm
        weight = np.float32(repeats * idf)
        for offset, segment, start, end in index._postings(term):
            _add_scores(self.scores[offset : offset + len(segment)], segment.docs[start:end], segment.tfs[start:end],
                        segment.lengths, k1, base, b, average, weight)
        if len(index._removed):
            self.scores[index._removed] = 0
        self._first_common += 1

    # --- whole arrays, when the shortcut does not pay ------------------------------------------

    def _complete(self) -> None:
        """Score the common terms in full too: ``scores`` and the coverage become whole arrays."""
        if self.complete or self._mask is None:
            return
        while self._first_common < len(self._plan):
            self._score_next_common()
        self._coverage = self._shares[self._mask]
        self._mask = None
        self.complete = True

    # --- exact values at given papers ------------------------------------------------------------

    def exact(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(BM25 scores, coverage) of the papers at ``positions`` (ascending, distinct)."""
        if self.complete or self._mask is None:
            coverage = self._coverage[positions] if len(self._coverage) else np.zeros(len(positions), dtype=np.float32)
            return self.scores[positions], coverage
        scores = self.scores[positions]
        held = self._mask[positions]
        for j in range(self._first_common, len(self._plan)):
            term, repeats, idf, _ = self._plan[j]
            which = np.flatnonzero(held & (1 << j))  # the papers holding it (the rest need no search)
            if len(which):
                parts = scores[which]
                self.index.add_parts(parts, positions[which], term, np.float32(repeats * idf))
                scores[which] = parts
        return scores, self._shares[held]

    def _exact_for(self, pks: list[int], *, coverage: bool) -> dict[int, float]:
        if not pks:
            return {}
        if not len(self.index.ids):
            return dict.fromkeys(pks, 0.0)
        positions, found = self.index.positions(pks)
        unique, inverse = np.unique(positions[found], return_inverse=True)
        values = self.exact(unique)[1 if coverage else 0][inverse]
        result = np.zeros(len(pks), dtype=np.float32)
        result[found] = values
        return dict(zip(pks, result.tolist(), strict=True))

    def scores_at(self, pks: list[int]) -> dict[int, float]:
        """Exact BM25 scores of the given papers (0.0 for a paper not in this build)."""
        return self._exact_for(pks, coverage=False)

    def coverage_at(self, pks: list[int]) -> dict[int, float]:
        """The given papers' shares of the query's idf weight (0.0 for a paper not in this build)."""
        return self._exact_for(pks, coverage=True)

    # --- the top k ---------------------------------------------------------------------------------

    def top(self, k: int, *, subset: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (pk, score) with a positive score, best first, ties by id; ``subset`` restricts
        to those pks. The same list as ``KeywordIndex.top`` over the whole scores."""
        index = self.index
        if self.complete or self._mask is None or not len(index.ids):
            return index.top(self.scores, k, subset=subset)
        if subset is not None:
            positions, found = index.positions(subset)
            candidates = np.unique(positions[found])
            candidates = candidates[self._mask[candidates] != 0]
            if len(candidates) > BAND_MAX:
                self._complete()
                return index.top(self.scores, k, subset=subset)
            scores = self.exact(candidates)[0]
            keep = scores > 0
            return best_of(np.asarray(index.ids[candidates[keep]]), scores[keep], k)
        # Partial scores only grow, so the k-th best partial score is at most the k-th best
        # exact one: every paper of the top k has a bound at least that.
        partial = index.top(self.scores, k)
        if len(partial) < k:
            self._complete()
            return index.top(self.scores, k)
        # While the common terms not scored yet could add more than PROMOTE_SHARE of that score,
        # the band of papers they could lift into the top k is wide: score the rarest of them in
        # full (the k-th best partial score found before stays a valid lower bound).
        low = np.float32(partial[-1][1])
        promoted = self._first_common
        while self._first_common < len(self._plan) and self._unscored_weight() > PROMOTE_SHARE * float(low):
            self._score_next_common()
        if self._first_common == len(self._plan):
            self._complete()
            return index.top(self.scores, k)
        if self._first_common != promoted:
            self._set_bounds()
        band = np.empty(BAND_MAX, dtype=np.int64)
        count = _band(self.scores, self._mask, self._bound, low, band)
        if count > BAND_MAX:
            self._complete()
            return index.top(self.scores, k)
        band = band[:count]
        bounds = self.scores[band] + self._bound[self._mask[band]]
        order = np.argsort(-bounds, kind="stable")
        scored: list[np.ndarray] = []
        exact_scores: list[np.ndarray] = []
        kth = -np.inf
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            if bounds[batch[0]] < kth:  # no paper left can reach the k-th best found
                break
            chosen = np.sort(band[batch])
            scored.append(chosen)
            exact_scores.append(self.exact(chosen)[0])
            found = np.concatenate(exact_scores)
            if len(found) >= k:
                kth = float(np.partition(found, len(found) - k)[len(found) - k])
        chosen, values = np.concatenate(scored), np.concatenate(exact_scores)
        keep = values > 0
        return best_of(np.asarray(index.ids[chosen[keep]]), values[keep], k)

    # --- the relevance floor's counts --------------------------------------------------------------

    def passing(self, floor: float, inside: np.ndarray | None = None) -> tuple[int, float]:
        """(how many papers hold at least ``floor`` of the query's idf weight, the largest share
        any paper holds); ``inside``: a mask over positions the count is limited to."""
        if self.complete or self._mask is None:
            passing = self._coverage >= floor
            if inside is not None:
                passing &= inside
            best = float(self._coverage.max()) if len(self._coverage) else 0.0
            return int(np.count_nonzero(passing)), best
        passes = (self._shares >= floor).astype(np.uint8)
        present = np.zeros(len(self._shares), dtype=np.uint8)
        if inside is None:
            count = _count_passing(self._mask, passes, present)
        else:
            count = int(np.count_nonzero(passes[self._mask] & inside))
            _count_passing(self._mask, passes, present)
        return int(count), float(self._shares[present == 1].max()) if present.any() else 0.0

    def passing_positions(self, floor: float, inside: np.ndarray | None = None) -> np.ndarray:
        """Positions (ascending) of the papers ``passing`` counts."""
        passing = self._coverage >= floor if self.complete or self._mask is None else (self._shares >= floor)[self._mask]
        if inside is not None:
            passing &= inside
        return np.flatnonzero(passing)

    def at_least(self, score: float) -> int:
        """How many papers score ``score`` or more (``score`` > 0)."""
        low = np.float32(score)
        if self.complete or self._mask is None:
            return int(np.count_nonzero(self.scores >= low))
        out = np.empty(BAND_MAX, dtype=np.int64)
        sure, count = _reach(self.scores, self._mask, self._bound, low, out)
        if count > BAND_MAX:
            self._complete()
            return int(np.count_nonzero(self.scores >= low))
        return int(sure) + int(np.count_nonzero(self.exact(out[:count])[0] >= low))
