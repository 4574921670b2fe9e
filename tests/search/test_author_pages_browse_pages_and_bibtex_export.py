"""Author pages (papers newest first, co-authors, papers like their work), browse pages by
category and week, and a search's results exported as one .bib file."""

from __future__ import annotations

import datetime as dt

import bibtexparser
import pytest
from django.test import Client

from search.services import embeddings_update, index_build


@pytest.fixture
def by_ada(paper_factory):  # type: ignore[no-untyped-def]
    made = [
        paper_factory(title="Analytical engines for numbers", abstract="A machine computes Bernoulli numbers.",
                      authors=["Ada Lovelace", "Charles Babbage"], categories=["cs.CL"], published=dt.date(2025, 3, 3)),
        paper_factory(title="Notes on the analytical engine", abstract="Notes on programming a mechanical computer.",
                      authors=["A. Lovelace", "Charles Babbage"], categories=["cs.CL"], published=dt.date(2025, 3, 12)),
        paper_factory(title="Poetical science", abstract="Imagination in mathematics and computing machines.",
                      authors=["Lovelace, Ada", "Mary Somerville"], categories=["cs.AI"], published=dt.date(2025, 3, 20)),
        paper_factory(title="Difference engines in practice", abstract="Tables of logarithms computed by a difference engine.",
                      authors=["Charles Babbage"], categories=["cs.CL"], published=dt.date(2025, 3, 13)),
        paper_factory(title="Stellar spectra", abstract="Spectra of hot stars.", authors=["Annie Cannon"],
                      categories=["astro-ph.SR"], published=dt.date(2025, 3, 4)),
    ]
    embeddings_update(paper_ids=[p.pk for p in made])
    index_build()
    return [p.pk for p in made]


@pytest.mark.django_db
def test_an_author_page_lists_every_spelling_newest_first_with_coauthors_and_similar_work(client: Client, by_ada: list[int]) -> None:
    response = client.get("/authors/Ada Lovelace/")
    html = response.content.decode()

    assert response.status_code == 200
    assert '<h1 class="author-name">Ada Lovelace</h1>' in html
    assert "3 papers in this collection, newest first" in html
    order = [html.index(t) for t in ("Poetical science", "Notes on the analytical engine", "Analytical engines for numbers")]
    assert order == sorted(order)
    assert '<a href="/authors/Charles%20Babbage/">Charles Babbage</a> <span class="count">2 papers</span>' in html
    like = html.split("Papers like this author")[1]
    assert "Difference engines in practice" in like and "Poetical science" not in like
    assert client.get("/authors/Nobody Atall/").status_code == 404
    assert client.get("/authors/Ada Lovelace/", {"page": "zero"}).status_code == 400


@pytest.mark.django_db
def test_a_browse_page_shows_a_category_week_by_week(client: Client, by_ada: list[int]) -> None:
    latest = client.get("/browse/cs.CL").content.decode()
    assert "week 2025-W11" in latest  # 10-16 March 2025: the newest cs.CL papers
    assert "Difference engines in practice" in latest and "Notes on the analytical engine" in latest
    assert "Poetical science" not in latest  # cs.AI
    assert 'href="?week=2025-W10"' in latest
    earlier = client.get("/browse/cs.CL", {"week": "2025-W10"}).content.decode()
    assert "Analytical engines for numbers" in earlier and "Notes on the analytical engine" not in earlier
    bad = client.get("/browse/cs.CL", {"week": "March"})
    assert bad.status_code == 400 and "a week is written like 2025-W14" in bad.content.decode()
    assert client.get("/browse/no.such").status_code == 404


@pytest.mark.django_db
def test_search_results_export_as_one_valid_bibtex_file(client: Client, by_ada: list[int]) -> None:
    html = client.get("/search", {"q": "analytical engine"}).content.decode()
    assert 'href="/search/results.bib?q=analytical+engine"' in html

    response = client.get("/search/results.bib", {"q": "analytical engine"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="paperscope-results.bib"'
    library = bibtexparser.parse_string(response.content.decode())
    assert not library.failed_blocks
    titles = {entry["title"] for entry in library.entries}
    assert "Notes on the analytical engine" in "".join(titles).replace("{", "").replace("}", "")
    assert client.get("/search/results.bib").status_code == 400
