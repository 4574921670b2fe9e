"""arXiv ids and DOIs normalise to one key per paper, whatever form a file writes them in."""

from __future__ import annotations

import pytest

from papers.normalize import normalize_arxiv_id, normalize_doi, normalize_title


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2301.00001", "2301.00001"),
        ("2301.00001v2", "2301.00001"),
        ("arXiv:2301.00001v2", "2301.00001"),
        ("arXiv: 2301.00001", "2301.00001"),
        ("2301.00001 [cs.LG]", "2301.00001"),
        ("https://arxiv.org/abs/2301.00001v3", "2301.00001"),
        ("http://export.arxiv.org/abs/2301.00001", "2301.00001"),
        ("https://arxiv.org/pdf/2301.00001v1.pdf", "2301.00001"),
        ("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001"),
        ("HEP-TH/9901001", "hep-th/9901001"),
        ("math.gt/0309136", "math.GT/0309136"),
        ("10.1234/abc", ""),
        ("paper-17", ""),
        ("", ""),
        ("arxiv:/ /", ""),
    ],
)
def test_arxiv_ids_lose_prefixes_and_versions(value: str, expected: str) -> None:
    assert normalize_arxiv_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.1103/PhysRevD.76.013009", "10.1103/physrevd.76.013009"),
        ("https://doi.org/10.1103/PhysRevD.76.013009", "10.1103/physrevd.76.013009"),
        ("http://dx.doi.org/10.1/a", "10.1/a"),
        ("https://www.doi.org/10.1/a", "10.1/a"),
        ("https://doi.org/10.1000%2Fabc", "10.1000/abc"),
        ("doi: 10.1000/X", "10.1000/x"),
        ("10.1/a 10.2/b", "10.1/a"),
        ("not a doi", ""),
        ("", ""),
    ],
)
def test_dois_lose_resolvers_and_case(value: str, expected: str) -> None:
    assert normalize_doi(value) == expected


def test_titles_compare_without_case_accents_or_punctuation() -> None:
    assert normalize_title("  Déjà Vu:  A   STUDY!") == normalize_title("deja vu - a study") == "deja vu a study"
