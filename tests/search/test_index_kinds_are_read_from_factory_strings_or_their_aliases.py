"""INDEX_KIND takes a FAISS factory string or an alias, and a bad value says what is accepted."""

from __future__ import annotations

import pytest

from search.vector_index import (
    FlatIndex,
    HNSWIndex,
    IVFIndex,
    IVFSQ8Index,
    family_of,
    filters_exactly,
    parse_kind,
)


@pytest.mark.parametrize(
    ("value", "canonical", "family"),
    [
        ("flat", "IDMap,Flat", FlatIndex),
        ("Flat", "IDMap,Flat", FlatIndex),
        ("IDMap,Flat", "IDMap,Flat", FlatIndex),
        ("ivf", "IVF{n},Flat", IVFIndex),
        ("IVF1024,Flat", "IVF1024,Flat", IVFIndex),
        ("IVF{n},SQ8", "IVF{n},SQ8", IVFSQ8Index),
        (" IVF256, SQ8 ", "IVF256,SQ8", IVFSQ8Index),
        ("hnsw", "HNSW{M}", HNSWIndex),
        ("HNSW32", "HNSW32", HNSWIndex),
        ("IDMap,HNSW16,Flat", "HNSW16", HNSWIndex),
    ],
)
def test_each_spelling_of_a_kind_has_one_canonical_form_and_family(value: str, canonical: str, family: type) -> None:
    assert parse_kind(value) == canonical
    assert family_of(canonical) is family


def test_auto_stays_auto_and_filters_exactly() -> None:
    assert parse_kind("AUTO") == "auto"
    assert filters_exactly("auto") and filters_exactly("ivf") and not filters_exactly("IVF{n},SQ8")


@pytest.mark.parametrize("value", ["", "bogus", "IVF,Flat", "IVF0,Flat", "IVF{n},PQ8", "HNSW0", "IVF{M},Flat", "PCA64,Flat"])
def test_an_unknown_kind_is_refused_with_what_is_accepted(value: str) -> None:
    with pytest.raises(ValueError, match=r"not an index kind: use auto, flat, ivf, hnsw or a FAISS factory string"):
        parse_kind(value)
