"""Writes of the search app: store embeddings, build and publish indexes."""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction

from papers.models import Paper
from search import embedder, index_store
from search.models import EmbeddingFailure, IndexBuild, PaperEmbedding

logger = logging.getLogger(__name__)


@dataclass
class EmbedSummary:
    embedded: int = 0
    skipped: int = 0  # hash and model already matched
    missing: int = 0  # paper no longer exists


def embeddings_update(*, paper_ids: Sequence[int], force: bool = False) -> EmbedSummary:
    """Embed the given papers and store their vectors; skip those already up to date.

    Safe to run twice: a paper whose stored content hash and model match is skipped.
    """
    model = embedder.model_name()
    papers = list(Paper.objects.filter(pk__in=list(paper_ids)).only("id", "title", "abstract", "content_hash"))
    current = dict(
        PaperEmbedding.objects.filter(paper_id__in=[p.pk for p in papers], model=model).values_list(
            "paper_id", "content_hash"
        )
    )
    todo = [p for p in papers if force or current.get(p.pk) != p.content_hash]
    summary = EmbedSummary(skipped=len(papers) - len(todo), missing=len(set(paper_ids)) - len(papers))
    if not todo:
        return summary
    vectors = embedder.encode([p.embedding_text for p in todo])
    rows = [
        PaperEmbedding(paper_id=p.pk, model=model, dim=vectors.shape[1], vector=v.tobytes(), content_hash=p.content_hash)
        for p, v in zip(todo, vectors, strict=True)
    ]
    with transaction.atomic():
        PaperEmbedding.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["paper", "model"],
            update_fields=["dim", "vector", "content_hash", "updated"],
        )
        EmbeddingFailure.objects.filter(paper_id__in=[p.pk for p in todo], model=model).delete()
    summary.embedded = len(rows)
    return summary


def embedding_failure_record(*, paper_ids: Sequence[int], error: str) -> None:
    """Remember why papers could not be embedded (shown by index_status and the admin)."""
    model = embedder.model_name()
    for paper_id in Paper.objects.filter(pk__in=list(paper_ids)).values_list("pk", flat=True):
        failure, created = EmbeddingFailure.objects.get_or_create(
            paper_id=paper_id, model=model, defaults={"error": error[:4000]}
        )
        if not created:
            failure.error, failure.attempts = error[:4000], failure.attempts + 1
            failure.save(update_fields=["error", "attempts", "updated"])


def indexable_vectors(*, model: str, chunk_size: int = 20_000) -> tuple[np.ndarray, np.ndarray, int]:
    """All stored vectors of visible papers for ``model``: (ids, matrix, dim)."""
    rows = (
        PaperEmbedding.objects.filter(model=model, paper__hidden=False, paper__merged_into__isnull=True)
        .order_by("paper_id")
        .values_list("paper_id", "vector")
    )
    ids: list[int] = []
    blobs: list[bytes] = []
    for paper_id, vector in rows.iterator(chunk_size=chunk_size):
        ids.append(paper_id)
        blobs.append(bytes(vector))
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), 0
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1)
    return np.asarray(ids, dtype=np.int64), matrix, int(matrix.shape[1])


class BuildBusy(Exception):
    """Another process holds the builder lock."""


@contextmanager
def builder_lock() -> Iterator[None]:
    """Exactly one index writer at a time (an OS file lock next to the builds)."""
    index_store.index_dir().mkdir(parents=True, exist_ok=True)
    with open(index_store.index_dir() / "build.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildBusy("another index build is running") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def index_build(*, backend: str = "faiss") -> IndexBuild:
    """Build an index of every visible paper's stored vector and publish it atomically.

    Reads vectors from the database only (never re-embeds), so losing INDEX_DIR loses nothing.
    Raises BuildBusy when another build is running.
    """
    started = time.perf_counter()
    model = embedder.model_name()
    with builder_lock():
        ids, matrix, dim = indexable_vectors(model=model)
        writer = index_store.BuildWriter()
        try:
            index_store.write_vectors(writer, backend=backend, ids=ids, vectors=matrix, dim=dim or 1)
            manifest = writer.finish(
                backend=backend, model=model, dim=dim or 1, count=len(ids), extra={"kind": "full"}
            )
        except BaseException:
            writer.abort()
            raise
        index_store.publish(writer.build_id)
        build = IndexBuild.objects.create(
            build_id=writer.build_id,
            model=model,
            dim=manifest["dim"],
            count=manifest["count"],
            kind="full",
            sha256=manifest["sha256"],
            duration_s=time.perf_counter() - started,
        )
        index_store.remove_old_builds()
    logger.info("published index build %s with %d vectors", build.build_id, build.count)
    return build
