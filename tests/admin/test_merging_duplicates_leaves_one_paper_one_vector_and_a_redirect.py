"""Merging two duplicates from the review queue: one paper, one vector, a redirect, one hit.

Real model and FAISS: the listing is indexed, then a second, shorter version of one of its
papers is imported, embedded and indexed, so search shows the paper twice before the merge.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from papers.models import DuplicateCandidate, Paper, RelatedLink
from papers.duplicates import duplicates_find
from papers.services import papers_import
from search.models import PaperEmbedding
from search.queries import semantic_search
from search.services import embeddings_update, index_build

TITLE = "Grammar-Aligned Decoding"
QUERY = "grammar-aligned decoding with adaptive sampling"


@pytest.fixture
def duplicates(listing_index: list[int], tmp_path: Any) -> tuple[Paper, Paper]:
    original = Paper.objects.get(title=TITLE)
    short_abstract = original.abstract.split(". ")[0] + "."
    upload = tmp_path / "v1.jsonl"
    upload.write_text(json.dumps({
        "title": "Grammar-aligned decoding.", "abstract": short_abstract, "arxiv_id": "2405.21047v1",
        "authors": ["Kanghee Park", "Loris D'Antoni"], "categories": ["cs.AI", "cs.FL"], "doi": "10.48550/arXiv.2405.21047",
    }) + "\n")
    # A different normalised title would have been merged by the import itself; this one
    # differs by punctuation only, so make the import see it as new (an older listing did).
    Paper.objects.filter(pk=original.pk).update(normalized_title="grammar aligned decoding (listing)")
    assert papers_import(source=upload, embed=False).created == 1
    Paper.objects.filter(pk=original.pk).update(normalized_title="grammar aligned decoding")
    copy = Paper.objects.get(arxiv_id="2405.21047")
    embeddings_update(paper_ids=[copy.pk])
    index_build()
    return original, copy


def _titles(page: Any) -> list[str]:
    return [hit.paper.title for hit in page.hits]


def test_merging_from_the_queue_leaves_one_paper_one_vector_a_redirect_and_one_search_hit(
    admin_client: Any, duplicates: tuple[Paper, Paper], django_capture_on_commit_callbacks: Any
) -> None:
    original, copy = duplicates
    assert sorted(_titles(semantic_search(query=QUERY))[:2]) == sorted([original.title, copy.title])  # twice before
    assert duplicates_find().total >= 1
    candidate = DuplicateCandidate.objects.get(paper_a=original, paper_b=copy)
    assert candidate.reason == "title"

    merge_url = reverse("admin:papers_paper_merge", args=[original.pk, copy.pk])
    page = admin_client.get(merge_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "near-identical title" in html and f'value="{original.pk}" checked' in html  # the older record suggested
    assert Paper.objects.visible().filter(pk__in=[original.pk, copy.pk]).count() == 2  # a GET merges nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(merge_url, {"keep": original.pk})
    assert response.status_code == 302 and response["Location"] == reverse("admin:papers_duplicatecandidate_changelist")

    kept, dropped = Paper.objects.get(pk=original.pk), Paper.objects.get(pk=copy.pk)
    # One paper, with the richer metadata of both.
    assert list(Paper.objects.visible().filter(pk__in=[kept.pk, dropped.pk])) == [kept]
    assert dropped.merged_into_id == kept.pk
    assert kept.abstract == original.abstract  # the longer one
    assert kept.arxiv_id == "2405.21047" and kept.doi == "10.48550/arxiv.2405.21047"
    assert dropped.arxiv_id is None and dropped.doi is None
    assert set(original.authors) | {"Kanghee Park", "Loris D'Antoni"} == set(kept.authors)
    assert {"cs.AI", "cs.FL"} <= set(kept.categories)
    # One vector: the dropped paper's is gone, the kept one is current.
    vectors = PaperEmbedding.objects.filter(paper_id__in=[kept.pk, dropped.pk])
    assert [(v.paper_id, v.content_hash) for v in vectors] == [(kept.pk, kept.content_hash)]
    # A working redirect of the old page, and the old API id says where it went.
    reader = Client()
    old = reader.get(reverse("paper_detail", args=[dropped.pk]))
    assert old.status_code == 301 and old["Location"] == reverse("paper_detail", args=[kept.pk])
    assert reader.get(old["Location"]).status_code == 200
    for path in (f"/api/papers/{dropped.pk}", f"/api/papers/{dropped.pk}/related"):
        answer = reader.get(path)
        assert answer.status_code == 404
        assert answer.json()["detail"] == f"Paper {dropped.pk} was merged into paper {kept.pk}: /api/papers/{kept.pk}."
    # Search shows it once (the commit hook also rebuilt the index without the dropped one).
    titles = _titles(semantic_search(query=QUERY, page_size=20))
    assert titles.count(kept.title) == 1 and dropped.title not in titles
    assert [r["id"] for r in reader.get("/api/search", {"q": QUERY}).json()["results"]].count(kept.pk) == 1
    # The queue and the history say what happened.
    candidate.refresh_from_db()
    assert candidate.status == "merged"
    assert LogEntry.objects.filter(object_id=str(kept.pk), change_message__startswith=f"Merged #{dropped.pk}").exists()
    assert LogEntry.objects.filter(object_id=str(dropped.pk), change_message__startswith="Merged into").exists()


def test_keeping_the_poorer_record_still_takes_the_longer_abstract_and_re_embeds_it(
    admin_client: Any, duplicates: tuple[Paper, Paper], django_capture_on_commit_callbacks: Any
) -> None:
    original, copy = duplicates
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:papers_paper_merge", args=[original.pk, copy.pk]), {"keep": copy.pk})
    kept = Paper.objects.get(pk=copy.pk)
    assert kept.abstract == original.abstract and kept.title == copy.title
    assert PaperEmbedding.objects.get(paper=kept).content_hash == kept.content_hash  # re-embedded
    assert not PaperEmbedding.objects.filter(paper=original).exists()
    redirect = Client().get(reverse("paper_detail", args=[original.pk]))
    assert redirect.status_code == 301 and redirect["Location"] == reverse("paper_detail", args=[kept.pk])


def test_curated_links_and_earlier_merges_move_to_the_kept_paper(paper_factory: Any) -> None:
    from papers.curation import papers_merge

    keep, drop, other, older = paper_factory(), paper_factory(), paper_factory(), paper_factory()
    Paper.objects.filter(pk=older.pk).update(merged_into=drop)
    RelatedLink.objects.create(paper=drop, related=other, kind="pin")
    RelatedLink.objects.create(paper=other, related=drop, kind="suppress")
    RelatedLink.objects.create(paper=drop, related=keep, kind="pin")  # would point at itself
    papers_merge(keep=keep, drop=drop)
    assert Paper.objects.get(pk=older.pk).merged_into_id == keep.pk  # no redirect chains
    assert set(RelatedLink.objects.values_list("paper_id", "related_id", "kind")) == {
        (keep.pk, other.pk, "pin"), (other.pk, keep.pk, "suppress")}


def test_re_importing_a_merged_away_record_updates_the_kept_paper(paper_factory: Any, tmp_path: Any) -> None:
    from papers.curation import papers_merge

    keep = paper_factory(title="Deep residual learning", abstract="Residual nets.", arxiv_id="1512.03385")
    drop = paper_factory(title="Deep residual learning for image recognition", abstract="Short.", doi="10.1109/cvpr.2016.90")
    papers_merge(keep=keep, drop=drop)
    upload = tmp_path / "again.jsonl"
    upload.write_text(json.dumps({"title": "Deep residual learning for image recognition", "abstract": "Short."}) + "\n")
    summary = papers_import(source=upload, embed=False)
    assert summary.created == 0
    assert Paper.objects.visible().count() == 1


def test_merging_needs_the_change_and_delete_permissions(staff_client: Any, paper_factory: Any) -> None:
    a, b = paper_factory(title="Same"), paper_factory(title="Same")
    url = reverse("admin:papers_paper_merge", args=[a.pk, b.pk])
    for perms in [("papers.view_paper",), ("papers.change_paper",), ("papers.delete_paper",)]:
        client = staff_client(*perms)
        assert client.get(url).status_code == 403
        assert client.post(url, {"keep": a.pk}).status_code == 403
    assert Paper.objects.visible().count() == 2
    assert staff_client("papers.change_paper", "papers.delete_paper").post(url, {"keep": a.pk}).status_code == 302
    assert Paper.objects.visible().count() == 1


def test_a_paper_already_merged_cannot_be_merged_again(admin_client: Any, paper_factory: Any) -> None:
    a, b, c = paper_factory(), paper_factory(), paper_factory()
    Paper.objects.filter(pk=b.pk).update(merged_into=c)
    response = admin_client.post(reverse("admin:papers_paper_merge", args=[a.pk, b.pk]), {"keep": a.pk})
    assert response.status_code == 400 and "already merged" in response.content.decode()
    assert Paper.objects.get(pk=a.pk).merged_into_id is None
