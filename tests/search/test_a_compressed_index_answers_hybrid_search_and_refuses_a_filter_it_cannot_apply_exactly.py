"""IVF{n},SQ8 keeps compressed codes: hybrid search works (papers only the keyword side found get
their cosine from the vectors stored in the database, since the codes cannot be searched within a
subset), every hit's cosine is within the codes' error of the exact one, and a filter, which would
need exact search within a subset, is refused with a message naming the kind."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from search import embedder, queries
from search.index_store import current_index
from search.models import PaperEmbedding


@pytest.fixture
def sq8_listing(db: None, settings: Any, request: pytest.FixtureRequest) -> list[int]:
    settings.INDEX_KIND = "IVF{n},SQ8"
    ids: list[int] = request.getfixturevalue("listing_index")
    return ids


def test_hybrid_search_on_a_compressed_index_gives_every_hit_a_cosine_within_the_codes_error(
    sq8_listing: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each side read 5 deep (not 100), so the keyword side finds papers the dense side did not.
    monkeypatch.setattr(queries, "CANDIDATE_STEP", 5)
    index = current_index()
    assert index is not None and index.vectors.factory.endswith(",SQ8") and not index.vectors.EXACT_VECTORS
    text = "diffusion models for video generation"
    result = queries.semantic_search(query=text, mode="hybrid", floor=False)
    assert result.hits, "a hybrid search on the listing finds papers"
    query = embedder.encode_query(text).reshape(-1)
    stored = {
        row.paper_id: row.as_array() for row in PaperEmbedding.objects.filter(paper_id__in=[h.paper.pk for h in result.hits])
    }
    errors = [abs(float(hit.explanation.dense) - float(stored[hit.paper.pk] @ query)) for hit in result.hits]
    assert max(errors) < 5e-3  # the contract test's SQ8 tolerance
    # Keyword-only finds were scored from the stored float vectors: exact, not decoded codes.
    assert min(errors) < 1e-5


def test_a_filtered_search_on_a_compressed_index_answers_400_naming_the_kind(sq8_listing: list[int], client: Client) -> None:
    response = client.get("/api/search", {"q": "video generation", "category": "cs.CV"})
    assert response.status_code == 400
    assert "IVF" in response.json()["detail"] and "SQ8" in response.json()["detail"]
    assert len(sq8_listing) == 61
    page = client.get("/search", {"q": "video generation", "category": "cs.CV"})
    assert page.status_code == 400 and b"exactly" in page.content
