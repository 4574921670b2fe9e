"""A full build indexes the collection a slice at a time (bounded memory at millions of papers):
one segment per slice, every score, author match and exact-title lookup equal to a build made in
one piece, and incremental builds go on from the sliced build."""

from __future__ import annotations

import numpy as np
import pytest

from papers.models import Paper
from search import keyword
from search.index_store import load_build
from search.keyword import analyze
from search.services import embeddings_update, index_build

QUERIES = ("tidal turbines", "language model", "diffusion image generation", "graph neural network", "zzqx")


@pytest.mark.django_db
def test_a_sliced_full_build_scores_as_one_piece_and_grows_incrementally(listing_index: list[int], paper_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    named = paper_factory(title="Coral reef bleaching from orbit", abstract="Satellites forecast coral bleaching.", authors=["Ada Lovelace"])
    assert embeddings_update(paper_ids=[named.pk]).embedded == 1
    whole = load_build(index_build(full=True).build_id).keyword
    assert whole is not None and len(whole.segments) == 1

    monkeypatch.setattr(keyword, "FULL_BUILD_SEGMENT", 7)
    sliced_build = index_build(full=True)
    sliced = load_build(sliced_build.build_id).keyword
    assert sliced is not None and sliced.authors is not None and whole.authors is not None
    assert len(sliced.segments) == -(-(len(listing_index) + 1) // 7) and len(sliced.segments) > 1
    assert [len(s) for s in sliced.segments[:-1]] == [7] * (len(sliced.segments) - 1)
    ids = whole.ids.tolist()
    assert sorted(sliced.ids.tolist()) == sorted(ids)
    for query in QUERIES:
        terms = analyze(query)
        assert sliced.scores_for(terms, ids) == pytest.approx(whole.scores_for(terms, ids), rel=1e-5, abs=1e-7)
        assert sliced.coverage(terms)[np.argsort(sliced.ids)].tolist() == pytest.approx(whole.coverage(terms)[np.argsort(whole.ids)].tolist())
    for paper in (Paper.objects.get(pk=listing_index[3]), named):
        assert sliced.with_title(paper.normalized_title) == whole.with_title(paper.normalized_title) == [paper.pk]
    assert whole.authors.scores_for(["lovelace"], [named.pk])[named.pk] > 0
    assert sliced.authors.scores_for(["lovelace"], ids) == pytest.approx(whole.authors.scores_for(["lovelace"], ids))

    new = paper_factory(title="Tidal stream turbines", abstract="Measuring tidal currents for turbine arrays.")
    assert embeddings_update(paper_ids=[new.pk]).embedded == 1
    grown = index_build()
    assert grown is not None and grown.kind == "incremental" and grown.base_build == sliced_build.build_id
    after = load_build(grown.build_id).keyword
    assert after is not None and len(after.segments) == len(sliced.segments) + 1
    assert after.search(analyze("tidal stream turbines"), 1)[0][0] == new.pk
