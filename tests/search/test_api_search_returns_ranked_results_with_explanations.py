"""GET /api/search: the documented shape, filters, sort and pages."""

from __future__ import annotations

import pytest
from django.test import Client

QUERY = "reward models for aligning language models with human preferences"


@pytest.mark.django_db
def test_it_returns_the_query_total_page_and_results_with_explanations(client: Client, reader_collection: dict[str, int]) -> None:
    body = client.get("/api/search", {"q": QUERY}).json()

    assert body["query"] == QUERY and body["page"] == 1 and body["page_size"] == 10
    assert body["total"] >= 10 and len(body["results"]) == 10
    first = body["results"][0]
    assert set(first) >= {"id", "title", "authors", "published", "score", "explanation", "url", "rank", "abstract"}
    assert [r["rank"] for r in body["results"]] == list(range(1, 11))
    assert first["explanation"]["summary"]
    assert first["url"] == f"http://testserver/papers/{first['id']}/"


@pytest.mark.django_db
def test_filters_sort_and_pages_work_like_on_the_page(client: Client, reader_collection: dict[str, int]) -> None:
    newest = client.get("/api/search", {"q": QUERY, "year_from": 2025, "sort": "newest", "page_size": 4}).json()
    page_two = client.get("/api/search", {"q": QUERY, "year_from": 2025, "sort": "newest", "page_size": 4, "page": 2}).json()
    by_author = client.get("/api/search", {"q": QUERY, "author": "Kate Sanders"}).json()
    two_categories = client.get("/api/search", {"q": QUERY, "category": "cs.CV, cs.LG"}).json()

    dates = [r["published"] for r in newest["results"] + page_two["results"]]
    # Newest first lists only the papers above the relevance floor (at most the six from 2025 on).
    assert 2 <= newest["total"] <= 6 and len(dates) == newest["total"] and dates == sorted(dates, reverse=True)
    assert [r["id"] for r in by_author["results"]] == [reader_collection["2602.06795"]]
    assert {r["id"] for r in two_categories["results"]} == {reader_collection["2503.19523"], reader_collection["2505.17352"]}


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_each_mode_ranks_the_named_paper_first(client: Client, reader_collection: dict[str, int], mode: str) -> None:
    body = client.get("/api/search", {"q": "GenPRM generative process reward models test-time compute", "mode": mode}).json()

    assert body["results"][0]["id"] == reader_collection["2504.00891"]
