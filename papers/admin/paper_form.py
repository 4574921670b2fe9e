"""The paper form: lists edited as text, identifiers normalised."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from papers.models import Paper
from papers.normalize import normalize_arxiv_id, normalize_doi


class ListField(forms.CharField):
    """A JSON list of strings edited as text: one item per line, or per word (``words=True``)."""

    def __init__(self, *, words: bool = False, **kwargs: Any) -> None:
        self.words = words
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return (" " if self.words else "\n").join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        text = super().to_python(value) or ""
        parts = re.split(r"[\s,;]+", text) if self.words else text.splitlines()
        return [" ".join(part.split()) for part in parts if part.strip()]


class PaperForm(forms.ModelForm):
    authors = ListField(widget=forms.Textarea(attrs={"rows": 4}), help_text="One author per line.")
    categories = ListField(words=True, help_text="Separated by spaces, e.g. cs.LG stat.ML.")

    class Meta:
        model = Paper
        fields = "__all__"
        widgets = {"title": forms.Textarea(attrs={"rows": 2})}

    def clean_links(self) -> dict[str, str]:
        links = self.cleaned_data.get("links") or {}
        if not isinstance(links, dict) or not all(isinstance(v, str) for v in links.values()):
            raise ValidationError('Links are a JSON object of names and URLs, e.g. {"pdf": "https://…"}.')
        return links

    def clean_arxiv_id(self) -> str | None:
        value = (self.cleaned_data.get("arxiv_id") or "").strip()
        if not value:
            return None
        normalized = normalize_arxiv_id(value)
        if not normalized:
            raise ValidationError("Not an arXiv id (e.g. 2401.01234 or hep-th/9901001).")
        return normalized

    def clean_doi(self) -> str | None:
        value = (self.cleaned_data.get("doi") or "").strip()
        if not value:
            return None
        normalized = normalize_doi(value)
        if not normalized:
            raise ValidationError("Not a DOI (e.g. 10.1234/abcd).")
        return normalized
