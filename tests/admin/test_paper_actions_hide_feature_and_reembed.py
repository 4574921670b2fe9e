"""Hide / unhide / feature / unfeature / re-embed from the papers list, logged in the history."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from papers.models import Paper
from search.models import EmbeddingFailure, PaperEmbedding

LIST = reverse("admin:papers_paper_changelist")


def _act(client: Any, action: str, papers: list[Paper]) -> Any:
    return client.post(LIST, {"action": action, "_selected_action": [p.pk for p in papers]}, follow=True)


@pytest.mark.parametrize(
    ("action", "field", "start", "end"),
    [("hide", "hidden", False, True), ("unhide", "hidden", True, False), ("feature", "featured", False, True), ("unfeature", "featured", True, False)],
)
def test_a_toggle_action_changes_the_selected_papers_and_logs_each_change(
    admin_client: Any, paper_factory: Any, action: str, field: str, start: bool, end: bool
) -> None:
    chosen = [paper_factory(**{field: start}), paper_factory(**{field: start})]
    already = paper_factory(**{field: end})
    other = paper_factory(**{field: start})
    response = _act(admin_client, action, [*chosen, already])
    assert response.status_code == 200
    assert "2 paper(s)" in response.content.decode() and "1 already" in response.content.decode()
    assert all(getattr(p, field) is end for p in Paper.objects.filter(pk__in=[c.pk for c in chosen]))
    assert getattr(Paper.objects.get(pk=other.pk), field) is start
    logged = LogEntry.objects.filter(object_id__in=[str(p.pk) for p in chosen + [already]])
    assert sorted(int(e.object_id) for e in logged) == sorted(p.pk for p in chosen)  # only real changes
    assert all(e.user.username == "admin" and e.get_change_message() for e in logged)


@pytest.mark.parametrize("action", ["hide", "unhide", "feature", "unfeature", "reembed"])
def test_a_curator_without_the_change_permission_cannot_run_actions(staff_client: Any, paper_factory: Any, action: str) -> None:
    paper = paper_factory(hidden=action == "unhide", featured=action == "unfeature")
    before = Paper.objects.values().get(pk=paper.pk)
    client = staff_client("papers.view_paper", "papers.delete_paper")  # delete: the action menu shows
    assert f'value="{action}"' not in client.get(LIST).content.decode()
    response = _act(client, action, [paper])
    assert response.status_code == 200
    assert "No action selected" in response.content.decode()
    assert Paper.objects.values().get(pk=paper.pk) == before
    assert not LogEntry.objects.exists()


def test_reembed_embeds_missing_and_failed_papers_after_commit(
    admin_client: Any, paper_factory: Any, django_capture_on_commit_callbacks: Any
) -> None:
    failed, missing = paper_factory(title="Contrastive pretraining of protein language models"), paper_factory()
    EmbeddingFailure.objects.create(paper=failed, model="all-MiniLM-L6-v2", error="RuntimeError: worker died")
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(admin_client, "reembed", [failed, missing])
    assert "2 paper(s) queued for embedding" in response.content.decode()
    stored = {e.paper_id: e.content_hash for e in PaperEmbedding.objects.all()}
    assert stored == {failed.pk: failed.content_hash, missing.pk: missing.content_hash}
    assert not EmbeddingFailure.objects.exists()  # cleared by the successful embedding
    assert LogEntry.objects.filter(object_id=str(failed.pk), change_message__contains="embedding").exists()


def test_merge_action_needs_exactly_two_papers(admin_client: Any, paper_factory: Any) -> None:
    a, b, c = paper_factory(), paper_factory(), paper_factory()
    response = _act(admin_client, "merge_two", [a, b, c])
    assert "Select exactly two papers" in response.content.decode()
    response = admin_client.post(LIST, {"action": "merge_two", "_selected_action": [a.pk, b.pk]})
    assert response.status_code == 302 and response["Location"] == reverse("admin:papers_paper_merge", args=[a.pk, b.pk])
