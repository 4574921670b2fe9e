"""LaTeX in titles and abstracts reads as text on every page, while search still finds the words."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from papers.latex import to_text
from search.services import embeddings_update, index_build

TITLE = r"Magnetised turbulence with \texttt{Athena++} at $\chi = 1000$"
ABSTRACT = (
    r"We run \texttt{Athena++} simulations of turbulent clouds with density contrast $\chi = 1000$ "
    r"and $10^{-3}$ M$_\odot$ cores; 50% of the $\alpha$-heated gas cools. See \cite{x} for R&D."
)


def test_markup_becomes_unicode_and_plain_text_is_untouched() -> None:
    assert to_text(TITLE) == "Magnetised turbulence with Athena++ at χ = 1000"
    converted = to_text(ABSTRACT)
    assert "χ = 1000" in converted and "10^-3 M_⊙" in converted and "50% of the α-heated" in converted
    assert "R&D" in converted and "\\" not in converted and "$" not in converted
    assert to_text("Plain <b>text</b> & 100% fine") == "Plain <b>text</b> & 100% fine"
    assert to_text("It costs $5 per run") == "It costs $5 per run"  # a lone dollar is a dollar


@pytest.mark.django_db
def test_pages_show_the_readable_text_and_search_still_matches(client: Client, paper_factory) -> None:  # type: ignore[no-untyped-def]
    paper = paper_factory(title=TITLE, abstract=ABSTRACT, authors=["Ada Lovelace"])
    paper_factory(title="Protein folding kinetics", abstract="Folding rates of small proteins.")
    embeddings_update(paper_ids=[paper.pk, paper.pk + 1])
    index_build()

    page = client.get(paper.get_absolute_url()).content.decode()
    assert '<h1 id="paper-title">Magnetised turbulence with Athena++ at χ = 1000</h1>' in page
    abstract = re.search(r'<p class="abstract">(.*?)</p>', page, re.DOTALL).group(1)  # type: ignore[union-attr]
    assert "\\" not in abstract and "χ = 1000" in abstract
    # BibTeX is LaTeX itself: there the title keeps its markup.
    assert "\\texttt{Athena++}" in page.split('id="bibtex"')[1]

    results = client.get("/search", {"q": "Athena turbulent clouds"}).content.decode()
    assert "<mark>Athena</mark>++" in results and "\\texttt" not in results
