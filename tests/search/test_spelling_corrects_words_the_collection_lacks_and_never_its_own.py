"""Typo tolerance: a misspelt word is corrected to a word of the collection, the page says so and
offers the query as typed; a word the collection holds is never "corrected"."""

from __future__ import annotations

import pytest
from django.test import Client

from search.index_store import current_index
from search.queries import semantic_search
from search.spelling import correct


@pytest.mark.django_db
def test_misspelt_words_are_corrected_and_the_page_says_so(client: Client, reader_collection: dict[str, int]) -> None:
    clean = semantic_search(query="generative process reward models")
    typed = semantic_search(query="generativ proces rewrad modles")

    assert typed.correction is not None
    assert typed.correction.corrected.lower() == "generative process reward models"
    assert [h.paper.pk for h in typed.hits[:3]] == [h.paper.pk for h in clean.hits[:3]]

    html = client.get("/search", {"q": "generativ proces rewrad modles"}).content.decode()
    assert "Showing results for" in html and "generative process reward models" in html
    assert "Search instead for" in html and "spell=off" in html
    as_typed = semantic_search(query="generativ proces rewrad modles", correct=False)
    assert as_typed.correction is None


@pytest.mark.django_db
def test_words_of_the_collection_and_short_words_are_left_alone(reader_collection: dict[str, int]) -> None:
    index = current_index()
    assert index is not None
    # "GenPRM" and "preference" are in the collection; "xyz" is too short to guess at.
    assert not correct("GenPRM preference xyz", index.keyword)
    # "preferance" has the index term of "preference" (prefer), so BM25 already matches it: kept.
    found = correct("preferance optimisation", index.keyword)
    assert dict(found.changed) == {"optimisation": "optimization"}


@pytest.mark.django_db
def test_a_correction_never_turns_nonsense_into_results(reader_collection: dict[str, int]) -> None:
    page = semantic_search(query="qwzxkvbn flurbleglorp")

    assert page.total == 0


@pytest.mark.django_db
def test_the_api_says_which_query_it_searched(client: Client, reader_collection: dict[str, int]) -> None:
    corrected = client.get("/api/search", {"q": "generativ proces rewrad modles"}).json()
    exact = client.get("/api/search", {"q": "generative process reward models"}).json()

    assert corrected["corrected_query"].lower() == "generative process reward models"
    assert exact["corrected_query"] is None
    assert [r["id"] for r in corrected["results"][:3]] == [r["id"] for r in exact["results"][:3]]
