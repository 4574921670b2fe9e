"""A filter that matches 1% of a 2,000-paper collection still returns full pages.

Mechanics test: the papers' vectors are synthetic (random unit vectors stored as real
PaperEmbedding rows, so no 2,000-paper embedding run), the index is a real FAISS + BM25 build,
and the query is encoded by the real model. Both filter paths are covered: exact search within
the matching papers (FAISS ID selector, masked BM25) and over-fetching for broad filters.
"""

from __future__ import annotations

import numpy as np
import pytest

from papers.models import Paper
from search.queries import SearchFilters, semantic_search
from search.services import index_build
from tests.conftest import store_random_unit_vectors

COLLECTION = 2000
RARE = "q-bio.BM"  # on every 100th paper: 20 papers, 1%
WORDS = ["protein", "folding", "energy", "landscape", "lattice", "simulation", "kinetics", "enzyme", "membrane", "channel"]


@pytest.fixture
def collection(db: None) -> list[int]:
    rng = np.random.default_rng(7)
    papers = []
    for n in range(COLLECTION):
        words = " ".join(rng.choice(WORDS, size=12))
        paper = Paper(
            title=f"Study {n} of {words.split()[0]} {words.split()[1]}",
            abstract=f"We report protein {words}.",
            categories=[RARE] if n % 100 == 0 else ["cond-mat.stat-mech"],
        )
        paper.refresh_derived_fields()
        papers.append(paper)
    Paper.objects.bulk_create(papers, batch_size=500)
    store_random_unit_vectors(rng)
    index_build()
    return list(Paper.objects.filter(category_key__contains=f" {RARE} ").values_list("pk", flat=True))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
@pytest.mark.parametrize("exact_max", [50_000, 5], ids=["exact-subset", "over-fetch"])
def test_a_filter_matching_one_percent_fills_every_page(collection: list[int], mode: str, exact_max: int, settings: object) -> None:
    settings.SEARCH_FILTER_EXACT_MAX = exact_max  # type: ignore[attr-defined]
    assert len(collection) == COLLECTION // 100
    filters = SearchFilters(categories=(RARE,))
    # Random vectors mean nothing, so the relevance floor is off: this is about paging mechanics.
    seen: list[int] = []
    for page in (1, 2):
        result = semantic_search(query="protein folding kinetics", page=page, page_size=10, mode=mode, filters=filters, floor=False)
        assert result.total == 20
        assert len(result.hits) == 10, f"page {page} of {mode} is short"
        assert all(RARE in hit.paper.categories for hit in result.hits)
        assert [hit.rank for hit in result.hits] == list(range((page - 1) * 10 + 1, page * 10 + 1))
        seen += [hit.paper.pk for hit in result.hits]
    assert sorted(seen) == sorted(collection)
    assert not semantic_search(query="protein folding kinetics", page=3, page_size=10, mode=mode, filters=filters, floor=False).hits
