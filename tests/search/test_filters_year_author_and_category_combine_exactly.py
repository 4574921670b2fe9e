"""Year range, category and author filters are applied exactly, alone and together."""

from __future__ import annotations

import datetime as dt

import pytest

from search.queries import SearchFilters, semantic_search
from search.services import embeddings_update, index_build


@pytest.fixture
def papers(paper_factory):  # type: ignore[no-untyped-def]
    made = {
        "old_graph": paper_factory(title="Graph neural networks for molecules", abstract="Message passing on molecular graphs.",
                                   published=dt.date(2019, 5, 1), categories=["cs.LG"], authors=["Ada Lovelace"]),
        "new_graph": paper_factory(title="Graph transformers for molecules", abstract="Attention over molecular graphs.",
                                   published=dt.date(2023, 5, 1), categories=["cs.LG", "q-bio.BM"], authors=["Alan Turing"]),
        "new_star": paper_factory(title="Stellar spectra classification", abstract="Classifying spectra of stars.",
                                  published=dt.date(2023, 7, 1), categories=["astro-ph.SR"], authors=["Ada Lovelace"]),
        "undated": paper_factory(title="Graph kernels", abstract="Kernels on molecular graphs.", categories=["cs.LG"],
                                 authors=["Grace Hopper"]),
    }
    embeddings_update(paper_ids=[p.pk for p in made.values()])
    index_build()
    return made


def _found(filters: SearchFilters) -> set[int]:
    # Without the relevance floor every paper is a result, so only the filters decide.
    return {hit.paper.pk for hit in semantic_search(query="molecular graphs", page_size=50, filters=filters, floor=False).hits}


@pytest.mark.django_db
def test_each_filter_keeps_exactly_the_matching_papers(papers) -> None:  # type: ignore[no-untyped-def]
    pk = {name: p.pk for name, p in papers.items()}
    assert _found(SearchFilters(year_from=2020)) == {pk["new_graph"], pk["new_star"]}
    assert _found(SearchFilters(year_to=2020)) == {pk["old_graph"]}
    assert _found(SearchFilters(categories=("q-bio.BM",))) == {pk["new_graph"]}
    assert _found(SearchFilters(categories=("q-bio.BM", "astro-ph.SR"))) == {pk["new_graph"], pk["new_star"]}
    # "cs" is not a category of any paper: categories match whole tokens, not prefixes.
    assert _found(SearchFilters(categories=("cs",))) == set()
    assert _found(SearchFilters(author="ada lovelace")) == {pk["old_graph"], pk["new_star"]}
    assert _found(SearchFilters(author="Ada Lovelace", year_from=2020)) == {pk["new_star"]}


@pytest.mark.django_db
def test_sort_newest_orders_the_matches_by_date(papers) -> None:  # type: ignore[no-untyped-def]
    result = semantic_search(query="molecular graphs", sort="newest", page_size=10, floor=False)
    dates = [hit.paper.published for hit in result.hits]
    dated = [d for d in dates if d is not None]
    assert dated == sorted(dated, reverse=True)
    assert dates[-1] is None  # undated papers come last
    assert {hit.paper.pk for hit in result.hits} == {p.pk for p in papers.values()}
