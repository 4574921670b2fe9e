"""Merging two papers from the admin: the "merge the two selected" action and its comparison page.

``PaperAdmin`` inherits these views; the duplicate queue links each open pair to the same page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from papers.admin.common import log_actions, safe_next
from papers.curation import papers_merge
from papers.models import DuplicateCandidate, Paper


class PaperMergeAdmin(admin.ModelAdmin):
    """The merge action and page of the papers list (the rest of it is ``PaperAdmin``)."""

    @admin.action(description="Merge the two selected papers…", permissions=["change", "delete"])
    def merge_two(self, request: HttpRequest, queryset: QuerySet[Paper]) -> HttpResponse | None:
        ids = sorted(queryset.values_list("pk", flat=True))
        if len(ids) != 2:
            self.message_user(request, "Select exactly two papers to merge.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:papers_paper_merge", args=ids))

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("merge/<int:a>/<int:b>/", view(self.merge_view), name="papers_paper_merge"),
            *super().get_urls(),
        ]

    def merge_view(self, request: HttpRequest, a: int, b: int) -> HttpResponse:
        if not (self.has_change_permission(request) and self.has_delete_permission(request)):
            raise PermissionDenied("Merging needs the change and delete paper permissions.")
        first, second = get_object_or_404(Paper, pk=a), get_object_or_404(Paper, pk=b)
        if first.pk == second.pk:
            raise PermissionDenied("A paper cannot be merged with itself.")
        lo, hi = sorted((first.pk, second.pk))
        candidate = DuplicateCandidate.objects.filter(paper_a_id=lo, paper_b_id=hi).first()
        fallback = reverse("admin:papers_duplicatecandidate_changelist") if candidate else reverse("admin:papers_paper_changelist")
        next_url = safe_next(request, fallback)
        error = ""
        if first.merged_into_id or second.merged_into_id:
            error = "One of these papers was already merged; there is nothing left to merge."
        if request.method == "POST" and not error:
            keep_id = request.POST.get("keep", "")
            if keep_id not in (str(first.pk), str(second.pk)):
                error = "Choose which paper to keep."
            else:
                keep, drop = (first, second) if keep_id == str(first.pk) else (second, first)
                result = papers_merge(keep=keep, drop=drop, by=request.user.get_username())
                changed = ", ".join(result.changed_fields) or "nothing"
                self.log_change(request, result.kept, f"Merged #{drop.pk} into this paper (took: {changed}).")
                self.log_change(request, result.dropped, f"Merged into #{keep.pk}; its page redirects there.")
                if candidate:
                    log_actions(request, [candidate], f"Merged: kept #{keep.pk}.")
                left = f" Conflicting ids left on #{drop.pk}: {', '.join(result.ids_left_on_dropped)}." if result.ids_left_on_dropped else ""
                self.message_user(request, f"Merged #{drop.pk} into #{keep.pk} “{keep.title[:80]}”.{left}", messages.SUCCESS)
                return HttpResponseRedirect(next_url)
        suggested = _suggested_keep(first, second)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Merge duplicate papers",
            "papers": [first, second],
            "rows": _comparison_rows(first, second),
            "suggested": suggested.pk,
            "candidate": candidate,
            "can_dismiss": candidate is not None
            and candidate.status == DuplicateCandidate.Status.OPEN
            and request.user.has_perm("papers.change_duplicatecandidate"),
            "error": error,
            "next": next_url,
        }
        return TemplateResponse(request, "admin/papers/paper/merge_confirmation.html", context, status=400 if error and request.method == "POST" else 200)


def _suggested_keep(first: Paper, second: Paper) -> Paper:
    """The older record: its URL has been shared longest (the merge takes the best of both anyway)."""
    return min((first, second), key=lambda paper: paper.pk)


def _comparison_rows(first: Paper, second: Paper) -> list[tuple[str, str, str]]:
    def show(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(map(str, value)) or "—"
        if isinstance(value, dict):
            return ", ".join(f"{k}: {v}" for k, v in value.items()) or "—"
        return str(value) if value not in (None, "") else "—"

    fields = [("title", "Title"), ("authors", "Authors"), ("categories", "Categories"), ("published", "Published"),
              ("arxiv_id", "arXiv id"), ("doi", "DOI"), ("links", "Links"), ("hidden", "Hidden"), ("featured", "Featured")]
    rows = [(label, show(getattr(first, name)), show(getattr(second, name))) for name, label in fields]
    rows.append(("Abstract", f"{len(first.abstract):,} characters", f"{len(second.abstract):,} characters"))
    return rows
