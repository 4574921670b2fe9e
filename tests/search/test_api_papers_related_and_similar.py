"""GET /api/papers/{id}, GET /api/papers/{id}/related and POST /api/similar."""

from __future__ import annotations

import pytest
from django.test import Client

from papers.models import Paper


@pytest.mark.django_db
def test_a_paper_has_its_metadata_links_and_bibtex(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2504.00891"]

    body = client.get(f"/api/papers/{pk}").json()

    assert body["id"] == pk and body["arxiv_id"] == "2504.00891" and body["published"] == "2025-04-02"
    assert body["authors"][:2] == ["Jian Zhao", "Runze Liu"] and body["categories"] == ["cs.CL"]
    assert body["links"] == {"abs": "https://arxiv.org/abs/2504.00891", "pdf": "https://arxiv.org/pdf/2504.00891"}
    assert body["bibtex"].startswith("@misc{zhao2025genprm,")
    assert body["related_url"] == f"http://testserver/api/papers/{pk}/related"


@pytest.mark.django_db
def test_related_papers_have_the_search_item_shape_and_never_the_paper(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2504.00891"]

    body = client.get(f"/api/papers/{pk}/related", {"k": 20}).json()
    search_item = client.get("/api/search", {"q": "process reward"}).json()["results"][0]

    assert body["paper_id"] == pk and len(body["results"]) == 20
    assert set(body["results"][0]) == set(search_item)
    assert pk not in [r["id"] for r in body["results"]]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.django_db
def test_related_papers_can_be_only_newer_and_newest_first(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2503.19523"]

    body = client.get(f"/api/papers/{pk}/related", {"year_from": 2025, "sort": "newest"}).json()

    dates = [r["published"] for r in body["results"]]
    assert len(dates) == 5 and dates == sorted(dates, reverse=True)


@pytest.mark.django_db
def test_similar_to_a_text_puts_its_paper_first(client: Client, reader_collection: dict[str, int]) -> None:
    paper = Paper.objects.get(pk=reader_collection["2606.30116"])

    body = client.post("/api/similar", {"text": paper.abstract, "k": 5}, content_type="application/json").json()

    assert body["source"] == "text" and body["paper_id"] is None
    assert [r["id"] for r in body["results"]][0] == paper.pk and len(body["results"]) == 5


@pytest.mark.django_db
def test_similar_to_an_arxiv_url_is_the_papers_related_list(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2606.30116"]

    body = client.post("/api/similar", {"arxiv_id": "https://arxiv.org/abs/2606.30116v2", "k": 10}, content_type="application/json").json()
    related = client.get(f"/api/papers/{pk}/related", {"k": 10}).json()

    assert body["source"] == "paper" and body["paper_id"] == pk
    assert [r["id"] for r in body["results"]] == [r["id"] for r in related["results"]]


@pytest.mark.django_db
def test_index_status_counts_the_collection(client: Client, reader_collection: dict[str, int]) -> None:
    body = client.get("/api/index/status").json()

    assert body["papers"] == body["visible"] == body["embedded"] == body["indexed"] == 67
    assert body["pending"] == 0 and body["problem"] == "" and body["build_id"]
