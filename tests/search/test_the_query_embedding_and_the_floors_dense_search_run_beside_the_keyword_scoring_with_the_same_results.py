"""The query's embedding and the relevance floor's dense search run on a helper thread while the
keyword side scores its postings, and a search's answer is the same with the overlap on or off.

The encoder, FAISS and the compiled BM25 loops release the GIL, so one request uses a second core
where one is idle (docs/scale.md, "Run 10" and "Run 13"). The proofs of overlap do not time
anything: the embedding (or the dense search) waits until the keyword scoring has started, which
can only happen if both run at once (one after the other it would wait in vain and fail). Real
model, the Hugging Face listing's build.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from search import embedder, queries
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

    def evidence_signalling(self: KeywordIndex, terms: list[str]) -> Any:
        keyword_started.set()
        return real_evidence(self, terms)

    monkeypatch.setattr(type(index.vectors), "search", dense_search_waiting_for_the_keyword_side)
    monkeypatch.setattr(KeywordIndex, "evidence", evidence_signalling)

    page = semantic_search(query=QUERIES[0])

    assert page.total > 0 and page.hits
    assert dense_threads and dense_threads[0].startswith("dense-search")
    assert threading.current_thread().name not in dense_threads


@pytest.mark.django_db
@pytest.mark.parametrize("floor", [True, False], ids=["with the floor", "without the floor (a pasted text)"])
def test_the_query_is_embedded_on_another_thread_while_the_keyword_side_scores(
    monkeypatch: pytest.MonkeyPatch, settings: Any, reader_collection: dict[str, int], floor: bool
) -> None:
    settings.SEARCH_DENSE_BESIDE_KEYWORD = True
    monkeypatch.setattr(queries, "_ranking_slots", queries._RankingSlots())
    keyword_started = threading.Event()
    encoding_threads: list[str] = []
    real_encode = embedder.encode_query
    real_evidence, real_scores = KeywordIndex.evidence, KeywordIndex.scores

    def encode_waiting_for_the_keyword_side(text: str) -> Any:
        encoding_threads.append(threading.current_thread().name)
        assert keyword_started.wait(timeout=10), "the keyword side did not start while the query was embedded"
        return real_encode(text)

    def evidence_signalling(self: KeywordIndex, terms: list[str]) -> Any:
        keyword_started.set()
        return real_evidence(self, terms)

    def scores_signalling(self: KeywordIndex, terms: list[str]) -> Any:
        keyword_started.set()
        return real_scores(self, terms)

    monkeypatch.setattr(embedder, "encode_query", encode_waiting_for_the_keyword_side)
    monkeypatch.setattr(KeywordIndex, "evidence", evidence_signalling)
    monkeypatch.setattr(KeywordIndex, "scores", scores_signalling)

    page = semantic_search(query=QUERIES[0], floor=floor)

    assert page.total > 0 and page.hits
    assert encoding_threads and all(name.startswith("dense-search") for name in encoding_threads)
    # The hits' meaning scores came from the vector made on the helper thread.
    assert all(hit.explanation is not None and hit.explanation.dense is not None for hit in page.hits)


@pytest.mark.django_db
def test_a_failing_query_embedding_fails_the_request_as_it_did_on_one_thread(
    monkeypatch: pytest.MonkeyPatch, settings: Any, reader_collection: dict[str, int]
) -> None:
    settings.SEARCH_DENSE_BESIDE_KEYWORD = True

    def broken(text: str) -> Any:
        raise RuntimeError("the model cannot run")

    monkeypatch.setattr(embedder, "encode_query", broken)
    with pytest.raises(RuntimeError, match="cannot run"):
        semantic_search(query=QUERIES[0])


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
