"""With no query, or no results, the search page says what to do next."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_an_empty_search_page_offers_examples_and_the_similar_page(client: Client, listing_index: list[int]) -> None:
    html = client.get("/search").content.decode()

    assert "Search by meaning" in html
    assert 'href="?q=reward+models+trained+from+language+feedback"' in html
    assert 'href="/similar"' in html


@pytest.mark.django_db
def test_filters_that_match_nothing_offer_to_search_without_them(client: Client, reader_collection: dict[str, int]) -> None:
    html = client.get("/search", {"q": "reward models", "author": "Nobody Atall"}).content.decode()

    assert "No papers matched <strong>reward models</strong> with these filters" in html
    assert 'href="/search?q=reward%20models">Search again without filters' in html


@pytest.mark.django_db
def test_a_page_past_the_end_links_back_to_the_first(client: Client, reader_collection: dict[str, int]) -> None:
    html = client.get("/search", {"q": "reward models", "author": "Kate Sanders", "page": 5}).content.decode()

    assert "fewer than page 5 needs" in html


@pytest.mark.django_db
def test_before_the_index_is_built_the_page_says_so(client: Client, paper_factory) -> None:  # type: ignore[no-untyped-def]
    paper_factory(title="Attention is all you need")

    response = client.get("/search", {"q": "attention"})

    # Never "no results" with a 200 while there is no index: a 503 that says why and when to retry.
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "The search index has not been built yet" in response.content.decode()
