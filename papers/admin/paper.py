"""The papers list and a paper's page: columns, filters, provenance, curation actions.

Embedding state (a column, a filter, a section of the page, the re-embed action) is the search
app's: ``search.admin`` registers a subclass of ``PaperAdmin`` that adds it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from papers import provenance as prov
from papers.admin.common import log_actions
from papers.admin.filters import CategoryFilter, MergedFilter, YearFilter
from papers.admin.merge import PaperMergeAdmin
from papers.admin.paper_form import PaperForm
from papers.admin.related_links import RelatedLinkInline
from papers.models import Paper
from papers.services import paper_accept_source, paper_save, papers_delete, papers_set_featured, papers_set_hidden


# The last section of a paper's page; search.admin adds the embedding state to it.
RECORD_SECTION = "Record"


@admin.register(Paper)
class PaperAdmin(PaperMergeAdmin):
    form = PaperForm
    list_display = ("title_short", "arxiv_id", "published", "hidden", "featured", "updated")
    list_display_links = ("title_short",)
    list_filter = ("hidden", "featured", CategoryFilter, YearFilter, MergedFilter)
    search_fields = ("title", "=arxiv_id", "=doi", "author_key")
    search_help_text = "Title words, an author, or an exact arXiv id / DOI."
    readonly_fields = ("merged_status", "source_values", "provenance_table", "content_hash", "created", "updated")
    fieldsets = (
        (None, {"fields": ("title", "abstract", "authors", "categories", "published", "revised")}),
        ("Identifiers and links", {"fields": ("arxiv_id", "doi", "journal_ref", "license", "links")}),
        ("Provenance", {"fields": ("provenance_table",), "classes": ("collapse",)}),
        ("Curation", {"fields": ("hidden", "featured")}),
        (RECORD_SECTION, {"fields": ("content_hash", "created", "updated")}),
    )
    inlines = (RelatedLinkInline,)
    list_per_page = 50
    actions = ("hide", "unhide", "feature", "unfeature", "merge_two")

    def get_fieldsets(self, request: HttpRequest, obj: Paper | None = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and prov.pending(obj.provenance or {}):
            # Say it first: a source now disagrees with a curator's value.
            fieldsets = [("The source now says something else", {"fields": ("source_values",)}), *fieldsets]
        if obj is not None and obj.merged_into_id:
            # Say it first: edits to a merged-away paper do not show anywhere.
            fieldsets = [("Merged", {"fields": ("merged_status",)}), *fieldsets]
        return fieldsets

    # columns

    @admin.display(description="title", ordering="title")
    def title_short(self, paper: Paper) -> str:
        return paper.title[:110] + ("…" if len(paper.title) > 110 else "")

    @admin.display(description="merged")
    def merged_status(self, paper: Paper) -> str:
        if not paper.merged_into_id:
            return "—"
        url = reverse("admin:papers_paper_change", args=[paper.merged_into_id])
        return format_html('Merged into <a href="{}">#{}</a>; its page redirects there.', url, paper.merged_into_id)

    @admin.display(description="where each value came from")
    def provenance_table(self, paper: Paper) -> str:
        provenance = paper.provenance or {}
        rows = []
        for name in prov.TRACKED:
            entry = provenance.get(name) or {}
            if entry.get("origin") == "curator":
                note = f" ({entry['note']})" if entry.get("note") else ""
                said = f"curator {entry.get('by', '')}{note}, {entry.get('at', '')}"
            elif entry.get("origin") == "source":
                said = f"{entry.get('source', '')} ({entry.get('record', '')}), {entry.get('at', '')}"
            elif getattr(paper, name) in (None, "", [], {}):
                said = "empty"
            else:
                said = "not recorded (stored before provenance was kept)"
            rows.append((name, said))
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html('<table class="ps-provenance">{}</table>', body)

    @admin.display(description="source now says")
    def source_values(self, paper: Paper) -> str:
        waiting = prov.pending(paper.provenance or {})
        if not waiting or paper.pk is None:
            return "—"
        url = reverse("admin:papers_paper_accept_source", args=[paper.pk])

        def shown(value: Any) -> str:
            return ("\n".join(value) if isinstance(value, list) else str(value or ""))[:2000]

        rows = (
            (name, shown(getattr(paper, name)), says.get("source", ""), says.get("at", ""), shown(says.get("value")), url, name, name)
            for name, says in waiting.items()
        )
        body = format_html_join(
            "",
            '<tr><th>{}</th><td><div class="ps-said">{}</div><small>the curator\'s value, kept</small></td>'
            '<td><small>{} says now ({}):</small><div class="ps-said">{}</div>'
            '<button type="submit" class="button" formaction="{}" formmethod="post" name="accept_field" value="{}">'
            "Accept the source's {}</button></td></tr>",
            rows,
        )
        return format_html('<table class="ps-source-values">{}</table>', body)

    # saving and deleting

    def save_model(self, request: HttpRequest, obj: Paper, form: forms.ModelForm, change: bool) -> None:
        # paper_save compares the content hash: an edited title or abstract is re-embedded;
        # the fields the curator changed become curated (no import writes them again).
        paper_save(paper=obj, changed=form.changed_data, by=request.user.get_username(), added=not change)

    def delete_model(self, request: HttpRequest, obj: Paper) -> None:
        papers_delete(paper_ids=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        papers_delete(paper_ids=list(queryset.values_list("pk", flat=True)))

    # actions

    def _toggle(self, request: HttpRequest, queryset: QuerySet[Paper], field: str, value: bool, verb: str) -> None:
        papers = list(queryset.exclude(**{field: value}).only("pk", "title"))
        ids = [p.pk for p in papers]
        if field == "hidden":
            count = papers_set_hidden(paper_ids=ids, hidden=value)
        else:
            count = papers_set_featured(paper_ids=ids, featured=value)
        log_actions(request, papers, f"{verb.capitalize()} (admin action).")
        unchanged = queryset.count() - count
        note = f" ({unchanged} already {verb})" if unchanged else ""
        self.message_user(request, f"{count} paper(s) {verb}{note}.", messages.SUCCESS)

    @admin.action(description="Hide selected papers (out of search at once)", permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._toggle(request, queryset, "hidden", True, "hidden")

    @admin.action(description="Unhide selected papers", permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._toggle(request, queryset, "hidden", False, "unhidden")

    @admin.action(description="Feature selected papers (home page)", permissions=["change"])
    def feature(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._toggle(request, queryset, "featured", True, "featured")

    @admin.action(description="Unfeature selected papers", permissions=["change"])
    def unfeature(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._toggle(request, queryset, "featured", False, "unfeatured")

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/accept-source/", view(self.accept_source_view), name="papers_paper_accept_source"),
            *super().get_urls(),
        ]

    def accept_source_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """One click on "Accept the source's value": the field goes back to its source."""
        paper = get_object_or_404(Paper, pk=pk)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:papers_paper_change", args=[pk]))
        if not self.has_change_permission(request, paper):
            raise PermissionDenied
        name = request.POST.get("accept_field", "")
        try:
            paper_accept_source(paper=paper, field=name)
        except ValueError as exc:
            self.message_user(request, f"Nothing accepted: {exc}.", messages.ERROR)
        else:
            self.log_change(request, paper, f"Accepted the source's {name} (the field follows its source again).")
            self.message_user(request, f"The source's {name} is now the paper's.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:papers_paper_change", args=[pk]))
