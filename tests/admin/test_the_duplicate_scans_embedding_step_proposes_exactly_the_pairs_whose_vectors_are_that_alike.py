"""The duplicate scan's embedding step (search.duplicates): exact cosines of stored vectors,
merged papers and other models' vectors left out, off above 1; the scan stores its pairs."""

from __future__ import annotations

from typing import Any

import numpy as np

from papers.duplicates import duplicates_find
from papers.models import DuplicateCandidate, Paper
from search.duplicates import similar_vector_pairs
from search.models import PaperEmbedding

MODEL = "all-MiniLM-L6-v2"


def _store(paper: Paper, vector: list[float], model: str = MODEL) -> None:
    PaperEmbedding.objects.create(
        paper=paper, model=model, dim=len(vector), vector=np.asarray(vector, dtype=np.float32).tobytes(), content_hash=paper.content_hash
    )


def test_only_pairs_at_or_above_the_threshold_are_proposed_with_their_cosine(paper_factory: Any, settings: Any) -> None:
    settings.EMBEDDING_MODEL_NAME = MODEL
    a, b, c, gone, other = (paper_factory(title=f"Unrelated title {word}") for word in ("one", "two", "three", "four", "five"))
    kept = paper_factory(title="The paper another one was merged into")
    Paper.objects.filter(pk=gone.pk).update(merged_into=kept)
    _store(a, [1.0, 0.0, 0.0])
    _store(b, [2.0, 0.1, 0.0])  # cosine 0.9988 with a: the length of a vector does not count
    _store(c, [0.6, 0.8, 0.0])  # cosine 0.6 with a
    _store(gone, [1.0, 0.0, 0.0])  # identical to a, but merged away
    _store(other, [1.0, 0.0, 0.0], model="another-model")

    pairs = similar_vector_pairs(threshold=0.99)
    assert [(p.a, p.b, p.reason) for p in pairs] == [(a.pk, b.pk, "embedding")]
    assert pairs[0].detail == "cosine 0.999" and abs(pairs[0].score - 2 / np.sqrt(4.01)) < 1e-6
    assert {(p.a, p.b) for p in similar_vector_pairs(threshold=0.5)} == {(a.pk, b.pk), (a.pk, c.pk), (b.pk, c.pk)}
    assert similar_vector_pairs(threshold=1.01) == []  # above 1: the step is off

    settings.DUPLICATE_COSINE_THRESHOLD = 0.99
    scan = duplicates_find()
    assert scan.proposed == {"embedding": 1}
    stored = DuplicateCandidate.objects.get()
    assert (stored.paper_a_id, stored.paper_b_id, stored.reason, stored.detail) == (a.pk, b.pk, "embedding", "cosine 0.999")
