"""BibTeX: a downloadable .bib whose entry a reference manager can read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from papers.bibtex import citation_key, paper_bibtex


@pytest.mark.django_db
def test_the_download_is_an_attachment_named_after_the_citation_key(client: Client, reader_collection: dict[str, int]) -> None:
    response = client.get(f"/papers/{reader_collection['2504.00891']}/bibtex.bib")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-bibtex")
    assert response["Content-Disposition"] == 'attachment; filename="zhao2025genprm.bib"'
    entry = response.content.decode()
    assert entry.startswith("@misc{zhao2025genprm,\n")
    assert "  author = {Jian Zhao and Runze Liu and Kaiyan Zhang and " in entry
    assert "  year = {2025},\n  month = apr,\n" in entry
    assert "  eprint = {2504.00891},\n  archivePrefix = {arXiv},\n  primaryClass = {cs.CL},\n" in entry
    assert "  url = {https://arxiv.org/abs/2504.00891}\n}\n" in entry


@pytest.mark.django_db
def test_special_characters_are_escaped_and_braces_stay_balanced(paper_factory) -> None:  # type: ignore[no-untyped-def]
    paper = paper_factory(
        title="Cats & dogs: 100% {robust} {p}_{theta}(Y|X) and \\% already escaped }{ oops",
        authors=["Ada Lovelace", "Turing, Alan"],
        published=dt.date(2024, 12, 1),
        doi="10.1000/xyz#1",
    )

    entry = paper_bibtex(paper=paper)

    assert entry.startswith("@article{lovelace2024cats,")  # a DOI and no arXiv id: a journal article
    assert r"Cats \& dogs: 100\% \{robust\} \{p\}" in entry  # unbalanced input: every brace made literal
    assert r"and \% already escaped" in entry
    assert "author = {Ada Lovelace and Turing, Alan}" in entry
    assert r"doi = {10.1000/xyz\#1}" in entry
    assert entry.count("{") - entry.count(r"\{") == entry.count("}") - entry.count(r"\}")


@pytest.mark.django_db
def test_a_paper_without_authors_or_date_still_gets_a_usable_key(paper_factory) -> None:  # type: ignore[no-untyped-def]
    paper = paper_factory(title="The {p}_{theta} trick")

    entry = paper_bibtex(paper=paper)

    assert citation_key(paper) == "anonptheta"
    assert "title = {{The {p}_{theta} trick}}" in entry  # balanced TeX is kept as written
    assert "author" not in entry and "year" not in entry
