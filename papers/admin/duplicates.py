"""The duplicate review queue: open pairs, a scan button, dismissing pairs for good."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from papers.admin.common import log_actions, safe_next
from papers.duplicates import duplicate_dismiss
from papers.models import DuplicateCandidate


class DuplicateStatusFilter(admin.SimpleListFilter):
    """Open pairs by default: the queue is what is left to decide."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("open", "open"), ("dismissed", "dismissed"), ("merged", "merged"), ("all", "all")]

    def choices(self, changelist: Any) -> Any:
        value = self.value() or "open"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[DuplicateCandidate]) -> QuerySet[DuplicateCandidate]:
        value = self.value() or "open"
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(admin.ModelAdmin):
    list_display = ("pair", "reason", "detail", "score_shown", "status", "review")
    list_filter = (DuplicateStatusFilter, "reason")
    list_select_related = ("paper_a", "paper_b")
    search_fields = ("paper_a__title", "paper_b__title")
    actions = ("dismiss",)
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # pairs come from scans, not by hand ("Find duplicates" needs the add permission)

    def get_readonly_fields(self, request: HttpRequest, obj: DuplicateCandidate | None = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    @admin.display(description="pair")
    def pair(self, candidate: DuplicateCandidate) -> str:
        return format_html(
            '<a href="{}">#{}</a> {}<br><a href="{}">#{}</a> {}',
            reverse("admin:papers_paper_change", args=[candidate.paper_a_id]), candidate.paper_a_id, candidate.paper_a.title[:100],
            reverse("admin:papers_paper_change", args=[candidate.paper_b_id]), candidate.paper_b_id, candidate.paper_b.title[:100],
        )

    @admin.display(description="score", ordering="score")
    def score_shown(self, candidate: DuplicateCandidate) -> str:
        return f"{candidate.score:.3f}"

    @admin.display(description="")
    def review(self, candidate: DuplicateCandidate) -> str:
        if candidate.status != DuplicateCandidate.Status.OPEN:
            return "—"
        merge = reverse("admin:papers_paper_merge", args=[candidate.paper_a_id, candidate.paper_b_id])
        dismiss = reverse("admin:papers_duplicatecandidate_dismiss", args=[candidate.pk])
        return format_html('<a href="{}"><strong>Compare&nbsp;&amp;&nbsp;merge…</strong></a><br><a href="{}">Dismiss…</a>', merge, dismiss)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("scan/", view(self.scan_view), name="papers_duplicatecandidate_scan"),
            path("<int:pk>/dismiss/", view(self.dismiss_view), name="papers_duplicatecandidate_dismiss"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {
            "title": "Duplicate review queue",
            "can_scan": request.user.has_perm("papers.add_duplicatecandidate"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        candidate = self.get_object(request, object_id)
        if candidate is not None and self.has_view_or_change_permission(request, candidate):
            # The pair's own page is the comparison page.
            return HttpResponseRedirect(reverse("admin:papers_paper_merge", args=[candidate.paper_a_id, candidate.paper_b_id]))
        return super().change_view(request, object_id, form_url, extra_context)

    def scan_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("papers.add_duplicatecandidate"):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:papers_duplicatecandidate_changelist"))
        from papers.tasks import duplicates_scan

        result = duplicates_scan.delay()
        if settings.CELERY_TASK_ALWAYS_EAGER:
            found = result.get()
            self.message_user(request, f"Scan finished: {found['proposed']} new candidate pair(s), {found['known']} already known.", messages.SUCCESS)
        else:
            self.message_user(request, "Scan queued; new pairs appear here when it finishes.", messages.INFO)
        return HttpResponseRedirect(reverse("admin:papers_duplicatecandidate_changelist"))

    def dismiss_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        candidate = get_object_or_404(DuplicateCandidate.objects.select_related("paper_a", "paper_b"), pk=pk)
        if not self.has_change_permission(request, candidate):
            raise PermissionDenied
        next_url = safe_next(request, reverse("admin:papers_duplicatecandidate_changelist"))
        if request.method == "POST":
            self._dismiss(request, [candidate])
            return HttpResponseRedirect(next_url)
        return self._confirm_dismiss(request, [candidate], next_url=next_url)

    @admin.action(description="Dismiss selected pairs (never proposed again)…", permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[DuplicateCandidate]) -> HttpResponse | None:
        pairs = list(queryset.filter(status=DuplicateCandidate.Status.OPEN).select_related("paper_a", "paper_b"))
        if request.POST.get("confirmed") == "yes":
            self._dismiss(request, pairs)
            return None
        return self._confirm_dismiss(request, pairs, action=True)

    def _dismiss(self, request: HttpRequest, pairs: list[DuplicateCandidate]) -> None:
        count = duplicate_dismiss(candidates=pairs, user=request.user)
        log_actions(request, pairs, "Dismissed: not duplicates (never proposed again).")
        self.message_user(request, f"{count} pair(s) dismissed for good.", messages.SUCCESS)

    def _confirm_dismiss(self, request: HttpRequest, pairs: list[DuplicateCandidate], *, action: bool = False, next_url: str = "") -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Dismiss duplicate pairs",
            "pairs": pairs,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "next": next_url,
        }
        return TemplateResponse(request, "admin/papers/duplicatecandidate/dismiss_confirmation.html", context)
