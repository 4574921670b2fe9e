"""Bad input on the search page and its feeds is a 400 that says what was wrong, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "x" * 20_001}, "at most 20000 characters"),
        ({"q": "attention", "year_from": 2026, "year_to": 2020}, "is after"),
        ({"q": "attention", "year_from": "last year"}, "From year: Enter a whole number"),
        ({"q": "attention", "year_to": 3000}, "less than or equal to 2100"),
        ({"q": "attention", "page": 0}, "greater than or equal to 1"),
        ({"q": "attention", "page": 10_000}, "less than or equal to 100"),
        ({"q": "attention", "mode": "psychic"}, "Select a valid choice"),
        ({"q": "attention", "weight": 2}, "less than or equal to 1"),
        ({"q": "attention", "sort": "random"}, "Select a valid choice"),
        ({"q": "attention", "category": "c" * 201}, "at most 200 characters"),
    ],
)
@pytest.mark.parametrize("url", ["/search", "/search/feed.atom", "/search/feed.rss"])
def test_it_answers_400_with_the_reason(client: Client, listing_index: list[int], url: str, params: dict[str, object], message: str) -> None:
    response = client.get(url, params)

    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.django_db
def test_an_htmx_request_with_bad_input_gets_the_message_in_the_results(client: Client, listing_index: list[int]) -> None:
    response = client.get("/search", {"q": "attention", "year_from": 1200}, headers={"HX-Request": "true"})

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
