"""Harvest sources in the admin: what is harvested, how often, how far it got, what went wrong."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from harvest.models import HarvestSource


@admin.register(HarvestSource)
class HarvestSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "set_spec", "enabled", "status", "cursor", "last_finished", "last_summary")
    list_filter = ("enabled", "status")
    search_fields = ("name", "set_spec", "categories")
    actions = ("harvest_now", "enable", "disable")
    readonly_fields = ("status", "cursor", "position", "last_started", "last_finished", "last_error", "last_summary", "totals", "rejected")
    fieldsets = (
        (None, {"fields": ("name", "endpoint", "set_spec", "categories")}),
        ("Schedule", {"fields": ("enabled", "every_hours", "start_date")}),
        ("State", {"fields": ("status", "cursor", "position", "last_started", "last_finished", "last_error", "last_summary", "totals", "rejected")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: HarvestSource | None = None) -> Any:
        # A source being added has no state yet: the form shows only what a curator sets.
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is not None else [f for f in fieldsets if f[0] != "State"]

    @admin.display(description="last run")
    def last_summary(self, source: HarvestSource) -> str:
        c = source.last_counts or {}
        if not c:
            return "—"
        parts = [f"{c.get(n, 0)} {n.replace('_', ' ')}" for n in ("created", "updated", "merged", "unchanged", "rejected", "warnings") if c.get(n)]
        pages = f"{c.get('pages', 0)} page(s)"
        return ", ".join([*parts, pages]) + ("" if c.get("complete") else " (incomplete)")

    @admin.display(description="totals")
    def totals(self, source: HarvestSource) -> str:
        rows = sorted((source.total_counts or {}).items())
        return format_html_join(", ", "{} {}", ((v, k.replace("_", " ")) for k, v in rows)) or "—"

    @admin.display(description="interrupted harvest")
    def position(self, source: HarvestSource) -> str:
        if not source.resumption_token and not source.window_from:
            return "—"
        return format_html(
            "window {} .. {}; resumes at token <code>{}</code>", source.window_from, source.window_until or "now", source.resumption_token or "(first page)"
        )

    @admin.display(description="rejected records and warnings (last run)")
    def rejected(self, source: HarvestSource) -> str:
        items = source.last_rejected or []
        if not items:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li><code>{}</code>: {}</li>", ((i.get("source", ""), i.get("reason", "")) for i in items)))

    @admin.action(description="Harvest now", permissions=["change"])
    def harvest_now(self, request: HttpRequest, queryset: QuerySet[HarvestSource]) -> None:
        from harvest.tasks import harvest_source

        sources = list(queryset)
        for source in sources:
            transaction.on_commit(functools.partial(harvest_source.delay, source.pk))
            self.log_change(request, source, "Harvest now (admin action).")
        ids = sources
        self.message_user(request, f"Harvest queued for {len(ids)} source(s); the state columns show how it goes.", messages.SUCCESS)

    @admin.action(description="Enable the schedule", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[HarvestSource]) -> None:
        self.message_user(request, f"{queryset.update(enabled=True)} source(s) enabled.", messages.SUCCESS)

    @admin.action(description="Disable the schedule", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[HarvestSource]) -> None:
        self.message_user(request, f"{queryset.update(enabled=False)} source(s) disabled.", messages.SUCCESS)
