"""Curated related links: inline on the paper page, and their own list."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from papers.models import RelatedLink


class RelatedLinkFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            related = form.cleaned_data.get("related") if hasattr(form, "cleaned_data") else None
            if related is not None and self.instance.pk and related.pk == self.instance.pk:
                form.add_error("related", "A paper cannot be related to itself.")


class RelatedLinkInline(admin.TabularInline):
    model = RelatedLink
    fk_name = "paper"
    formset = RelatedLinkFormSet
    fields = ("kind", "related", "position")
    autocomplete_fields = ("related",)
    extra = 1
    verbose_name = "curated related paper"
    verbose_name_plural = "Curated related papers (pinned ones are shown first, in this order; suppressed ones never)"


@admin.register(RelatedLink)
class RelatedLinkAdmin(admin.ModelAdmin):
    list_display = ("paper", "kind", "related", "position", "created")
    list_filter = ("kind",)
    list_select_related = ("paper", "related")
    autocomplete_fields = ("paper", "related")
    search_fields = ("paper__title", "related__title")
