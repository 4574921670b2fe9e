"""Every hit carries its dense and keyword contributions, highlights, best sentence and summary."""

from __future__ import annotations

import re

import pytest

from search.explain import sentences
from search.keyword import analyze
from search.queries import semantic_search


@pytest.mark.django_db
def test_every_hit_explains_itself(listing_index: list[int]) -> None:
    query = "language models that know when their answers are wrong"
    result = semantic_search(query=query, page_size=10)
    assert len(result.hits) == 10
    for hit in result.hits:
        why = hit.explanation
        assert why is not None
        assert why.dense is not None and -1.0 <= why.dense <= 1.0
        assert why.keyword is not None and why.keyword >= 0.0
        assert why.dense_part is not None and why.keyword_part is not None
        assert abs(why.dense_part + why.keyword_part - hit.score) < 1e-6
        assert why.best_sentence in sentences(hit.paper.abstract)
        assert why.summary and "\n" not in why.summary
        assert set(why.matched_terms) <= set(query.lower().split())
        marked = re.findall(r"<mark>(.*?)</mark>", why.title_html + why.abstract_html)
        # Exactly the matched words are marked (in whatever inflection the paper uses).
        assert {analyze(m)[0] for m in marked} == {analyze(w)[0] for w in why.matched_terms}
    top = result.hits[0]
    assert top.paper.title.startswith("Language Models (Mostly) Know What They Know")


@pytest.mark.django_db
def test_dense_and_keyword_modes_still_report_both_sides_they_can(listing_index: list[int]) -> None:
    # No paper of the listing is about black holes: without the relevance floor the closest still rank.
    dense = semantic_search(query="black hole mergers", mode="dense", floor=False).hits[0].explanation
    keyword = semantic_search(query="black hole mergers", mode="keyword", floor=False).hits[0].explanation
    assert dense is not None and dense.dense is not None and dense.keyword is not None
    assert keyword is not None and keyword.keyword is not None and keyword.keyword > 0
    assert keyword.dense is None  # keyword mode never embeds the query
    assert keyword.best_sentence


@pytest.mark.django_db
def test_the_best_sentence_is_the_closest_one_even_without_a_shared_word(paper_factory) -> None:  # type: ignore[no-untyped-def]
    from search.services import embeddings_update, index_build

    paper = paper_factory(
        title="A field study",
        abstract="We measured rainfall across the Andes for ten years. The vaccine protected infants "
        "from malaria in every village. Costs were reported in local currency.",
    )
    embeddings_update(paper_ids=[paper.pk])
    index_build()
    paraphrase = semantic_search(query="immunisation shields babies against a mosquito-borne parasite").hits[0]
    assert paraphrase.explanation is not None and paraphrase.explanation.matched_terms == []
    assert paraphrase.explanation.best_sentence.startswith("The vaccine protected infants")
    lexical = semantic_search(query="how much rainfall").hits[0]
    assert lexical.explanation is not None
    assert lexical.explanation.best_sentence.startswith("We measured rainfall")
