"""A result list never carries more than a bounded abstract, whatever is stored: a row with a
huge abstract (imported before fields were capped) is cut to 2,000 characters in /api/search,
/api/papers/{id}/related and /api/similar, its best sentence and highlighted abstract too; the
paper itself (/api/papers/{id}) still has it whole."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from search.explain import RESULT_ABSTRACT_CHARS, RESULT_SENTENCE_CHARS

# ~600 KB, one "sentence" (no full stop) that shares the query's words.
HUGE = "Quantum error correction with surface codes and lattice surgery " * 10_000


@pytest.fixture
def huge_paper(listing_index: list[int]) -> int:
    from papers.models import Paper
    from search.services import embeddings_update, index_build

    paper = Paper.objects.create(title="Quantum error correction at scale", abstract=HUGE)
    embeddings_update(paper_ids=[paper.pk])
    index_build()
    return paper.pk


def _check(item: dict[str, object]) -> None:
    assert len(item["abstract"]) <= RESULT_ABSTRACT_CHARS and item["abstract"].endswith("…")  # type: ignore[union-attr, arg-type]
    explanation = item["explanation"]
    if explanation:
        assert len(explanation["best_sentence"]) <= RESULT_SENTENCE_CHARS  # type: ignore[index]
        shown = re.sub(r"</?mark>", "", explanation["abstract_html"])  # type: ignore[index]
        assert len(shown) <= RESULT_ABSTRACT_CHARS + 1
        assert shown.count("<") == 0 and explanation["abstract_html"].count("<mark>") == explanation["abstract_html"].count("</mark>")  # type: ignore[index]


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["hybrid", "keyword", "dense"])
def test_search_results_carry_a_bounded_abstract(client: Client, huge_paper: int, mode: str) -> None:
    response = client.get("/api/search", {"q": "quantum error correction surface codes", "mode": mode, "page_size": 100})
    assert response.status_code == 200
    assert len(response.content) < 300_000  # 62 papers; the one huge abstract alone is 640 KB
    items = {item["id"]: item for item in response.json()["results"]}
    assert huge_paper in items
    _check(items[huge_paper])


@pytest.mark.django_db
def test_related_and_similar_carry_a_bounded_abstract(client: Client, huge_paper: int, listing_index: list[int]) -> None:
    similar = client.post("/api/similar", {"text": "quantum error correction surface codes"}, content_type="application/json")
    assert similar.status_code == 200
    items = {item["id"]: item for item in similar.json()["results"]}
    assert huge_paper in items
    _check(items[huge_paper])

    related = client.get(f"/api/papers/{listing_index[0]}/related", {"k": 100})
    assert related.status_code == 200 and len(related.content) < 300_000
    for item in related.json()["results"]:
        if item["id"] == huge_paper:
            _check(item)


@pytest.mark.django_db
def test_the_paper_itself_keeps_its_whole_abstract(client: Client, huge_paper: int) -> None:
    assert client.get(f"/api/papers/{huge_paper}").json()["abstract"] == HUGE
