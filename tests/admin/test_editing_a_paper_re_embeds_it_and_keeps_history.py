"""Editing a paper in the admin: a new title or abstract is re-embedded; every edit is logged."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from papers.models import Paper, content_hash
from search.models import PaperEmbedding
from search.services import embeddings_update
from tests.admin.conftest import change_form_data


@pytest.fixture
def embedded_paper(paper_factory: Any) -> Paper:
    paper = paper_factory(title="Diffusion models for weather forecasts", abstract="We forecast weather with diffusion.",
                          authors=["Ada Lovelace", "Alan Turing"], categories=["cs.LG", "physics.ao-ph"])
    embeddings_update(paper_ids=[paper.pk])
    return paper


def _edit(client: Any, paper: Paper, capture: Any, **changes: Any) -> Any:
    url = reverse("admin:papers_paper_change", args=[paper.pk])
    data = change_form_data(client.get(url))
    data.update(changes)
    with capture(execute=True):
        return client.post(url, data)


def test_a_new_title_is_re_embedded_after_saving(admin_client: Any, embedded_paper: Paper, django_capture_on_commit_callbacks: Any) -> None:
    response = _edit(admin_client, embedded_paper, django_capture_on_commit_callbacks, title="Diffusion models for precipitation nowcasting")
    assert response.status_code == 302
    paper = Paper.objects.get(pk=embedded_paper.pk)
    assert paper.title == "Diffusion models for precipitation nowcasting"
    assert paper.content_hash == content_hash(paper.title, paper.abstract) != embedded_paper.content_hash
    assert PaperEmbedding.objects.get(paper=paper).content_hash == paper.content_hash
    entry = LogEntry.objects.get(object_id=str(paper.pk))
    assert "Title" in entry.get_change_message()


def test_the_change_page_shows_the_embedding_state_and_any_failure(admin_client: Any, embedded_paper: Paper) -> None:
    from search.models import EmbeddingFailure

    url = reverse("admin:papers_paper_change", args=[embedded_paper.pk])
    assert "all-MiniLM-L6-v2 vector (384 dims) from" in admin_client.get(url).content.decode()
    Paper.objects.filter(pk=embedded_paper.pk).update(title="Changed elsewhere", content_hash="e" * 64)
    EmbeddingFailure.objects.create(paper=embedded_paper, model="all-MiniLM-L6-v2", error="ValueError: bad input", attempts=2)
    page = admin_client.get(url).content.decode()
    assert "stale: the text changed since" in page and "Failed 2 time(s)" in page and "ValueError: bad input" in page
    assert "Merged into" not in page


def test_a_merged_paper_says_where_it_went(admin_client: Any, embedded_paper: Paper, paper_factory: Any) -> None:
    kept = paper_factory()
    Paper.objects.filter(pk=embedded_paper.pk).update(merged_into=kept)
    page = admin_client.get(reverse("admin:papers_paper_change", args=[embedded_paper.pk])).content.decode()
    assert f'Merged into <a href="{reverse("admin:papers_paper_change", args=[kept.pk])}">#{kept.pk}</a>' in page


def test_links_must_be_an_object_of_urls(admin_client: Any, embedded_paper: Paper, django_capture_on_commit_callbacks: Any) -> None:
    response = _edit(admin_client, embedded_paper, django_capture_on_commit_callbacks, links='"just a string"')
    assert response.status_code == 200 and "Links are a JSON object" in response.content.decode()


def test_changing_only_curation_flags_does_not_re_embed(admin_client: Any, embedded_paper: Paper, django_capture_on_commit_callbacks: Any) -> None:
    before = PaperEmbedding.objects.get(paper=embedded_paper).updated
    response = _edit(admin_client, embedded_paper, django_capture_on_commit_callbacks, featured="on")
    assert response.status_code == 302
    assert Paper.objects.get(pk=embedded_paper.pk).featured
    assert PaperEmbedding.objects.get(paper=embedded_paper).updated == before


def test_lists_are_edited_as_text_and_identifiers_are_normalised(admin_client: Any, embedded_paper: Paper, django_capture_on_commit_callbacks: Any) -> None:
    url = reverse("admin:papers_paper_change", args=[embedded_paper.pk])
    page = admin_client.get(url).content.decode()
    assert "Ada Lovelace\nAlan Turing</textarea>" in page and 'value="cs.LG physics.ao-ph"' in page
    response = _edit(admin_client, embedded_paper, django_capture_on_commit_callbacks,
                     authors="Grace Hopper\n\n  Alan   Turing ", categories="cs.LG, stat.ML",
                     arxiv_id="https://arxiv.org/abs/2401.01234v3", doi="https://doi.org/10.1234/ABC")
    assert response.status_code == 302
    paper = Paper.objects.get(pk=embedded_paper.pk)
    assert paper.authors == ["Grace Hopper", "Alan Turing"] and paper.categories == ["cs.LG", "stat.ML"]
    assert (paper.arxiv_id, paper.doi) == ("2401.01234", "10.1234/abc")
    assert paper.author_key == "; grace hopper; alan turing;"


def test_an_invalid_arxiv_id_is_refused_with_a_message(admin_client: Any, embedded_paper: Paper, django_capture_on_commit_callbacks: Any) -> None:
    response = _edit(admin_client, embedded_paper, django_capture_on_commit_callbacks, arxiv_id="not an id")
    assert response.status_code == 200
    assert "Not an arXiv id" in response.content.decode()
    assert Paper.objects.get(pk=embedded_paper.pk).arxiv_id is None


def test_a_curator_with_view_permission_only_cannot_edit(staff_client: Any, embedded_paper: Paper, django_capture_on_commit_callbacks: Any) -> None:
    client = staff_client("papers.view_paper")
    url = reverse("admin:papers_paper_change", args=[embedded_paper.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"title": "Changed"}).status_code == 403
    assert Paper.objects.get(pk=embedded_paper.pk).title == embedded_paper.title
