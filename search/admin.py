"""The index dashboard and the search app's records in the admin.

The dashboard (/admin/search/indexbuild/dashboard/, linked from the admin home) shows what a
curator needs to trust the index: papers, embedded, pending, failed (with errors), the build
being served, drift between the database and that build, and the history of builds. Its
buttons ask for a rebuild or for pending papers to be embedded (POST, ``search.add_indexbuild``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from papers.models import Paper
from search import embedder, index_store
from search.models import EmbeddingFailure, IndexBuild
from search.selectors import (
    index_drift,
    index_status,
    papers_needing_embedding,
    queued_tasks,
)

DRIFT_SAMPLE = 20  # ids shown for each kind of drift


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
        # What this web process serves (or refused, with the reason verify_index also gives):
        # loaded and checked once per build, so the status below names the same problem.
        index_store.current_index()
        status = index_status()
        drift = index_drift(verify_files=False)  # member lists only: no vector read, no checksums
        manifest: dict[str, Any] = {}
        if status.build_id and not status.problem:
            try:
                manifest = index_store.read_manifest(status.build_id)
            except index_store.IndexRefused:
                pass  # status.problem already says why
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
            "manifest": manifest,
            "current_build": IndexBuild.objects.filter(build_id=status.build_id).first() if status.build_id else None,
            "refused": index_store.reader.refused,
            "model_mismatch": bool(status.build_model and status.build_model != model),
            "drift": drift,
            "drift_total": len(drift.missing) + len(drift.stale) + len(drift.extra),
            "drift_sample": f":{DRIFT_SAMPLE}",
            "queued": queued_tasks(),
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
        request_index_build(full=True)  # a curator's rebuild starts from the database, not the last build
        after = index_store.current_build_id()
        if after and after != before:
            build = IndexBuild.objects.filter(build_id=after).first()
            count = f" with {build.count:,} papers" if build else ""
            if build:
                self.log_addition(request, build, "Built from the index dashboard.")
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
