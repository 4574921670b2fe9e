"""Curation in the Django admin (full curation tools come with the curation issue)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from papers.models import Paper
from papers.services import papers_set_featured, papers_set_hidden


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ("title", "arxiv_id", "published", "hidden", "featured", "updated")
    list_filter = ("hidden", "featured", "published")
    search_fields = ("title", "arxiv_id", "doi", "author_key")
    readonly_fields = ("content_hash", "created", "updated")
    date_hierarchy = "published"
    actions = ("hide", "unhide", "feature", "unfeature")

    @admin.action(description="Hide selected papers", permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self.message_user(request, f"{papers_set_hidden(paper_ids=queryset.values_list('pk', flat=True), hidden=True)} hidden")

    @admin.action(description="Unhide selected papers", permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self.message_user(request, f"{papers_set_hidden(paper_ids=queryset.values_list('pk', flat=True), hidden=False)} unhidden")

    @admin.action(description="Feature selected papers", permissions=["change"])
    def feature(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self.message_user(request, f"{papers_set_featured(paper_ids=queryset.values_list('pk', flat=True), featured=True)} featured")

    @admin.action(description="Unfeature selected papers", permissions=["change"])
    def unfeature(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self.message_user(request, f"{papers_set_featured(paper_ids=queryset.values_list('pk', flat=True), featured=False)} unfeatured")
