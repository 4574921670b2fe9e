"""Input of the reader's pages and feeds: parse and validate query strings, nothing else.

The API declares the same limits in its schemas (search/api.py); both turn bad input into a
4xx with a message instead of letting it reach the queries.
"""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator

from papers.models import Paper
from papers.normalize import normalize_arxiv_id
from search.modes import MODES, RELATED_SORT_LABELS, RELATED_SORTS, SORT_LABELS, SORTS
from search.queries import SearchFilters

MIN_YEAR, MAX_YEAR = 1900, 2100
MAX_PAGE = 100
MAX_FACET_CHARS = 200
SIMILAR_COUNT = 20
_CATEGORY_SPLIT = re.compile(r"[\s,]+")


def search_filters(
    *, year_from: int | None = None, year_to: int | None = None, category: str = "", author: str = ""
) -> SearchFilters:
    """Facets from request values; several categories may be given, separated by commas or spaces."""
    return SearchFilters(
        year_from=year_from,
        year_to=year_to,
        categories=tuple(c for c in _CATEGORY_SPLIT.split(category.strip()) if c),
        author=author.strip(),
    )


class FilterFields(forms.Form):
    """Year range, category and author: the facets every list of papers can be narrowed by."""

    year_from = forms.IntegerField(required=False, min_value=MIN_YEAR, max_value=MAX_YEAR, label="From year")
    year_to = forms.IntegerField(required=False, min_value=MIN_YEAR, max_value=MAX_YEAR, label="To year")
    category = forms.CharField(required=False, max_length=MAX_FACET_CHARS, strip=True, label="Category")
    author = forms.CharField(required=False, max_length=MAX_FACET_CHARS, strip=True, label="Author")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        year_from, year_to = data.get("year_from"), data.get("year_to")
        if isinstance(year_from, int) and isinstance(year_to, int) and year_from > year_to:
            raise forms.ValidationError(f"“From year” ({year_from}) is after “To year” ({year_to}).")
        return data

    def filters(self) -> SearchFilters:
        data = self.cleaned_data
        return search_filters(
            year_from=data.get("year_from"),
            year_to=data.get("year_to"),
            category=data.get("category") or "",
            author=data.get("author") or "",
        )

    def error_message(self) -> str:
        """All errors as one readable sentence per field, for a 400 page, feed or API reply."""
        parts: list[str] = []
        for name, errors in self.errors.items():
            label = "" if name == "__all__" else f"{self.fields[name].label or name}: "
            parts.extend(f"{label}{error}" for error in errors)
        return " ".join(parts)


class SearchForm(FilterFields):
    """The search page and its feeds: ?q=&mode=&weight=&year_from=&year_to=&category=&author=&sort=&page=&spell="""

    q = forms.CharField(required=False, strip=True, label="Search papers")
    mode = forms.ChoiceField(required=False, choices=[(m, m.capitalize()) for m in MODES], label="Mode")
    weight = forms.FloatField(required=False, min_value=0.0, max_value=1.0, label="Weight")
    sort = forms.ChoiceField(
        required=False, choices=[(s, SORT_LABELS[s]) for s in SORTS], label="Sort by"
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, label="Page")
    # "off": search exactly what was typed ("search instead for ..." after a spelling correction).
    spell = forms.ChoiceField(required=False, choices=[("", "Correct spelling"), ("off", "As typed")], label="Spelling")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # The limit is read per request, so a deployment (or a test) can change it.
        self.fields["q"] = forms.CharField(
            required=False, strip=True, max_length=settings.SEARCH_MAX_QUERY_CHARS, label="Search papers"
        )

    def search_kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``semantic_search`` (defaults left to the query when not given)."""
        data = self.cleaned_data
        kwargs: dict[str, object] = {
            "query": data.get("q") or "",
            "page": data.get("page") or 1,
            "filters": self.filters(),
            "sort": data.get("sort") or "relevance",
        }
        if data.get("mode"):
            kwargs["mode"] = data["mode"]
        if data.get("weight") is not None:
            kwargs["weight"] = data["weight"]
        if data.get("spell") == "off":
            kwargs["correct"] = False
        return kwargs

    def has_filters(self) -> bool:
        return bool(self.is_valid() and self.filters())


class RelatedForm(FilterFields):
    """Narrowing and ordering the related papers on a paper page."""

    sort = forms.ChoiceField(
        required=False, choices=[(s, RELATED_SORT_LABELS[s]) for s in RELATED_SORTS], label="Sort by"
    )


class SimilarForm(FilterFields):
    """/similar: an abstract or any text, or an arXiv id or URL of a paper in the collection."""

    text = forms.CharField(
        strip=True,
        label="Abstract, text, arXiv id or arXiv URL",
        error_messages={"required": "Paste an abstract, a passage of text, an arXiv id or an arXiv URL."},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        text = self.fields["text"]
        if isinstance(text, forms.CharField):
            text.max_length = settings.SEARCH_MAX_QUERY_CHARS
        self.fields["text"].validators.append(MaxLengthValidator(settings.SEARCH_MAX_QUERY_CHARS))
        self.paper: Paper | None = None

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"]
        # Only a short single token is read as an identifier: an abstract that happens to
        # start with "arXiv:" is still an abstract.
        arxiv_id = normalize_arxiv_id(text) if len(text) <= 200 and len(text.split()) == 1 else ""
        if arxiv_id:
            self.paper = paper_by_arxiv_id(arxiv_id=arxiv_id)
            if self.paper is None:
                raise forms.ValidationError(
                    f"arXiv:{arxiv_id} is not in this collection. Paste its abstract instead, "
                    "and Paperscope will find papers like it."
                )
        return text


def paper_by_arxiv_id(*, arxiv_id: str) -> Paper | None:
    """A visible paper by its normalised arXiv id (no version), or None."""
    return Paper.objects.visible().filter(arxiv_id=arxiv_id).first()
