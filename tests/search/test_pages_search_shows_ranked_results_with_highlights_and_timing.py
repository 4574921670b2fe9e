"""The search page: ranked results, highlighted matches, a one-line why, count and time."""

from __future__ import annotations

import re

import pytest
from django.test import Client

QUERY = "reward models for aligning language models with human preferences"


@pytest.mark.django_db
def test_it_lists_ranked_results_with_why_they_matched_and_the_time_taken(client: Client, reader_collection: dict[str, int]) -> None:
    response = client.get("/search", {"q": QUERY})

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r"<strong>\d+</strong> results? · page 1 of \d+ · \d+ ms", html)
    assert html.count('<article class="result">') == 10
    assert "<mark>" in html  # the matched query words are highlighted
    assert html.count('class="why"') == 10
    assert 'name="q"' in html and f'value="{QUERY}"' in html


@pytest.mark.django_db
def test_the_results_link_to_their_papers_and_a_second_page(client: Client, reader_collection: dict[str, int]) -> None:
    html = client.get("/search", {"q": QUERY}).content.decode()

    first_link = re.search(r'class="result-title"><a href="(/papers/\d+/)"', html)
    assert first_link and client.get(first_link.group(1)).status_code == 200
    next_page = re.search(r'<a rel="next" href="([^"]+)"', html)
    assert next_page is not None
    page_two = client.get("/search" + next_page.group(1).replace("&amp;", "&")).content.decode()
    assert 'start="11"' in page_two and "page 2 of" in page_two


@pytest.mark.django_db
def test_an_htmx_request_gets_only_the_results_fragment(client: Client, reader_collection: dict[str, int]) -> None:
    full = client.get("/search", {"q": QUERY}).content.decode()
    fragment = client.get("/search", {"q": QUERY}, headers={"HX-Request": "true"}).content.decode()

    assert "<html" in full and '<form id="search-form"' in full and 'method="get"' in full
    assert "<html" not in fragment and '<form id="search-form"' not in fragment
    assert fragment.count('<article class="result">') == 10
    assert 'hx-swap-oob="innerHTML"' in fragment  # the screen-reader status line follows along
