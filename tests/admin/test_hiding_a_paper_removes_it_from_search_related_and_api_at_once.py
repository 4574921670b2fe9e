"""Hiding a paper in the admin takes it out of every reader-facing surface immediately.

Real model, real FAISS build of the 61-paper listing. No commit hook runs and no index is
rebuilt between hiding and looking: search re-checks visibility against the database.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from papers.models import Paper
from search.queries import related_papers, semantic_search

TITLE = "Grammar-Aligned Decoding"


@pytest.fixture
def target(listing_index: list[int]) -> Paper:
    return Paper.objects.get(title__startswith=TITLE)


def _ids(payload: dict[str, Any]) -> list[int]:
    return [item["id"] for item in payload["results"]]


def test_hiding_removes_it_from_search_results_related_lists_pages_and_the_api(admin_client: Any, target: Paper) -> None:
    reader = Client()
    neighbour = related_papers(paper=target)[0].paper
    query = "constrained decoding that follows a grammar"
    # Before: the paper is found everywhere a reader looks.
    assert semantic_search(query=query).hits[0].paper.pk == target.pk
    assert target.pk in [h.paper.pk for h in related_papers(paper=neighbour)]
    assert target.pk in _ids(reader.get("/api/search", {"q": query}).json())
    assert target.pk in _ids(reader.get(f"/api/papers/{neighbour.pk}/related").json())
    assert reader.get(f"/api/papers/{target.pk}").status_code == 200
    assert reader.get(reverse("paper_detail", args=[target.pk])).status_code == 200
    assert target.title in reader.get(reverse("paper_detail", args=[neighbour.pk])).content.decode()

    response = admin_client.post(reverse("admin:papers_paper_changelist"), {"action": "hide", "_selected_action": [target.pk]})
    assert response.status_code == 302

    # After: gone from each of them, without waiting for a rebuild.
    assert target.pk not in [h.paper.pk for h in semantic_search(query=query).hits]
    assert target.pk not in [h.paper.pk for h in related_papers(paper=neighbour)]
    assert target.pk not in _ids(reader.get("/api/search", {"q": query}).json())
    assert target.pk not in _ids(reader.get(f"/api/papers/{neighbour.pk}/related").json())
    assert reader.get(f"/api/papers/{target.pk}").status_code == 404
    assert reader.get(f"/api/papers/{target.pk}/related").status_code == 404
    assert reader.get(reverse("paper_detail", args=[target.pk])).status_code == 404
    assert target.title not in reader.get(reverse("paper_detail", args=[neighbour.pk])).content.decode()
    assert target.title not in reader.get(reverse("search"), {"q": query}).content.decode()


def test_unhiding_brings_it_back(admin_client: Any, target: Paper) -> None:
    changelist = reverse("admin:papers_paper_changelist")
    admin_client.post(changelist, {"action": "hide", "_selected_action": [target.pk]})
    admin_client.post(changelist, {"action": "unhide", "_selected_action": [target.pk]})
    assert semantic_search(query="constrained decoding that follows a grammar").hits[0].paper.pk == target.pk
