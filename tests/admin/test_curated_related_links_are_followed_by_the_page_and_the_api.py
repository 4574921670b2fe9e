"""Pinning and suppressing related papers on a paper's admin page; the paper page and API follow.

Real model and FAISS build of the listing: the unpinned related list is the real ranking.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from papers.models import Paper, RelatedLink
from search.queries import SearchFilters, related_papers
from tests.admin.conftest import change_form_data

TITLE = "Grammar-Aligned Decoding"


@pytest.fixture
def paper(listing_index: list[int]) -> Paper:
    return Paper.objects.get(title=TITLE)


def _api_related(paper: Paper) -> list[int]:
    return [item["id"] for item in Client().get(f"/api/papers/{paper.pk}/related").json()["results"]]


def _save_links(client: Any, paper: Paper, links: list[tuple[str, Paper, int]]) -> Any:
    url = reverse("admin:papers_paper_change", args=[paper.pk])
    data = change_form_data(client.get(url))
    prefix = "related_links"
    start = int(data[f"{prefix}-INITIAL_FORMS"])
    for offset, (kind, related, position) in enumerate(links):
        n = start + offset
        data.update({f"{prefix}-{n}-kind": kind, f"{prefix}-{n}-related": related.pk, f"{prefix}-{n}-position": position})
    data[f"{prefix}-TOTAL_FORMS"] = start + len(links)
    return client.post(url, data)


def test_pins_come_first_in_the_curators_order_and_suppressed_papers_never_appear(admin_client: Any, paper: Paper) -> None:
    ranked = [h.paper for h in related_papers(paper=paper)]
    suppressed = ranked[0]  # the closest paper, which a curator judges wrong
    unrelated = [p for p in Paper.objects.exclude(pk=paper.pk).order_by("pk") if p not in ranked][:2]
    response = _save_links(admin_client, paper, [("pin", unrelated[1], 1), ("pin", unrelated[0], 2), ("suppress", suppressed, 0)])
    assert response.status_code == 302, response.content.decode()[:2000]
    assert RelatedLink.objects.filter(paper=paper).count() == 3

    hits = related_papers(paper=paper)
    assert [h.paper.pk for h in hits[:2]] == [unrelated[1].pk, unrelated[0].pk]
    assert suppressed.pk not in [h.paper.pk for h in hits]
    assert len(hits) == 10 and [h.rank for h in hits] == list(range(1, 11))
    assert hits[0].explanation and hits[0].explanation.summary == "Pinned by a curator"
    assert hits[2].paper.pk == ranked[1].pk  # then the real ranking, minus the suppressed paper
    # The API and the paper page follow the same list.
    assert _api_related(paper)[:3] == [unrelated[1].pk, unrelated[0].pk, ranked[1].pk]
    assert suppressed.pk not in _api_related(paper)
    page = Client().get(reverse("paper_detail", args=[paper.pk])).content.decode()
    related_part = page[page.index('id="related'):]
    assert related_part.index(unrelated[1].title[:40]) < related_part.index(unrelated[0].title[:40]) < related_part.index(ranked[1].title[:40])
    assert suppressed.title[:60] not in related_part
    entry = LogEntry.objects.get(object_id=str(paper.pk))
    assert "curated related link" in entry.get_change_message()


def test_a_hidden_pin_is_not_shown_and_filters_apply_to_pins(paper_factory: Any, paper: Paper) -> None:
    hidden_pin = Paper.objects.exclude(pk=paper.pk).order_by("pk")[0]
    old_pin = Paper.objects.exclude(pk__in=[paper.pk, hidden_pin.pk]).order_by("pk")[0]
    RelatedLink.objects.create(paper=paper, related=hidden_pin, kind="pin", position=0)
    RelatedLink.objects.create(paper=paper, related=old_pin, kind="pin", position=1)
    Paper.objects.filter(pk=hidden_pin.pk).update(hidden=True)
    assert [h.paper.pk for h in related_papers(paper=paper)][:1] == [old_pin.pk]
    Paper.objects.filter(pk=old_pin.pk).update(published="1999-01-01")
    assert old_pin.pk not in [h.paper.pk for h in related_papers(paper=paper, filters=SearchFilters(year_from=2020))]


def test_pins_show_even_before_the_paper_is_embedded(paper_factory: Any, paper: Paper) -> None:
    fresh = paper_factory(title="A paper without a vector yet")
    RelatedLink.objects.create(paper=fresh, related=paper, kind="pin")
    assert [h.paper.pk for h in related_papers(paper=fresh)] == [paper.pk]


def test_a_paper_cannot_be_pinned_to_itself(admin_client: Any, paper: Paper) -> None:
    response = _save_links(admin_client, paper, [("pin", paper, 0)])
    assert response.status_code == 200
    assert "cannot be related to itself" in response.content.decode()
    assert not RelatedLink.objects.exists()


def test_the_same_paper_cannot_be_linked_twice(admin_client: Any, paper: Paper) -> None:
    other = Paper.objects.exclude(pk=paper.pk).first()
    response = _save_links(admin_client, paper, [("pin", other, 0), ("suppress", other, 1)])
    assert response.status_code == 200 and not RelatedLink.objects.exists()


def test_without_the_related_link_permissions_the_inline_is_read_only(staff_client: Any, paper: Paper) -> None:
    other = Paper.objects.exclude(pk=paper.pk).first()
    client = staff_client("papers.view_paper", "papers.change_paper")
    page = client.get(reverse("admin:papers_paper_change", args=[paper.pk]))
    assert "related_links-TOTAL_FORMS" not in page.content.decode()
    data = change_form_data(page)
    data.update({"related_links-TOTAL_FORMS": 1, "related_links-INITIAL_FORMS": 0,
                 "related_links-0-kind": "pin", "related_links-0-related": other.pk, "related_links-0-position": 0})
    client.post(reverse("admin:papers_paper_change", args=[paper.pk]), data)
    assert not RelatedLink.objects.exists()
    curator = staff_client("papers.view_paper", "papers.change_paper", "papers.add_relatedlink", "papers.view_relatedlink")
    assert _save_links(curator, paper, [("pin", other, 0)]).status_code == 302
    assert RelatedLink.objects.filter(paper=paper, related=other, kind="pin").exists()


def test_the_related_links_list_refuses_a_self_link_and_a_repeat_with_a_message(admin_client: Any, paper: Paper) -> None:
    other = Paper.objects.exclude(pk=paper.pk).first()
    add = reverse("admin:papers_relatedlink_add")
    response = admin_client.post(add, {"paper": paper.pk, "related": paper.pk, "kind": "pin", "position": 0})
    assert response.status_code == 200 and "A paper cannot be related to itself." in response.content.decode()
    assert admin_client.post(add, {"paper": paper.pk, "related": other.pk, "kind": "pin", "position": 0}).status_code == 302
    response = admin_client.post(add, {"paper": paper.pk, "related": other.pk, "kind": "suppress", "position": 0})
    assert response.status_code == 200 and "already has a curated link" in response.content.decode()
    assert RelatedLink.objects.count() == 1
