"""The papers list: search, and filters for hidden, featured, embedding state, category, year."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from papers.models import Paper
from search.models import EmbeddingFailure
from search.services import embeddings_update

LIST = reverse("admin:papers_paper_changelist")


def _shown(response: Any) -> set[int]:
    return {p.pk for p in response.context["cl"].result_list}


@pytest.fixture
def collection(paper_factory: Any) -> dict[str, Paper]:
    papers = {
        "current": paper_factory(title="Sparse attention for long documents", categories=["cs.CL"], published=dt.date(2024, 3, 1), arxiv_id="2403.00001"),
        "stale": paper_factory(title="Graph networks for molecules", categories=["cs.LG", "q-bio.BM"], published=dt.date(2023, 5, 2), doi="10.1234/graph"),
        "missing": paper_factory(title="Bayesian optimisation of lasers", categories=["physics.optics"], published=dt.date(2023, 1, 9), authors=["Ada Lovelace"]),
        "failed": paper_factory(title="Failed paper", hidden=True, featured=True),
    }
    embeddings_update(paper_ids=[papers["current"].pk, papers["stale"].pk])
    Paper.objects.filter(pk=papers["stale"].pk).update(content_hash="0" * 64)  # text changed since
    EmbeddingFailure.objects.create(paper=papers["failed"], model="all-MiniLM-L6-v2", error="RuntimeError: out of memory")
    return papers


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("embedding=current", {"current"}),
        ("embedding=stale", {"stale"}),
        ("embedding=missing", {"missing"}),
        ("embedding=failed", {"failed"}),
        ("hidden__exact=1", {"failed"}),
        ("featured__exact=1", {"failed"}),
        ("category=cs.LG", {"stale"}),
        ("category=cs.CL", {"current"}),
        ("year=2023", {"stale", "missing"}),
        ("q=sparse+attention", {"current"}),
        ("q=2403.00001", {"current"}),
        ("q=10.1234/graph", {"stale"}),
        ("q=lovelace", {"missing"}),
        ("merged=no", {"current", "stale", "missing", "failed"}),
    ],
)
def test_each_filter_and_search_shows_exactly_the_matching_papers(admin_client: Any, collection: dict[str, Paper], query: str, expected: set[str]) -> None:
    response = admin_client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert _shown(response) == {collection[name].pk for name in expected}


def test_the_list_shows_each_papers_embedding_state(admin_client: Any, collection: dict[str, Paper]) -> None:
    html = admin_client.get(LIST).content.decode()
    for label in ("up to date", "stale", "missing", "failed"):
        assert f">{label}</span>" in html


def test_the_filter_sidebar_offers_categories_and_years_from_the_collection(admin_client: Any, collection: dict[str, Paper]) -> None:
    html = admin_client.get(LIST).content.decode()
    assert "?category=q-bio.BM" in html and "?year=2024" in html and "?year=2023" in html


def test_the_list_page_costs_a_fixed_number_of_queries(admin_client: Any, paper_factory: Any, django_assert_max_num_queries: Any) -> None:
    for n in range(60):
        paper_factory(categories=["cs.LG"], published=dt.date(2020 + n % 5, 1, 1))
    admin_client.get(LIST)  # warm the session and the category cache
    with django_assert_max_num_queries(14):
        assert admin_client.get(LIST).status_code == 200


def test_staff_without_the_view_permission_cannot_see_the_list(staff_client: Any, collection: dict[str, Paper]) -> None:
    assert staff_client().get(LIST).status_code == 403
    assert staff_client("papers.view_paper").get(LIST).status_code == 200
