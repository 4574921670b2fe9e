"""GET /api/search: the best sentence is chosen by meaning (embedding sentences) only on request.

Where no sentence of an abstract shares a query word, finding the one closest in meaning means
embedding sentences per result, most of a search's time; by default the API answers the first
sentence instead, and ``sentence_by_meaning=true`` asks for the closest one. The search page
never shows best sentences, so it never embeds them.
"""

from __future__ import annotations

import pytest
from django.test import Client

ABSTRACT = (
    "We measured rainfall across the Andes for ten years. The vaccine protected infants "
    "from malaria in every village. Costs were reported in local currency."
)
PARAPHRASE = "immunisation shields babies against a mosquito-borne parasite"


@pytest.fixture
def field_study(paper_factory):  # type: ignore[no-untyped-def]
    from search.services import embeddings_update, index_build

    paper = paper_factory(title="A field study", abstract=ABSTRACT)
    embeddings_update(paper_ids=[paper.pk])
    index_build()
    return paper


@pytest.fixture
def embedded(monkeypatch):  # type: ignore[no-untyped-def]
    """Every batch of texts handed to the embedder during the test."""
    from search import embedder

    batches: list[list[str]] = []
    real_encode = embedder.encode

    def counting_encode(texts, **kwargs):  # type: ignore[no-untyped-def]
        batches.append(list(texts))
        return real_encode(texts, **kwargs)

    monkeypatch.setattr(embedder, "encode", counting_encode)
    return batches


def _first(client: Client, **params: object) -> dict[str, object]:
    body = client.get("/api/search", {"q": PARAPHRASE, **params}).json()
    assert body["results"], body
    return body["results"][0]


@pytest.mark.django_db
def test_by_default_a_hit_without_a_shared_word_gets_its_first_sentence_and_embeds_none(client: Client, field_study, embedded) -> None:  # type: ignore[no-untyped-def]
    first = _first(client)

    assert first["id"] == field_study.pk
    assert first["explanation"]["matched_terms"] == []
    assert first["explanation"]["best_sentence"] == "We measured rainfall across the Andes for ten years."
    assert embedded == [[PARAPHRASE]]  # the query only, no sentence


@pytest.mark.django_db
def test_asked_for_it_the_closest_sentence_in_meaning_is_chosen(client: Client, field_study) -> None:  # type: ignore[no-untyped-def]
    first = _first(client, sentence_by_meaning="true")

    assert first["id"] == field_study.pk
    assert first["explanation"]["best_sentence"].startswith("The vaccine protected infants")


@pytest.mark.django_db
def test_a_shared_word_decides_the_best_sentence_either_way(client: Client, field_study) -> None:  # type: ignore[no-untyped-def]
    for asked in ("false", "true"):
        body = client.get("/api/search", {"q": "malaria in villages", "sentence_by_meaning": asked}).json()
        assert body["results"][0]["explanation"]["best_sentence"].startswith("The vaccine protected infants")


@pytest.mark.django_db
def test_the_search_page_embeds_only_the_query(client: Client, field_study, embedded) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/search", {"q": PARAPHRASE})

    assert response.status_code == 200
    assert "A field study" in response.content.decode()
    assert embedded == [[PARAPHRASE]]
