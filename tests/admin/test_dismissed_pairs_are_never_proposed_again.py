"""Dismissing a candidate pair (after a confirmation page) removes it from the queue for good."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from papers.models import DuplicateCandidate, Paper
from papers.duplicates import duplicates_find

QUEUE = reverse("admin:papers_duplicatecandidate_changelist")


@pytest.fixture
def candidates(paper_factory: Any, settings: Any) -> list[DuplicateCandidate]:
    settings.DUPLICATE_COSINE_THRESHOLD = 2.0  # above 1: the vector step is off
    for title in ("Deep sets", "Attention is all you need"):
        paper_factory(title=title)
        paper_factory(title=title.upper())
    duplicates_find()
    return list(DuplicateCandidate.objects.order_by("pk"))


def test_dismissing_one_pair_asks_first_then_keeps_it_out_of_every_later_scan(admin_client: Any, candidates: list[DuplicateCandidate]) -> None:
    pair = candidates[0]
    url = reverse("admin:papers_duplicatecandidate_dismiss", args=[pair.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and "no later scan proposes them again" in page.content.decode()
    assert DuplicateCandidate.objects.get(pk=pair.pk).status == "open"  # a GET changes nothing
    response = admin_client.post(url, follow=True)
    assert "1 pair(s) dismissed for good" in response.content.decode()
    pair.refresh_from_db()
    assert pair.status == "dismissed" and pair.decided_by.username == "admin"
    assert [c.pk for c in response.context["cl"].result_list] == [candidates[1].pk]  # open ones only
    assert duplicates_find().total == 0
    assert DuplicateCandidate.objects.filter(status="open").count() == 1
    assert LogEntry.objects.filter(object_id=str(pair.pk), change_message__startswith="Dismissed").exists()
    # Both papers are still there: dismissing decides about the pair, not the papers.
    assert Paper.objects.filter(pk__in=[pair.paper_a_id, pair.paper_b_id]).count() == 2


def test_the_bulk_dismiss_action_shows_a_confirmation_page_first(admin_client: Any, candidates: list[DuplicateCandidate]) -> None:
    selected = {"action": "dismiss", "_selected_action": [c.pk for c in candidates]}
    page = admin_client.post(QUEUE, selected)
    assert page.status_code == 200 and "Dismiss these pairs?" in page.content.decode()
    assert DuplicateCandidate.objects.filter(status="open").count() == 2
    response = admin_client.post(QUEUE, {**selected, "confirmed": "yes"}, follow=True)
    assert "2 pair(s) dismissed for good" in response.content.decode()
    assert set(DuplicateCandidate.objects.values_list("status", flat=True)) == {"dismissed"}
    assert "?status=dismissed" in response.content.decode()
    assert len(admin_client.get(QUEUE, {"status": "dismissed"}).context["cl"].result_list) == 2


def test_dismissing_needs_the_change_permission(staff_client: Any, candidates: list[DuplicateCandidate]) -> None:
    viewer = staff_client("papers.view_duplicatecandidate")
    url = reverse("admin:papers_duplicatecandidate_dismiss", args=[candidates[0].pk])
    assert viewer.get(url).status_code == 403
    assert viewer.post(url).status_code == 403
    viewer.post(QUEUE, {"action": "dismiss", "_selected_action": [candidates[0].pk], "confirmed": "yes"})
    assert set(DuplicateCandidate.objects.values_list("status", flat=True)) == {"open"}
    curator = staff_client("papers.view_duplicatecandidate", "papers.change_duplicatecandidate")
    assert curator.post(url).status_code == 302
    assert DuplicateCandidate.objects.get(pk=candidates[0].pk).status == "dismissed"
