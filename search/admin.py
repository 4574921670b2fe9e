"""The index dashboard, the search app's records, and embedding state on the papers list.

The dashboard (/admin/search/indexbuild/dashboard/, linked from the admin home) shows what a
curator needs to trust the index: papers, embedded, pending, failed (with errors), the build
being served, drift between the database and that build, and the history of builds. Its
buttons ask for a rebuild or for pending papers to be embedded (POST, ``search.add_indexbuild``).

The papers list and page are ``papers.admin.paper.PaperAdmin``; this module registers a
subclass of it that adds what only stored vectors can tell: an embedding column and filter, an
embedding section on each paper's page, and the re-embed action.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from papers.admin.common import log_actions
from papers.admin.filters import CategoryFilter
from papers.admin.paper import RECORD_SECTION, PaperAdmin
from papers.models import Paper
from search import coordination, embedder, index_store
from search.models import EmbeddingFailure, IndexBuild, PaperEmbedding
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
            "eager": coordination.tasks_run_in_process(),
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
        elif coordination.tasks_run_in_process():
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
        verb = "embedded" if coordination.tasks_run_in_process() else "queued for embedding"
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


# --- embedding state on the papers list and page ---------------------------------------------


def with_embedding_state(queryset: QuerySet[Paper]) -> QuerySet[Paper]:
    """Annotate each paper with whether it has a vector, an up-to-date one, and a failure."""
    model = embedder.model_name()
    vectors = PaperEmbedding.objects.filter(paper=OuterRef("pk"), model=model)
    return queryset.annotate(
        has_vector=Exists(vectors),
        vector_current=Exists(vectors.filter(content_hash=OuterRef("content_hash"))),
        has_failure=Exists(EmbeddingFailure.objects.filter(paper=OuterRef("pk"), model=model)),
    )


class EmbeddingStateFilter(admin.SimpleListFilter):
    title = "embedding"
    parameter_name = "embedding"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("current", "up to date"),
            ("stale", "stale (text changed)"),
            ("missing", "missing"),
            ("failed", "failed"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        value = self.value()
        if not value:
            return queryset
        queryset = with_embedding_state(queryset)
        return {
            "current": queryset.filter(Q(vector_current=True)),
            "stale": queryset.filter(Q(has_vector=True, vector_current=False, has_failure=False)),
            "missing": queryset.filter(Q(has_vector=False, has_failure=False)),
            "failed": queryset.filter(Q(has_failure=True, vector_current=False)),
        }.get(value, queryset)


def _inserted(items: Sequence[Any], item: Any, *, before: Any) -> tuple[Any, ...]:
    at = list(items).index(before)
    return (*items[:at], item, *items[at:])


admin.site.unregister(Paper)


@admin.register(Paper)
class PaperWithEmbeddingAdmin(PaperAdmin):
    """The papers admin, plus each paper's embedding state and the re-embed action."""

    list_display = _inserted(PaperAdmin.list_display, "embedding", before="updated")
    list_filter = _inserted(PaperAdmin.list_filter, EmbeddingStateFilter, before=CategoryFilter)
    readonly_fields = _inserted(PaperAdmin.readonly_fields, "embedding_detail", before="content_hash")
    actions = _inserted(PaperAdmin.actions, "reembed", before="merge_two")

    def get_fieldsets(self, request: HttpRequest, obj: Paper | None = None) -> Any:
        """The papers admin's sections, the record section renamed "Embedding" and led by its state."""
        return [
            ("Embedding", {**options, "fields": ("embedding_detail", *options["fields"])}) if name == RECORD_SECTION else (name, options)
            for name, options in super().get_fieldsets(request, obj)
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Paper]:
        return with_embedding_state(super().get_queryset(request))

    @admin.display(description="embedding")
    def embedding(self, paper: Paper) -> str:
        if getattr(paper, "vector_current", False):
            return format_html('<span class="ps-badge ps-ok">{}</span>', "up to date")
        if getattr(paper, "has_failure", False):
            return format_html('<span class="ps-badge ps-bad">{}</span>', "failed")
        if getattr(paper, "has_vector", False):
            return format_html('<span class="ps-badge ps-warn">{}</span>', "stale")
        return format_html('<span class="ps-badge ps-warn">{}</span>', "missing")

    @admin.display(description="embedding state")
    def embedding_detail(self, paper: Paper) -> str:
        if paper.pk is None:
            return "—"
        model = embedder.model_name()
        vector = PaperEmbedding.objects.filter(paper=paper, model=model).values("content_hash", "dim", "updated").first()
        failure = EmbeddingFailure.objects.filter(paper=paper, model=model).values("error", "attempts", "updated").first()
        parts = []
        if vector:
            state = "up to date" if vector["content_hash"] == paper.content_hash else "stale: the text changed since"
            when = vector["updated"].strftime("%Y-%m-%d %H:%M")
            parts.append(format_html("{} vector ({} dims) from {}, {}.", model, vector["dim"], when, state))
        else:
            parts.append(format_html("No {} vector yet.", model))
        if failure:
            parts.append(format_html("<br>Failed {} time(s): <code>{}</code>", failure["attempts"], failure["error"][:500]))
        return format_html("{}", format_html_join("", "{}", ((p,) for p in parts)))

    @admin.action(description="Re-embed selected papers", permissions=["change"])
    def reembed(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        # Papers whose vector already matches their text and model are skipped by the task:
        # the same text through the same model gives the same vector.
        from search.tasks import enqueue_embedding

        papers = list(queryset.only("pk", "title"))
        ids = [p.pk for p in papers]
        if ids:
            transaction.on_commit(lambda: enqueue_embedding(ids))
        log_actions(request, papers, "Queued for embedding (admin action).")
        self.message_user(
            request,
            f"{len(ids)} paper(s) queued for embedding; those whose vector already matches their text are skipped.",
            messages.SUCCESS,
        )
