"""A request reads one index build: the ranking, its explanations and everything around them.

A build published while a request runs (the builder is another process) must not mix into that
request's answer: the ranking, the BM25 scores and idf behind the explanations, navigation,
spelling and suggestions all come from the build the request took when it started. The next
request serves the new build. Real model, real builds of the Hugging Face listing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from papers.models import Paper
from search import embedder, queries
from search.index_store import LoadedIndex, current_index, reader
from search.keyword import analyze
from search.queries import related_papers, semantic_search, similar_to_text
from search.services import embeddings_update, index_build

QUERY = "training reward models from human preference feedback"
NEW_TITLE = "Reward models trained on human preference feedback"
NEW_ABSTRACT = (
    "We train reward models on human preference feedback. Reward models trained on preference "
    "feedback from humans generalise to new prompts."
)


@pytest.fixture
def build_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every time anything asks the index reader for the build it serves, its build id."""
    seen: list[str] = []
    real_get = reader.get

    def counted() -> LoadedIndex | None:
        loaded = real_get()
        seen.append(loaded.build_id if loaded is not None else "")
        return loaded

    monkeypatch.setattr(reader, "get", counted)
    yield seen


@pytest.mark.django_db
@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(lambda: semantic_search(query=QUERY), id="search"),
        pytest.param(lambda: semantic_search(query=QUERY, mode="dense", sort="newest"), id="dense-newest"),
        pytest.param(lambda: semantic_search(query="Aligning the behavior of Large language models"), id="named"),
        pytest.param(lambda: semantic_search(query="rewrd modles from humn feedbak"), id="misspelt"),
        pytest.param(lambda: semantic_search(query="qzxvkw jrpftl"), id="nothing-found"),
        pytest.param(lambda: semantic_search(query="cat:cs.CL"), id="prefix-listing"),
        pytest.param(lambda: similar_to_text(text=NEW_ABSTRACT), id="similar"),
        pytest.param(lambda: related_papers(paper=Paper.objects.order_by("pk")[0]), id="related"),
    ],
)
def test_each_request_asks_for_the_served_build_exactly_once(
    listing_index: list[int], build_reads: list[str], request_: Callable[[], Any]
) -> None:
    request_()
    assert len(build_reads) == 1, build_reads


@pytest.fixture
def unbuilt_paper(listing_index: list[int]) -> Paper:
    """A paper that matches QUERY best of all, embedded but in no build yet."""
    paper = Paper.objects.create(title=NEW_TITLE, abstract=NEW_ABSTRACT)
    embeddings_update(paper_ids=[paper.pk])
    return paper


def _publish_a_new_build_during(monkeypatch: pytest.MonkeyPatch, moment: str) -> None:
    """Publish a build (with the unbuilt paper) at ``moment`` of the next search, once."""
    published: list[bool] = []

    def publish() -> None:
        if not published:
            published.append(True)
            index_build()

    if moment == "while the query is embedded":
        real_encode_query = embedder.encode_query

        def encode_then_publish(*args: Any, **kwargs: Any) -> Any:
            vector = real_encode_query(*args, **kwargs)
            publish()
            return vector

        monkeypatch.setattr(embedder, "encode_query", encode_then_publish)
    else:  # between the ranking and its explanations
        real_rank = queries.rank

        def rank_then_publish(**kwargs: Any) -> Any:
            ranked = real_rank(**kwargs)
            publish()
            return ranked

        monkeypatch.setattr(queries, "rank", rank_then_publish)


@pytest.mark.django_db
@pytest.mark.parametrize("moment", ["while the query is embedded", "between the ranking and its explanations"])
def test_a_build_published_during_a_search_does_not_mix_into_its_ranking_or_explanations(
    unbuilt_paper: Paper, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    before = current_index()
    assert before is not None and before.keyword is not None
    _publish_a_new_build_during(monkeypatch, moment)

    # Dense mode: the BM25 scores in the explanations are read from a build's keyword index there.
    page = semantic_search(query=QUERY, mode="dense", page_size=10)

    after = current_index()
    assert after is not None and after.keyword is not None
    assert after.build_id != before.build_id  # the new build really was published mid-request
    shown = [hit.paper.pk for hit in page.hits]
    assert len(shown) == 10
    # Ranked in the build the request started with, which does not hold the new paper.
    assert unbuilt_paper.pk not in shown
    assert unbuilt_paper.pk not in before.vectors.ids() and unbuilt_paper.pk in after.vectors.ids()
    # Explained from that same build: its BM25 scores, not the new build's (a paper added to
    # the collection changes every term's idf).
    terms = analyze(QUERY)
    old_scores = before.keyword.scores_for(terms, shown)
    new_scores = after.keyword.scores_for(terms, shown)
    assert any(abs(old_scores[pk] - new_scores[pk]) > 1e-6 for pk in shown)
    for hit in page.hits:
        assert hit.explanation is not None and hit.explanation.keyword is not None
        assert hit.explanation.keyword == pytest.approx(old_scores[hit.paper.pk], abs=1e-6)

    # The next request serves the new build.
    assert semantic_search(query=QUERY, mode="dense", page_size=10).hits[0].paper.pk == unbuilt_paper.pk
