"""Embed tasks: a redelivered batch changes nothing; a paper that cannot be embedded is isolated,
its error recorded, and the rest of its batch stored."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from search import embedder
from search.models import EmbeddingFailure, PaperEmbedding
from search.selectors import index_status
from search.tasks import backoff, embed_papers


@pytest.mark.django_db
def test_a_redelivered_batch_writes_nothing(paper_factory) -> None:  # type: ignore[no-untyped-def]
    ids = [paper_factory().pk for _ in range(4)]
    first = embed_papers.delay(ids).get()
    stamps = dict(PaperEmbedding.objects.values_list("paper_id", "updated"))
    again = embed_papers.delay(ids).get()
    assert first["embedded"] == 4 and again == {"embedded": 0, "skipped": 4, "missing": 0, "failed": 0}
    assert dict(PaperEmbedding.objects.values_list("paper_id", "updated")) == stamps


@pytest.mark.django_db
def test_a_bad_paper_is_split_off_and_recorded_and_its_batch_mates_are_stored(paper_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    good = [paper_factory().pk for _ in range(6)]
    bad = paper_factory(title="POISON", abstract="This text makes the model fail.").pk
    real_encode = embedder.encode

    def encode(texts: Sequence[str], *, batch_size: int | None = None, bulk: bool = False) -> np.ndarray:
        if any("POISON" in t for t in texts):
            raise RuntimeError("tokenizer exploded")
        return real_encode(texts, batch_size=batch_size, bulk=bulk)

    monkeypatch.setattr(embedder, "encode", encode)
    embed_papers.delay([*good[:3], bad, *good[3:]])

    assert set(PaperEmbedding.objects.values_list("paper_id", flat=True)) == set(good)
    failure = EmbeddingFailure.objects.get()
    assert failure.paper_id == bad and "RuntimeError: tokenizer exploded" in failure.error
    status = index_status(details=True)
    assert status.failed == 1 and status.failures[0]["paper"] == bad
    assert status.pending == 1


def test_retries_back_off_exponentially_with_jitter_up_to_a_cap() -> None:
    for retries in range(12):
        ceiling = min(600, 5 * 2**retries)
        samples = [backoff(retries) for _ in range(50)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples)
        assert len(set(samples)) > 1  # jittered
