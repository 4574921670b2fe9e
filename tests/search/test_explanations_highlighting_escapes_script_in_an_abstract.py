"""Imported text is untrusted: it is escaped first, then the matched words are marked."""

from __future__ import annotations

import pytest

from search.explain import highlight
from search.keyword import analyze
from search.queries import semantic_search
from search.services import embeddings_update, index_build


def test_highlight_escapes_markup_and_marks_only_matched_words() -> None:
    html = highlight('<script>alert("x")</script> Malaria <b>vaccines</b> & <mark>children</mark>', set(analyze("vaccine")))
    assert "<script>" not in html and "<b>" not in html and html.count("<mark>") == 1
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;<mark>vaccines</mark>&lt;/b&gt;" in html
    assert "&amp; &lt;mark&gt;children&lt;/mark&gt;" in html


@pytest.mark.django_db
def test_a_script_in_an_abstract_is_shown_as_text_in_search_results(paper_factory) -> None:  # type: ignore[no-untyped-def]
    paper = paper_factory(
        title="Vaccine <img src=x onerror=alert(1)> trial",
        abstract="<script>document.location='https://evil.example'</script> A malaria vaccine trial in children.",
    )
    paper_factory(title="Stellar spectra", abstract="Classifying the spectra of nearby stars.")
    embeddings_update(paper_ids=[paper.pk])
    index_build()
    hit = semantic_search(query="malaria vaccine").hits[0]
    assert hit.paper.pk == paper.pk
    explanation = hit.explanation
    assert explanation is not None
    assert "<script>" not in explanation.abstract_html and "&lt;script&gt;" in explanation.abstract_html
    assert "<img" not in explanation.title_html and "&lt;img src=x onerror=alert(1)&gt;" in explanation.title_html
    assert "<mark>malaria</mark> <mark>vaccine</mark>" in explanation.abstract_html
    assert "<mark>Vaccine</mark>" in explanation.title_html
    assert explanation.matched_terms == ["malaria", "vaccine"]
