"""Hybrid search runs the keyword side's pass over the postings in another thread while the
request's thread embeds the query (SEARCH_OVERLAP_KEYWORD, on by default): the ranking, scores,
totals and explanations are exactly those of doing both in one thread, and keyword-only and
dense-only searches are unchanged. Real listing build, real model."""

from __future__ import annotations

import threading

import pytest

from search import queries
from search.queries import semantic_search

QUERIES = ("diffusion models for video generation", "large language model reasoning benchmarks", "zzqxj learning", "robot")


def _answers(query: str, mode: str | None = None) -> tuple[object, ...]:
    found = semantic_search(query=query, page_size=20, **({"mode": mode} if mode else {}))
    return (
        found.total,
        [(h.paper.pk, h.score, h.explanation.dense if h.explanation else None, h.explanation.keyword if h.explanation else None) for h in found.hits],
        [h.explanation.matched_terms if h.explanation else None for h in found.hits],
    )


@pytest.mark.django_db
def test_overlapped_hybrid_search_equals_the_sequential_one(listing_index: list[int], settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    threads: list[str] = []
    real = queries._keyword_evidence

    def recorded(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(queries, "_keyword_evidence", recorded)
    settings.SEARCH_OVERLAP_KEYWORD = False
    sequential = {q: _answers(q) for q in QUERIES}
    assert threads and all(name == threading.current_thread().name for name in threads)
    threads.clear()

    settings.SEARCH_OVERLAP_KEYWORD = True
    overlapped = {q: _answers(q) for q in QUERIES}
    assert len(threads) == len(QUERIES) and all(name.startswith("keyword-side") for name in threads)
    assert overlapped == sequential
    assert any(total for total, _, _ in sequential.values())  # the queries find something


@pytest.mark.django_db
def test_keyword_and_dense_modes_score_in_the_request_thread(listing_index: list[int], settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    settings.SEARCH_OVERLAP_KEYWORD = True
    threads: list[str] = []
    real = queries._keyword_evidence

    def recorded(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(queries, "_keyword_evidence", recorded)
    keyword = _answers("diffusion models", mode="keyword")
    dense = _answers("diffusion models", mode="dense")
    assert threads == [threading.current_thread().name]  # keyword mode only; dense reads no postings
    assert keyword[1] and dense[1]
