"""The duplicate scan's embedding step: pairs of papers whose stored vectors nearly coincide.

The papers app owns the review queue; its scan sends ``papers.signals.duplicate_scan_started``
and ``search.apps`` answers with ``similar_vector_pairs``, which the scan stores through
``papers.duplicates.duplicates_propose`` together with the pairs it found itself.
"""

from __future__ import annotations

import numpy as np
from django.conf import settings

from papers.duplicates import DuplicatePair
from papers.models import DuplicateCandidate
from search.models import PaperEmbedding

_SCORES_PER_CHUNK = 1 << 25  # 32M float32 scores (128 MB) at a time


def similar_vector_pairs(*, threshold: float | None = None, model: str | None = None) -> list[DuplicatePair]:
    """Pairs of unmerged papers whose stored vectors have a cosine of at least ``threshold``.

    ``threshold`` defaults to ``DUPLICATE_COSINE_THRESHOLD``; above 1 the step is off. Exact
    all-pairs inner products of the normalised vectors of ``model`` (default
    ``EMBEDDING_MODEL_NAME``), a block of rows at a time.
    """
    threshold = settings.DUPLICATE_COSINE_THRESHOLD if threshold is None else threshold
    if threshold > 1.0:
        return []
    rows = (
        PaperEmbedding.objects.filter(model=model or settings.EMBEDDING_MODEL_NAME, paper__merged_into__isnull=True)
        .order_by("paper_id")
        .values_list("paper_id", "vector")
    )
    ids: list[int] = []
    blobs: list[bytes] = []
    for paper_id, vector in rows.iterator(chunk_size=5000):
        ids.append(paper_id)
        blobs.append(bytes(vector))
    if len(ids) < 2:
        return []
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1)
    matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    pairs: list[DuplicatePair] = []
    step = max(1, _SCORES_PER_CHUNK // len(ids))
    for start in range(0, len(ids), step):
        scores = matrix[start : start + step] @ matrix.T
        rows_i, cols = np.nonzero(scores >= threshold)
        for r, c in zip(rows_i.tolist(), cols.tolist(), strict=True):
            if start + r < c:
                score = float(scores[r, c])
                pairs.append(DuplicatePair(ids[start + r], ids[c], DuplicateCandidate.Reason.EMBEDDING, f"cosine {score:.3f}", score))
    return pairs
