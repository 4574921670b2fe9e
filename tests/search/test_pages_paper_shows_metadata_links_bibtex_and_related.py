"""The paper page: metadata, links, abstract, BibTeX, related papers, "papers like this one"."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client


@pytest.mark.django_db
def test_it_shows_everything_known_about_the_paper(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2602.06795"]

    html = client.get(f"/papers/{pk}/").content.decode()

    assert "Generating Data-Driven Reasoning Rubrics for Domain-Adaptive Reward Modeling</h1>" in html
    # Every author's name leads to their page.
    assert '<a class="author" href="/authors/Kate%20Sanders/">Kate Sanders</a>, <a class="author" href="/authors/Nathaniel%20Weir/">Nathaniel Weir</a>' in html
    assert '<time datetime="2026-02-09">9 February 2026</time>' in html
    assert 'href="/browse/cs.CL" title="Browse cs.CL week by week">cs.CL</a>' in html and 'href="/browse/cs.AI"' in html
    assert 'href="https://arxiv.org/abs/2602.06795"' in html
    assert 'href="https://arxiv.org/pdf/2602.06795"' in html
    assert "An impediment to using Large Language Models" in html


@pytest.mark.django_db
def test_it_offers_bibtex_to_copy_and_to_download(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2602.06795"]

    html = client.get(f"/papers/{pk}/").content.decode()

    bibtex = unescape(re.search(r'<pre id="bibtex"[^>]*><code>(.*?)</code></pre>', html, re.S).group(1))  # type: ignore[union-attr]
    assert bibtex.startswith("@misc{sanders2026generating,")
    assert "eprint = {2602.06795}" in bibtex
    assert 'data-copy-target="bibtex"' in html
    assert f'href="/papers/{pk}/bibtex.bib" download' in html


@pytest.mark.django_db
def test_it_lists_related_papers_with_their_similarity(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2602.06795"]

    html = client.get(f"/papers/{pk}/").content.decode()

    related = re.search(r'<div id="related-list">(.*?)</div>\s*</section>', html, re.S).group(1)  # type: ignore[union-attr]
    assert related.count('<article class="result">') == 10
    assert f'href="/papers/{pk}/"' not in related  # never the paper itself
    assert len(re.findall(r"similarity 0\.\d\d", related)) == 10


@pytest.mark.django_db
def test_search_papers_like_this_one_runs_a_search_from_its_text(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2602.06795"]
    html = client.get(f"/papers/{pk}/").content.decode()

    link = unescape(re.search(r'<a href="([^"]+)" class="like-this">', html).group(1))  # type: ignore[union-attr]
    assert link.startswith("/search?q=Generating%20Data-Driven%20Reasoning%20Rubrics")
    results = client.get(link).content.decode()
    assert re.search(rf'class="result-title"><a href="/papers/{pk}/"', results)  # itself, first
    assert results.index(f'href="/papers/{pk}/"') < results.index('<article class="result">', results.index('<article class="result">') + 1)


@pytest.mark.django_db
def test_a_missing_paper_is_404(client: Client, reader_collection: dict[str, int]) -> None:
    assert client.get("/papers/999999/").status_code == 404
    assert client.get("/papers/999999/bibtex.bib").status_code == 404
