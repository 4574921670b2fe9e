"""A hidden paper is gone from every page, feed and API answer, even before the index is rebuilt."""

from __future__ import annotations

import pytest
from django.test import Client

from papers.models import Paper
from papers.services import papers_set_hidden

QUERY = "Robust Preference Optimization: Aligning Language Models with Noisy Preference Feedback"


@pytest.fixture
def hidden(reader_collection: dict[str, int]) -> Paper:
    paper = Paper.objects.get(pk=reader_collection["2509.24159"])
    # Still in the index build: the pages must re-check visibility against the database.
    papers_set_hidden(paper_ids=[paper.pk], hidden=True)
    return paper


@pytest.mark.django_db
def test_its_own_pages_are_404(client: Client, hidden: Paper) -> None:
    assert client.get(f"/papers/{hidden.pk}/").status_code == 404
    assert client.get(f"/papers/{hidden.pk}/bibtex.bib").status_code == 404
    assert client.get(f"/api/papers/{hidden.pk}").status_code == 404
    assert client.get(f"/api/papers/{hidden.pk}/related").status_code == 404
    assert client.get("/similar", {"text": "2509.24159"}).status_code == 400
    assert client.post("/api/similar", {"arxiv_id": "2509.24159"}, content_type="application/json").status_code == 404


@pytest.mark.django_db
def test_it_is_in_no_list(client: Client, hidden: Paper, reader_collection: dict[str, int]) -> None:
    link = f'href="/papers/{hidden.pk}/"'
    neighbour = reader_collection["2606.30116"]

    pages = [
        client.get("/").content.decode(),
        client.get("/search", {"q": QUERY}).content.decode(),
        client.get("/search", {"q": QUERY, "sort": "newest"}).content.decode(),
        client.get(f"/papers/{neighbour}/").content.decode(),
        client.post("/similar", {"text": hidden.abstract}).content.decode(),
        client.get("/search/feed.atom", {"q": QUERY}).content.decode(),
        client.get("/search/feed.rss", {"q": QUERY}).content.decode(),
        client.get("/search/feed.atom").content.decode(),
    ]

    for page in pages:
        assert link not in page and f"/papers/{hidden.pk}/<" not in page

    api_ids = [
        [r["id"] for r in client.get("/api/search", {"q": QUERY, "page_size": 100}).json()["results"]],
        [r["id"] for r in client.get(f"/api/papers/{neighbour}/related", {"k": 100}).json()["results"]],
        [r["id"] for r in client.post("/api/similar", {"text": hidden.abstract, "k": 100}, content_type="application/json").json()["results"]],
    ]
    for ids in api_ids:
        assert ids and hidden.pk not in ids
