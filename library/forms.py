"""Forms of the library pages: they parse and bound input; services do the writes."""

from __future__ import annotations

from django import forms

from library.models import NAME_MAX, NOTE_MAX, QUERY_MAX, Frequency

TAGS_HELP = "Comma-separated; new tags are created."


class SaveForm(forms.Form):
    tags = forms.CharField(required=False, max_length=2000, help_text=TAGS_HELP)
    next = forms.CharField(required=False, max_length=2000)


class EditForm(forms.Form):
    tags = forms.CharField(required=False, max_length=2000, help_text=TAGS_HELP)
    note = forms.CharField(required=False, max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 3}))


class ImportForm(forms.Form):
    identifiers = forms.CharField(
        required=False, max_length=200_000, widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One arXiv id (2401.01234, arXiv:hep-th/9901001) or DOI (10.1000/xyz) per line.",
    )
    bib = forms.FileField(required=False, label=".bib file")
    tags = forms.CharField(required=False, max_length=2000, help_text="Tags given to every imported paper.")


class TagForm(forms.Form):
    name = forms.CharField(max_length=64)
    digest = forms.ChoiceField(choices=Frequency.choices)


class SavedSearchForm(forms.Form):
    name = forms.CharField(required=False, max_length=NAME_MAX)
    query = forms.CharField(max_length=QUERY_MAX)
    mode = forms.ChoiceField(choices=[("hybrid", "hybrid"), ("dense", "meaning"), ("keyword", "keywords")], required=False)
    year_from = forms.IntegerField(required=False, min_value=1000, max_value=3000)
    year_to = forms.IntegerField(required=False, min_value=1000, max_value=3000)
    categories = forms.CharField(required=False, max_length=400)
    author = forms.CharField(required=False, max_length=NAME_MAX)
    floor = forms.FloatField(required=False, min_value=-1, max_value=1, help_text="Least meaning similarity (cosine) of a paper to the query for digests and feeds; 0.2 by default.")
    digest = forms.ChoiceField(choices=Frequency.choices, required=False)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX)
