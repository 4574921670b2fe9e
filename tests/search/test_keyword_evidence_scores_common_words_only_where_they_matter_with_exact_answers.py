"""search/evidence.py scores a query's common words only for the papers that need them (MaxScore
over bit masks of the terms each paper holds), and every answer a ranking reads from it is exactly
what whole arrays of BM25 scores and coverage give: the top k (ties by id, within a filter too),
exact scores and coverage of given papers, the floor's passing count, passing papers and best
coverage, and how many papers reach a score. Over real arXiv abstracts in two segments with removed
papers, for titles and odd queries; with the shortcut in use (and still in use after those answers),
and with its fallback to whole arrays forced."""

from __future__ import annotations

import numpy as np
import pytest

from bench.corpus import SAMPLE_1K, read_papers
from search import evidence
from search.evidence import Evidence
from search.keyword import KeywordIndex, analyze, build_segment, keyword_text


@pytest.fixture(scope="module")
def corpus() -> tuple[KeywordIndex, list[str]]:
    papers = list(read_papers(SAMPLE_1K))
    assert len(papers) >= 900
    texts = [keyword_text(p.title, p.abstract, title_weight=2) for p in papers]
    ids = np.arange(1, len(papers) + 1, dtype=np.int64)
    segments = [build_segment("s-0", ids=ids[:400], texts=texts[:400]), build_segment("s-1", ids=ids[400:], texts=texts[400:])]
    removed = np.isin(ids, ids[::7])  # marked gone, as an incremental build leaves them
    index = KeywordIndex(ids=np.where(removed, -1, ids), segments=segments, k1=1.2, b=0.75)
    queries = [
        "graph neural networks for molecules", "language model language model reasoning", "black hole merger",
        "zzqx learning", "the", "deep learning model data", "a study of the results using the proposed method",
        *[p.title for p in papers[::40]],
    ]
    return index, queries


def _check_equal_to_whole_arrays(index: KeywordIndex, query: str, ks: tuple[int, ...] = (1, 5, 10, 40, 100)) -> tuple[bool, bool]:
    """Checks every answer; returns whether the shortcut was in use before them and after them
    (an answer it cannot give cheaply, e.g. a top k deeper than the rare words reach, scores the
    common words in full)."""
    terms = analyze(query)
    scores, coverage = index.evidence(terms)
    found = Evidence(index, terms)
    shortcut = not found.complete
    pks = [int(pk) for pk in np.arange(1, len(index.ids) + 1)[::9]] + [10**9]  # one not in the build
    assert found.scores_at(pks) == index.scores_at(scores, pks), query
    assert found.coverage_at(pks) == index.scores_at(coverage, pks), query
    for k in ks:
        assert found.top(k) == index.top(scores, k), (query, k)
    subset = np.arange(1, len(index.ids) + 1, 3)
    assert found.top(10, subset=subset) == index.top(scores, 10, subset=subset), query
    inside = np.zeros(len(index.ids), dtype=bool)
    inside[::2] = True
    for floor in (0.2, 0.4):
        assert found.passing(floor) == (int(np.count_nonzero(coverage >= floor)), float(coverage.max())), (query, floor)
        assert found.passing(floor, inside)[0] == int(np.count_nonzero((coverage >= floor) & inside)), (query, floor)
        assert np.array_equal(found.passing_positions(floor), np.flatnonzero(coverage >= floor)), (query, floor)
    for score in np.unique(scores[scores > 0])[::13]:
        assert found.at_least(float(score)) == int(np.count_nonzero(scores >= score)), (query, score)
    every = np.arange(len(index.ids))
    exact_scores, exact_coverage = found.exact(every)
    assert np.array_equal(exact_scores, scores) and np.array_equal(exact_coverage, coverage), query
    return shortcut, not found.complete


def test_the_shortcut_gives_exactly_the_answers_of_whole_arrays_and_is_in_use(corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    index, queries = corpus
    # At 1,000 papers nothing would be worth the shortcut: make words in 5% of papers "common".
    monkeypatch.setattr(evidence, "MIN_POSTINGS", 0)
    monkeypatch.setattr(evidence, "COMMON_SHARE", 0.05)
    used = throughout = 0
    for query in queries:
        shortcut, _ = _check_equal_to_whole_arrays(index, query)
        used += shortcut
        throughout += _check_equal_to_whole_arrays(index, query, ks=(1, 5, 10))[1]
    assert used >= len(queries) - 4  # "the", "zzqx learning" and the like have no common word to skip
    # A page's top 10 and every other answer came without scoring the common words in full.
    assert throughout >= len(queries) // 2
    terms = analyze("deep learning model data")
    found = Evidence(index, terms)
    scores, _ = index.evidence(terms)
    assert not found.complete
    assert np.count_nonzero(found.scores < scores) > 100  # common words' parts were left out of the arrays


def test_without_the_shortcut_or_past_its_limits_the_answers_are_the_same(corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    index, queries = corpus
    monkeypatch.setattr(evidence, "MIN_POSTINGS", 0)
    monkeypatch.setattr(evidence, "COMMON_SHARE", 0.05)
    monkeypatch.setattr(evidence, "BAND_MAX", 3)  # every band overflows: common words scored in full
    monkeypatch.setattr(evidence, "BATCH", 2)
    for query in queries[:8]:
        assert _check_equal_to_whole_arrays(index, query)[1] is False  # the fallback was taken
    monkeypatch.setattr(evidence, "MIN_POSTINGS", 10**9)  # small collections: scored in full at once
    assert _check_equal_to_whole_arrays(index, queries[0]) == (False, False)
