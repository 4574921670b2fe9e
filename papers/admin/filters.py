"""List filters of the papers list: category, year, merged."""

from __future__ import annotations

from django.contrib import admin
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest

from papers.models import Paper

CATEGORY_CHOICES_CACHE = "papers.admin.categories"


class CategoryFilter(admin.SimpleListFilter):
    title = "category"
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        choices = cache.get(CATEGORY_CHOICES_CACHE)
        if choices is None:
            counts: dict[str, int] = {}
            for categories in Paper.objects.values_list("categories", flat=True).iterator(chunk_size=5000):
                for category in categories or []:
                    counts[category] = counts.get(category, 0) + 1
            top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:40]
            choices = [(name, f"{name} ({count:,})") for name, count in sorted(top)]
            # Counting reads every paper; a few minutes' staleness is fine for a filter list.
            cache.set(CATEGORY_CHOICES_CACHE, choices, 300)
        selected = (self.value() or "").strip()
        if selected and selected not in {name for name, _ in choices}:
            choices = [*choices, (selected, selected)]  # a rarer category, typed into the URL
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        value = (self.value() or "").strip()
        return queryset.filter(category_key__contains=f" {value} ") if value else queryset


class YearFilter(admin.SimpleListFilter):
    title = "year"
    parameter_name = "year"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(d.year), str(d.year)) for d in Paper.objects.dates("published", "year", order="DESC")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        try:
            year = int(self.value() or 0)
        except ValueError:
            return queryset.none()
        return queryset.filter(published__year=year) if year else queryset


class MergedFilter(admin.SimpleListFilter):
    title = "merged"
    parameter_name = "merged"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("no", "not merged"), ("yes", "merged into another paper")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        if self.value() == "no":
            return queryset.filter(merged_into__isnull=True)
        if self.value() == "yes":
            return queryset.filter(merged_into__isnull=False)
        return queryset
