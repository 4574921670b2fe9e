"""Hybrid at weight 1 is exactly the dense order; at weight 0 exactly the keyword order."""

from __future__ import annotations

import pytest

from search.queries import semantic_search

QUERIES = [
    "gravitational wave ringdown",
    "cosmic microwave background likelihood",
    "Bayesian inference with transformers",
    "survival analysis hazard",
]


def _order(query: str, **kwargs: object) -> list[int]:
    # The whole collection is ranked (no relevance floor): this compares the orders themselves.
    return [hit.paper.pk for hit in semantic_search(query=query, page_size=61, floor=False, **kwargs).hits]  # type: ignore[arg-type]


@pytest.mark.django_db
@pytest.mark.parametrize("query", QUERIES)
def test_weight_one_is_dense_and_weight_zero_is_keyword(listing_index: list[int], query: str) -> None:
    dense = _order(query, mode="dense")
    keyword = _order(query, mode="keyword")
    assert len(dense) == 61 and 0 < len(keyword) < 61
    assert _order(query, mode="hybrid", weight=1.0) == dense
    at_zero = _order(query, mode="hybrid", weight=0.0)
    assert at_zero[: len(keyword)] == keyword
    # Papers without any query word follow, by meaning.
    assert at_zero[len(keyword) :] == [pk for pk in dense if pk not in set(keyword)]
    # A weight in between is a different, fused order of the same papers.
    assert sorted(_order(query, mode="hybrid", weight=0.5)) == sorted(dense)
