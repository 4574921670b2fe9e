"""Invalid input to the API is a 4xx with a readable "detail", never a 5xx."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 422, "q: Field required"),
        ({"q": ""}, 422, "q: String should have at least 1 character"),
        ({"q": "   "}, 400, "q must contain some text"),
        ({"q": "x" * 20_001}, 422, "q: String should have at most 20000 characters"),
        ({"q": "a", "page_size": 101}, 422, "page_size: Input should be less than or equal to 100"),
        ({"q": "a", "page": 0}, 422, "page: Input should be greater than or equal to 1"),
        ({"q": "a", "page": "two"}, 422, "page: Input should be a valid integer"),
        ({"q": "a", "mode": "psychic"}, 422, "mode: Input should be 'hybrid', 'dense' or 'keyword'"),
        ({"q": "a", "weight": 1.5}, 422, "weight: Input should be less than or equal to 1"),
        ({"q": "a", "sort": "random"}, 422, "sort: Input should be 'relevance' or 'newest'"),
        ({"q": "a", "year_from": 1200}, 422, "year_from: Input should be greater than or equal to 1900"),
        ({"q": "a", "year_from": 2026, "year_to": 2020}, 400, "year_from (2026) is after year_to (2020)"),
        ({"q": "a", "author": "n" * 201}, 422, "author: String should have at most 200 characters"),
    ],
)
def test_search_says_what_is_wrong(client: Client, listing_index: list[int], params: dict[str, object], status: int, message: str) -> None:
    response = client.get("/api/search", params)

    assert response.status_code == status
    assert message in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "Give exactly one of text or arxiv_id"),
        ({"text": "a", "arxiv_id": "2401.00001"}, 400, "Give exactly one of text or arxiv_id"),
        ({"arxiv_id": "not-an-id"}, 400, "is not an arXiv id or arXiv URL"),
        ({"arxiv_id": "2401.99999"}, 404, "arXiv:2401.99999 is not in this collection"),
        ({"text": "x" * 20_001}, 422, "text: String should have at most 20000 characters"),
        ({"text": "a", "k": 101}, 422, "k: Input should be less than or equal to 100"),
    ],
)
def test_similar_says_what_is_wrong(client: Client, listing_index: list[int], body: dict[str, object], status: int, message: str) -> None:
    response = client.post("/api/similar", body, content_type="application/json")

    assert response.status_code == status
    assert message in response.json()["detail"]


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_a_4xx(client: Client, listing_index: list[int]) -> None:
    response = client.post("/api/similar", "text=abc", content_type="application/json")

    assert 400 <= response.status_code < 500
    assert response.json()["detail"]


@pytest.mark.django_db
def test_related_says_what_is_wrong(client: Client, listing_index: list[int]) -> None:
    pk = listing_index[0]

    assert client.get(f"/api/papers/{pk}/related", {"k": 1000}).status_code == 422
    assert "k: Input should be less than or equal to 100" in client.get(f"/api/papers/{pk}/related", {"k": 1000}).json()["detail"]
    assert client.get(f"/api/papers/{pk}/related", {"sort": "oldest"}).status_code == 422
    assert client.get("/api/papers/999999").json() == {"detail": "No paper with id 999999."}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/nothing", "/api/papers/1/unknown", "/api/search/extra"])
def test_an_unknown_api_path_is_a_json_404(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"].startswith(f"No API endpoint at {path}")
