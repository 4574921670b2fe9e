"""The index dashboard and the search app's records in the admin (issue 6).

The dashboard (/admin/search/indexbuild/dashboard/, linked from the admin home) shows what a
curator needs to trust the index: papers, embedded, pending, failed (with errors), the build
being served, drift between the database and that build, and the history of builds. Its
buttons ask for a rebuild or for pending papers to be embedded (POST, ``search.add_indexbuild``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from papers.models import Paper
from search import embedder, index_store
from search.models import EmbeddingFailure, IndexBuild, PaperEmbedding
from search.selectors import index_status, papers_needing_embedding

DRIFT_SAMPLE = 20  # ids shown per side of the drift


@dataclass
class Drift:
    """Papers the database says should be searchable vs what the served build holds."""

    missing_from_index: int = 0  # visible papers with a current vector, not in the build
    stale_in_index: int = 0  # in the build, but hidden, merged, deleted or unembedded since
    missing_sample: list[int] = field(default_factory=list)
    stale_sample: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.missing_from_index + self.stale_in_index


def _drift(served: index_store.LoadedIndex | None) -> Drift | None:
    if served is None:
        return None
    rows = PaperEmbedding.objects.filter(
        model=embedder.model_name(), paper__hidden=False, paper__merged_into__isnull=True
    ).values_list("paper_id", flat=True)
    expected = np.fromiter(rows.iterator(chunk_size=20_000), dtype=np.int64)
    indexed = np.asarray(served.vectors.ids(), dtype=np.int64)
    missing = np.setdiff1d(expected, indexed, assume_unique=True)
    stale = np.setdiff1d(indexed, expected, assume_unique=True)
    return Drift(
        missing_from_index=int(missing.size),
        stale_in_index=int(stale.size),
        missing_sample=missing[:DRIFT_SAMPLE].tolist(),
        stale_sample=stale[:DRIFT_SAMPLE].tolist(),
    )


@admin.register(IndexBuild)
class IndexBuildAdmin(admin.ModelAdmin):
    """Build history, read-only; the dashboard is this model's extra page."""

    list_display = ("created", "build_id", "status", "model", "count", "dim", "kind", "duration", "error_short")
    list_filter = ("status", "kind", "model")
    search_fields = ("build_id",)
    date_hierarchy = "created"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # builds come from the builder; "add" is the permission to ask for one

    def has_change_permission(self, request: HttpRequest, obj: IndexBuild | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: IndexBuild | None = None) -> bool:
        return False  # a build's files live on disk; its history row is evidence

    @admin.display(description="duration", ordering="duration_s")
    def duration(self, build: IndexBuild) -> str:
        return f"{build.duration_s:.1f} s"

    @admin.display(description="error")
    def error_short(self, build: IndexBuild) -> str:
        return build.error[:120]

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("dashboard/", view(self.dashboard_view), name="search_indexbuild_dashboard"),
            path("rebuild/", view(self.rebuild_view), name="search_indexbuild_rebuild"),
            path("embed-pending/", view(self.embed_pending_view), name="search_indexbuild_embed_pending"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {"dashboard_url": reverse("admin:search_indexbuild_dashboard"), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        status = index_status()
        served = index_store.current_index()
        model = embedder.model_name()
        failures = EmbeddingFailure.objects.filter(model=model).select_related("paper").order_by("-updated")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Index dashboard",
            "status": status,
            "hidden": Paper.objects.filter(hidden=True, merged_into__isnull=True).count(),
            "merged": Paper.objects.filter(merged_into__isnull=False).count(),
            "failed_count": failures.count(),
            "failures": failures[:20],
            "served": served,
            "served_manifest": served.manifest if served else None,
            "refused": index_store.reader.refused,
            "model_mismatch": bool(status.build_model and status.build_model != model),
            "drift": _drift(served),
            "builds": IndexBuild.objects.order_by("-created")[:20],
            "build_count": IndexBuild.objects.count(),
            "can_rebuild": request.user.has_perm("search.add_indexbuild"),
            "eager": settings.CELERY_TASK_ALWAYS_EAGER,
        }
        return TemplateResponse(request, "admin/search/indexbuild/dashboard.html", context)

    def _require_build_permission(self, request: HttpRequest) -> None:
        if not request.user.has_perm("search.add_indexbuild"):
            raise PermissionDenied("Asking for a build needs the “add index build” permission.")

    def rebuild_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require_build_permission(request)
        from search.tasks import request_index_build

        before = index_store.current_build_id()
        request_index_build()
        after = index_store.current_build_id()
        if after and after != before:
            build = IndexBuild.objects.filter(build_id=after).first()
            count = f" with {build.count:,} papers" if build else ""
            self.message_user(request, f"Published index build {after}{count}.", messages.SUCCESS)
        elif settings.CELERY_TASK_ALWAYS_EAGER:
            self.message_user(request, "No new build: another build is running; it includes this request.", messages.WARNING)
        else:
            self.message_user(request, "Index rebuild queued; refresh this page to see it published.", messages.INFO)
        return HttpResponseRedirect(reverse("admin:search_indexbuild_dashboard"))

    def embed_pending_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require_build_permission(request)
        from search.tasks import enqueue_embedding

        ids = papers_needing_embedding()
        enqueue_embedding(ids)
        verb = "embedded" if settings.CELERY_TASK_ALWAYS_EAGER else "queued for embedding"
        self.message_user(request, f"{len(ids):,} pending paper(s) {verb}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:search_indexbuild_dashboard"))


@admin.register(EmbeddingFailure)
class EmbeddingFailureAdmin(admin.ModelAdmin):
    """Papers that could not be embedded, with the last error (cleared when one succeeds)."""

    list_display = ("paper_link", "model", "attempts", "error_short", "updated")
    list_filter = ("model",)
    list_select_related = ("paper",)
    search_fields = ("paper__title", "error")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EmbeddingFailure | None = None) -> bool:
        return False

    @admin.display(description="paper", ordering="paper__title")
    def paper_link(self, failure: EmbeddingFailure) -> str:
        url = reverse("admin:papers_paper_change", args=[failure.paper_id])
        return format_html('<a href="{}">#{} {}</a>', url, failure.paper_id, failure.paper.title[:90])

    @admin.display(description="error")
    def error_short(self, failure: EmbeddingFailure) -> str:
        return failure.error[:160]
