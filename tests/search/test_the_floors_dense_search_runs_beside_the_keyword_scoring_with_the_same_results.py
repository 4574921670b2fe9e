"""The relevance floor's dense search runs on a helper thread while the keyword side scores its
postings, and a search's answer is the same with the overlap on or off.

FAISS and the compiled BM25 loops release the GIL, so one request uses a second core where one is
idle (docs/scale.md, "Run 10"). The proof of overlap does not time anything: the dense search
waits until the keyword scoring has started, which can only happen if both run at once (one
after the other it would wait in vain and fail). Real model, the Hugging Face listing's build.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from search import queries
from search.index_store import current_index
from search.keyword import KeywordIndex
from search.queries import semantic_search

QUERIES = (
    "reward models for aligning language models with human preferences",
    "process reward models for test-time compute",
    "zzqxj flurbleglorp",  # nothing passes the floor
    "diffusion year:2024",  # a filter: the dense search runs within its subset
)


def _answer(query: str) -> tuple[int, list[tuple[int, float]]]:
    page = semantic_search(query=query, page_size=50)
    return page.total, [(hit.paper.pk, round(hit.score, 6)) for hit in page.hits]


@pytest.mark.django_db
def test_the_dense_search_runs_on_another_thread_while_the_keyword_side_scores(
    monkeypatch: pytest.MonkeyPatch, settings: Any, reader_collection: dict[str, int]
) -> None:
    settings.SEARCH_DENSE_BESIDE_KEYWORD = True
    monkeypatch.setattr(queries, "_ranking_slots", queries._RankingSlots())
    keyword_started = threading.Event()
    dense_threads: list[str] = []
    index = current_index()
    assert index is not None
    real_search = type(index.vectors).search
    real_evidence = KeywordIndex.evidence

    def dense_search_waiting_for_the_keyword_side(self: Any, *args: Any, **kwargs: Any) -> Any:
        dense_threads.append(threading.current_thread().name)
        assert keyword_started.wait(timeout=10), "the keyword side did not start while the dense search ran"
        return real_search(self, *args, **kwargs)

    def evidence_signalling(self: KeywordIndex, terms: list[str], **kwargs: Any) -> Any:
        keyword_started.set()
        return real_evidence(self, terms, **kwargs)

    monkeypatch.setattr(type(index.vectors), "search", dense_search_waiting_for_the_keyword_side)
    monkeypatch.setattr(KeywordIndex, "evidence", evidence_signalling)

    page = semantic_search(query=QUERIES[0])

    assert page.total > 0 and page.hits
    assert dense_threads and dense_threads[0].startswith("dense-search")
    assert threading.current_thread().name not in dense_threads


@pytest.mark.django_db
def test_a_search_answers_the_same_with_the_overlap_on_or_off(settings: Any, reader_collection: dict[str, int]) -> None:
    settings.SEARCH_DENSE_BESIDE_KEYWORD = False
    one_after_the_other = [_answer(q) for q in QUERIES]
    settings.SEARCH_DENSE_BESIDE_KEYWORD = True
    side_by_side = [_answer(q) for q in QUERIES]

    assert side_by_side == one_after_the_other
    assert one_after_the_other[0][0] > 0 and one_after_the_other[2][0] == 0


@pytest.mark.django_db
def test_a_failing_dense_search_fails_the_request_as_it_did_on_one_thread(
    monkeypatch: pytest.MonkeyPatch, settings: Any, reader_collection: dict[str, int]
) -> None:
    settings.SEARCH_DENSE_BESIDE_KEYWORD = True
    index = current_index()
    assert index is not None

    def broken(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the vector index is unreadable")

    monkeypatch.setattr(type(index.vectors), "search", broken)
    with pytest.raises(RuntimeError, match="unreadable"):
        semantic_search(query=QUERIES[0])


@pytest.mark.django_db
def test_a_search_answers_the_same_with_the_keyword_pass_shared_with_the_helper_thread(
    monkeypatch: pytest.MonkeyPatch, settings: Any, reader_collection: dict[str, int]
) -> None:
    from search import keyword

    # Parts of 16 papers, so the listing's build is cut into several that both threads take.
    monkeypatch.setattr(keyword, "SCORE_BLOCK", 16)
    monkeypatch.setattr(keyword, "PART_PAPERS", 16)
    monkeypatch.setattr(queries, "_ranking_slots", queries._RankingSlots())
    calls: list[tuple[bool, int]] = []
    real_run_parts = keyword._run_parts

    def counting(parts: Any, beside: Any) -> None:
        calls.append((beside is not None, len(parts)))
        real_run_parts(parts, beside)

    monkeypatch.setattr(keyword, "_run_parts", counting)
    settings.SEARCH_KEYWORD_BESIDE = False
    alone = [_answer(q) for q in QUERIES]
    assert calls and not any(offered for offered, _ in calls)
    calls.clear()
    settings.SEARCH_KEYWORD_BESIDE = True
    shared = [_answer(q) for q in QUERIES]

    # Every pass was offered to the helper, in several parts where a query word is in the build
    # (none for "zzqxj flurbleglorp").
    assert calls and all(offered for offered, _ in calls)
    assert min(parts for _, parts in calls) == 0 and all(parts > 1 for _, parts in calls if parts)
    assert shared == alone
    assert alone[0][0] > 0
