"""The index dashboard: counts, failures, the current build, drift, history, and a rebuild button."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from papers.models import Paper
from search.index_store import current_build_id
from search.models import EmbeddingFailure, IndexBuild

DASHBOARD = reverse("admin:search_indexbuild_dashboard")
REBUILD = reverse("admin:search_indexbuild_rebuild")
EMBED_PENDING = reverse("admin:search_indexbuild_embed_pending")


def _text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def test_it_is_linked_from_the_admin_home(admin_client: Any) -> None:
    assert f'href="{DASHBOARD}"' in admin_client.get(reverse("admin:index")).content.decode()


def test_before_any_build_it_says_so(admin_client: Any, paper_factory: Any) -> None:
    paper_factory()
    page = _text(admin_client.get(DASHBOARD))
    assert "No index has been published yet" in page and "no index build has been published" in page


def test_it_shows_counts_the_current_build_and_no_drift_when_in_step(admin_client: Any, listing_index: list[int]) -> None:
    response = admin_client.get(DASHBOARD)
    assert response.status_code == 200
    page = _text(response)
    build = IndexBuild.objects.get(build_id=current_build_id())
    assert '<div class="ps-num">61</div><div class="ps-label">papers</div>' in page
    assert '<div class="ps-num">61</div><div class="ps-label">embedded</div>' in page
    assert '<div class="ps-num">0</div><div class="ps-label">pending</div>' in page
    assert '<div class="ps-num">0</div><div class="ps-label">failed</div>' in page
    assert f"<code>{build.build_id}</code>" in page and "all-MiniLM-L6-v2" in page and "61 × 384 dims" in page
    assert "None: the index holds exactly the visible papers" in page
    assert "serving</span>" in page  # the build history marks the served build


def test_drift_pending_and_failures_show_up_with_their_papers(admin_client: Any, listing_index: list[int], paper_factory: Any) -> None:
    hidden, edited = Paper.objects.order_by("pk")[:2]
    Paper.objects.filter(pk=hidden.pk).update(hidden=True)
    Paper.objects.filter(pk=edited.pk).update(content_hash="f" * 64)
    failed = paper_factory(title="A paper the model choked on")
    EmbeddingFailure.objects.create(paper=failed, model="all-MiniLM-L6-v2", error="RuntimeError: CUDA out of memory", attempts=3)
    page = _text(admin_client.get(DASHBOARD))
    assert '<div class="ps-num">2</div><div class="ps-label">pending</div>' in page  # edited + failed
    assert '<div class="ps-num">1</div><div class="ps-label">failed</div>' in page
    assert "RuntimeError: CUDA out of memory" in page and "A paper the model choked on" in page
    assert "1</strong> visible paper not in the index" in page  # the new one
    assert "1</strong> paper indexed from an older title or abstract" in page
    assert f"1</strong> paper in the index but hidden, merged or deleted since (e.g. #{hidden.pk})" in page


def test_the_rebuild_button_publishes_a_new_build_that_ends_the_drift(admin_client: Any, listing_index: list[int]) -> None:
    before = current_build_id()
    Paper.objects.filter(pk=listing_index[0]).update(hidden=True)
    assert "in the index but hidden" in _text(admin_client.get(DASHBOARD))
    response = admin_client.post(REBUILD, follow=True)
    after = current_build_id()
    assert after != before
    page = _text(response)
    assert f"Published index build {after} with 60 papers." in page
    assert "None: the index holds exactly the visible papers" in page
    assert IndexBuild.objects.get(build_id=after).count == 60
    from django.contrib.admin.models import LogEntry

    assert LogEntry.objects.get(object_repr=after).change_message == "Built from the index dashboard."


def test_the_embed_button_embeds_pending_papers(admin_client: Any, paper_factory: Any) -> None:
    paper_factory(title="Waiting for its vector")
    response = admin_client.post(EMBED_PENDING, follow=True)
    assert "1 pending paper(s) embedded." in _text(response)
    assert '<div class="ps-num">0</div><div class="ps-label">pending</div>' in _text(response)


def test_buttons_answer_only_to_post(admin_client: Any) -> None:
    assert admin_client.get(REBUILD).status_code == 405
    assert admin_client.get(EMBED_PENDING).status_code == 405


def test_viewing_needs_the_view_permission_and_rebuilding_the_add_permission(staff_client: Any, listing_index: list[int]) -> None:
    assert staff_client().get(DASHBOARD).status_code == 403
    viewer = staff_client("search.view_indexbuild")
    page = viewer.get(DASHBOARD)
    assert page.status_code == 200 and "Rebuild the index now" not in page.content.decode()
    before = current_build_id()
    assert viewer.post(REBUILD).status_code == 403
    assert viewer.post(EMBED_PENDING).status_code == 403
    assert current_build_id() == before
    builder = staff_client("search.view_indexbuild", "search.add_indexbuild")
    assert "Rebuild the index now" in builder.get(DASHBOARD).content.decode()
    assert builder.post(REBUILD).status_code == 302 and current_build_id() != before


def test_build_history_and_failures_are_read_only_lists(admin_client: Any, listing_index: list[int]) -> None:
    history = admin_client.get(reverse("admin:search_indexbuild_changelist"))
    assert history.status_code == 200 and current_build_id() in history.content.decode()
    assert f'href="{DASHBOARD}"' in history.content.decode()
    build = IndexBuild.objects.first()
    assert admin_client.post(reverse("admin:search_indexbuild_delete", args=[build.pk]), {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:search_embeddingfailure_changelist")).status_code == 200
