"""No N+1: list pages and list endpoints make the same few queries whatever the number of results."""

from __future__ import annotations

import pytest
from django.test import Client

QUERY = "reward models for aligning language models with human preferences"
MAX_QUERIES = 8  # a list of 10 to 100 papers; one query per paper would blow far past this


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "params"),
    [
        ("get", "/", {}),
        ("get", "/search", {"q": QUERY}),
        ("get", "/search", {"q": QUERY, "page": 3}),
        ("get", "/search", {"q": QUERY, "sort": "newest", "year_from": 2025, "category": "cs.CL cs.AI"}),
        ("get", "/search/feed.atom", {"q": QUERY}),
        ("get", "/search/feed.rss", {}),
        ("post", "/similar", {"text": QUERY}),
        ("get", "/api/search", {"q": QUERY, "page_size": 100}),
        ("post", "/api/similar", {"text": QUERY, "k": 100}),
    ],
)
def test_a_list_page_makes_a_handful_of_queries(
    client: Client, reader_collection: dict[str, int], django_assert_max_num_queries, method: str, url: str, params: dict[str, object]  # type: ignore[no-untyped-def]
) -> None:
    kwargs = {"content_type": "application/json"} if url.startswith("/api/") and method == "post" else {}
    with django_assert_max_num_queries(MAX_QUERIES):
        response = getattr(client, method)(url, params, **kwargs)
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{}, {"sort": "newest", "year_from": 2025}])
def test_a_paper_page_with_its_related_papers_makes_a_handful_of_queries(
    client: Client, reader_collection: dict[str, int], django_assert_max_num_queries, params: dict[str, object]  # type: ignore[no-untyped-def]
) -> None:
    pk = reader_collection["2602.06795"]
    # +1: a paper's first page view stores its citation key (one guarded UPDATE, papers/bibtex.py).
    with django_assert_max_num_queries(MAX_QUERIES + 1):
        assert client.get(f"/papers/{pk}/", params).status_code == 200
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(f"/api/papers/{pk}/related", {"k": 50}).status_code == 200
