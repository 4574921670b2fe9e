"""An arXiv id or URL, a DOI, an exact title or an author's name in the search box puts what it
names first; author:, title: and cat: prefixes narrow the search."""

from __future__ import annotations

import datetime as dt

import pytest

from search.queries import SearchFilters, semantic_search
from search.services import embeddings_update, index_build


@pytest.fixture
def collection(paper_factory):  # type: ignore[no-untyped-def]
    made = {
        "sr": paper_factory(
            title="Efficient image super-resolution with lightweight transformers",
            abstract="We restore high-resolution images from low-resolution inputs with a small transformer.",
            authors=["Radu Timofte", "Ada Lovelace"], categories=["cs.CV"], published=dt.date(2025, 4, 1),
            arxiv_id="2504.13146",
        ),
        "denoise": paper_factory(
            title="Burst denoising for smartphone photography",
            abstract="Several noisy frames are merged into one clean photograph.",
            authors=["R. Timofte", "Grace Hopper"], categories=["eess.IV"], published=dt.date(2025, 6, 1),
            doi="10.1234/burst.2025.7",
        ),
        "old": paper_factory(
            title="Quantum gravity in two dimensions",
            abstract="A lattice model of two-dimensional quantum gravity and its continuum limit.",
            authors=["Alan Turing"], categories=["hep-th"], published=dt.date(1999, 1, 5), arxiv_id="hep-th/9901001",
        ),
        "other_timofte": paper_factory(
            title="Crop yield forecasting from satellite images",
            abstract="Satellite images predict the yield of wheat fields weeks before harvest.",
            authors=["Razvan Timofte"], categories=["cs.CV"], published=dt.date(2026, 1, 1),
        ),
        "images": paper_factory(
            title="Image super-resolution: a survey of deep methods",
            abstract="A survey of deep learning methods that upscale images, from convolutional networks to diffusion.",
            authors=["Zoë Müller"], categories=["cs.CV"], published=dt.date(2025, 9, 1),
        ),
    }
    embeddings_update(paper_ids=[p.pk for p in made.values()])
    index_build()
    return {name: p.pk for name, p in made.items()}


def _first(query: str, **kwargs: object) -> int:
    return semantic_search(query=query, **kwargs).hits[0].paper.pk  # type: ignore[arg-type]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["2504.13146", "2504.13146v3", "arXiv:2504.13146", "https://arxiv.org/abs/2504.13146v2", "arxiv.org/pdf/2504.13146.pdf"],
)
def test_an_arxiv_id_or_url_in_any_form_puts_that_paper_first(collection: dict[str, int], query: str) -> None:
    page = semantic_search(query=query)

    assert page.hits[0].paper.pk == collection["sr"]
    assert page.hits[0].reason == "The arXiv id you entered"


@pytest.mark.django_db
def test_an_old_style_arxiv_id_a_doi_and_an_exact_title_find_their_paper(collection: dict[str, int]) -> None:
    assert _first("hep-th/9901001v2") == collection["old"]
    assert _first("https://arxiv.org/abs/hep-th/9901001") == collection["old"]
    assert _first("10.1234/BURST.2025.7") == collection["denoise"]
    assert _first("https://doi.org/10.1234/burst.2025.7") == collection["denoise"]
    # Case, punctuation and spacing of the title do not matter.
    assert _first("burst  denoising for Smartphone Photography.") == collection["denoise"]


@pytest.mark.django_db
def test_an_author_name_lists_their_papers_first_with_initials_and_comma_forms(collection: dict[str, int]) -> None:
    for typed in ("Radu Timofte", "radu timofte", "Timofte, Radu"):
        page = semantic_search(query=typed)
        first_two = {hit.paper.pk for hit in page.hits[:2]}
        # "R. Timofte" on the burst paper is the same person as far as a listing can tell;
        # "Razvan Timofte" is someone else.
        assert first_two == {collection["sr"], collection["denoise"]}, typed
        assert page.hits[0].reason == f"A paper by {typed}"
    # An initial finds every author with that initial and surname.
    page = semantic_search(query="R. Timofte")
    assert {hit.paper.pk for hit in page.hits[:3]} == {collection["sr"], collection["denoise"], collection["other_timofte"]}
    # Accents are folded.
    assert _first("Zoe Muller") == collection["images"]


@pytest.mark.django_db
def test_author_title_and_cat_prefixes_narrow_the_search(collection: dict[str, int]) -> None:
    page = semantic_search(query='author:"Radu Timofte" images')
    assert collection["sr"] in {hit.paper.pk for hit in page.hits}
    assert {hit.paper.pk for hit in page.hits} <= {collection["sr"], collection["denoise"]}

    page = semantic_search(query="title:survey super-resolution")
    assert [hit.paper.pk for hit in page.hits] == [collection["images"]]

    page = semantic_search(query="super-resolution cat:cs.CV")
    assert collection["old"] not in {hit.paper.pk for hit in page.hits}
    assert {hit.paper.pk for hit in page.hits} <= {collection["sr"], collection["images"], collection["other_timofte"]}

    # A prefix alone lists its papers, newest first.
    page = semantic_search(query="author:Timofte")
    assert [hit.paper.pk for hit in page.hits] == [collection["other_timofte"], collection["denoise"], collection["sr"]]
    assert page.listing and page.total == 3


@pytest.mark.django_db
def test_the_author_filter_uses_the_same_name_variants(collection: dict[str, int]) -> None:
    page = semantic_search(query="images", filters=SearchFilters(author="Timofte, R."))
    assert {hit.paper.pk for hit in page.hits} <= {collection["sr"], collection["denoise"], collection["other_timofte"]}
    assert collection["sr"] in {hit.paper.pk for hit in page.hits}


@pytest.mark.django_db
def test_an_unknown_id_is_an_ordinary_search_that_finds_nothing(collection: dict[str, int]) -> None:
    page = semantic_search(query="2601.99999")

    assert page.total == 0 and page.hits == []
