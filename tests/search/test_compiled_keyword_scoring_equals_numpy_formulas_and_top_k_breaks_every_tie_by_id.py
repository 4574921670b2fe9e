"""The keyword side's compiled scoring loop (numba, search/keyword.py), which adds every term's
postings a block of papers at a time, gives bit-for-bit the float32 BM25 scores and idf coverage
of the numpy expressions it replaced, over real arXiv abstracts in several segments with removed
papers and repeated query terms, at several block sizes, with length norms per block or per
posting, writing every entry of the arrays it is handed uninitialised, and so do a few
papers' scores read from the posting lists by binary search (``scores_for``); and ``top``, which
partitions only the papers at or above a sampled lower bound, returns exactly the k best of a full
sort, ties at the cut broken by the lowest id."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from bench.corpus import SAMPLE_1K, read_papers
from bench.keyword_scale import numpy_evidence
from search import keyword
from search.keyword import KeywordIndex, analyze, build_segment, keyword_text

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)

# "audit" is held by the second segment only: the other's window is skipped by the loop and zeroed apart.
QUERIES = (
    "graph neural networks for molecules", "language model language model reasoning", "black hole merger", "zzqx learning", "the",
    "audit",
)


def _index() -> KeywordIndex:
    papers = list(read_papers(SAMPLE_1K))
    assert len(papers) >= 900
    texts = [keyword_text(p.title, p.abstract, title_weight=2) for p in papers]
    ids = np.arange(1, len(papers) + 1, dtype=np.int64)
    first = build_segment("s-0", ids=ids[:400], texts=texts[:400])
    second = build_segment("s-1", ids=ids[400:], texts=texts[400:])
    removed = np.isin(ids, ids[::7])  # marked gone, as an incremental build leaves them
    return KeywordIndex(ids=np.where(removed, -1, ids), segments=[first, second], k1=1.2, b=0.75)


@pytest.mark.parametrize("norms_share", [0.0, 1e9], ids=["length norms per block", "length norms per posting"])
@pytest.mark.parametrize("block", [64, 1000, keyword.SCORE_BLOCK])
def test_compiled_scores_and_coverage_equal_the_numpy_formulas_bit_for_bit(
    block: int, norms_share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Blocks smaller than a segment (64, 1000: a paper's terms added block by block), and the
    # production size (one block over these segments); each with the papers' length norms
    # computed a block at a time (dense postings) and per posting (sparse ones).
    monkeypatch.setattr(keyword, "SCORE_BLOCK", block)
    monkeypatch.setattr(keyword, "BLOCK_NORMS_SHARE", norms_share)
    # The loop writes every entry of arrays handed to it uninitialised: NaN-filled here, so an
    # entry it left unwritten would show (a NaN equals nothing).
    monkeypatch.setattr(keyword, "_uninitialised", lambda size: np.full(size, np.nan, dtype=np.float32))
    index = _index()
    assert len(index.removed_positions()) > 100
    for query in QUERIES:
        terms = analyze(query)
        scores, coverage = index.evidence(terms)
        numpy_scores, numpy_coverage = numpy_evidence(index, terms)  # the numpy the loops replaced
        assert np.array_equal(scores, numpy_scores), query
        assert np.array_equal(coverage, numpy_coverage), query
        assert np.array_equal(index.scores(terms), scores) and np.array_equal(index.coverage(terms), coverage)
        # A few papers' scores read by binary search (scores_for) equal the whole pass's, removed
        # papers and papers not in the build included.
        pks = [int(pk) for pk in range(1, len(index.ids) + 1, 3)] + [10**9]
        assert index.scores_for(terms, pks) == index.scores_at(scores, pks), query
    assert (index.evidence(analyze("graph neural networks"))[0] > 0).sum() > 50  # the query matches many papers


@pytest.mark.parametrize("stride", [4, keyword.SAMPLE_STRIDE])
def test_top_k_equals_a_full_sort_with_ties_broken_by_the_lowest_id(stride: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyword, "SAMPLE_STRIDE", stride)
    base = _index()
    # The same papers three times over (ids shifted): every score is tied three ways, so the cut
    # at k always falls inside a tie, and the sampled lower bound is in use (many matches).
    copies = [replace(s, name=f"{s.name}-{n}", ids=np.asarray(s.ids) + 10_000 * n) for n in range(3) for s in base.segments]
    ids = np.concatenate([np.where(np.asarray(base.ids) < 0, -1, np.asarray(base.ids) + 10_000 * n) for n in range(3)])
    index = KeywordIndex(ids=ids, segments=copies, k1=1.2, b=0.75)
    for query in QUERIES:
        scores = index.scores(analyze(query))
        matched = np.flatnonzero(scores > 0)
        order = np.lexsort((index.ids[matched], -scores[matched]))
        expected = list(zip(index.ids[matched][order].tolist(), scores[matched][order].tolist(), strict=True))
        for k in (1, 5, 10, 40, 100, 10_000):
            assert index.top(scores, k) == expected[:k], (query, k)
    # The sampled lower bound was in use (a stride of 4 samples enough matches for k = 40).
    assert KeywordIndex._lower_bound(index.scores(analyze("graph neural networks")), 40 if stride == 4 else 5) is not None


@pytest.mark.parametrize("helper", ["running", "busy"])
def test_a_pass_shared_with_a_helper_thread_gives_the_same_bits_and_never_waits_for_a_helper_that_has_not_started(
    helper: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parts of 128 papers in blocks of 64: each segment is cut into several parts, some ending
    # inside a term's postings, which the next part finds again by binary search.
    monkeypatch.setattr(keyword, "SCORE_BLOCK", 64)
    monkeypatch.setattr(keyword, "PART_PAPERS", 128)
    monkeypatch.setattr(keyword, "_uninitialised", lambda size: np.full(size, np.nan, dtype=np.float32))
    if helper == "running":  # each part takes a millisecond longer, so the helper surely starts while parts are left
        compiled = keyword._add_blocked

        def slowed(*arguments):  # type: ignore[no-untyped-def]
            time.sleep(0.001)
            compiled(*arguments)

        monkeypatch.setattr(keyword, "_add_blocked", slowed)
    index = _index()
    release = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        if helper == "busy":  # its only thread is held: the helper's task never starts, so the caller does every part
            pool.submit(release.wait, 60)
        took: list[str] = []

        def beside(task):  # type: ignore[no-untyped-def]
            def counted() -> None:
                took.append(threading.current_thread().name)
                task()

            return pool.submit(counted)

        try:
            for query in QUERIES:
                terms = analyze(query)
                scores, coverage = index.evidence(terms, beside=beside)
                numpy_scores, numpy_coverage = numpy_evidence(index, terms)
                assert np.array_equal(scores, numpy_scores), query
                assert np.array_equal(coverage, numpy_coverage), query
                assert np.array_equal(index.scores(terms, beside=beside), numpy_scores), query
        finally:
            release.set()
    if helper == "running":
        assert took, "the helper thread never took part"
    else:
        assert not took, "the caller waited for a helper that had not started"
