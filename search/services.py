"""Writes of the search app: store embeddings, build and publish indexes, coordinate builders."""

from __future__ import annotations

import array
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Count, Max, QuerySet

from papers.models import Paper
from search import coordination, embedder, index_store, keyword, memory
from search.models import EmbeddingFailure, IndexBuild, PaperEmbedding
from search.vector_index import RowFile, choose_kind

logger = logging.getLogger(__name__)

SPOOL_FILE = ".vectors.spool"  # a full build's vectors on their way into its index (never published)


@dataclass
class EmbedSummary:
    embedded: int = 0
    skipped: int = 0  # hash and model already matched
    missing: int = 0  # paper no longer exists


def embeddings_update(*, paper_ids: Sequence[int], force: bool = False) -> EmbedSummary:
    """Embed the given papers and store their vectors; skip those already up to date.

    Safe to run twice, and twice at once: a paper whose stored content hash and model match is
    skipped, and the check is repeated under a row lock just before writing, so a redelivered
    or duplicated batch never writes a vector a second time for the same content version.
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
    vectors = embedder.encode([p.embedding_text for p in todo], bulk=True)
    rows = [
        PaperEmbedding(paper_id=p.pk, model=model, dim=vectors.shape[1], vector=v.tobytes(), content_hash=p.content_hash)
        for p, v in zip(todo, vectors, strict=True)
    ]
    with transaction.atomic():
        # Encoding took a while: another worker may have stored some of these meanwhile.
        stored = dict(
            PaperEmbedding.objects.select_for_update()
            .filter(paper_id__in=[r.paper_id for r in rows], model=model)
            .values_list("paper_id", "content_hash")
        )
        new = [r for r in rows if r.paper_id not in stored]
        changed = [r for r in rows if r.paper_id in stored and (force or stored[r.paper_id] != r.content_hash)]
        # A row inserted by a concurrent worker since the check above wins (same content version).
        PaperEmbedding.objects.bulk_create(new, ignore_conflicts=True)
        if changed:
            PaperEmbedding.objects.bulk_create(
                changed,
                update_conflicts=True,
                unique_fields=["paper", "model"],
                update_fields=["dim", "vector", "content_hash", "updated"],
            )
        EmbeddingFailure.objects.filter(paper_id__in=[p.pk for p in todo], model=model).delete()
    summary.embedded = len(new) + len(changed)
    summary.skipped += len(rows) - summary.embedded
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


def _in_chunks(ids: Sequence[int], size: int = 5_000) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield [int(i) for i in ids[start : start + size]]


def _indexable(model: str) -> QuerySet[PaperEmbedding]:
    return PaperEmbedding.objects.filter(model=model, paper__hidden=False, paper__merged_into__isnull=True)


def _indexable_members(model: str) -> dict[int, str]:
    """paper id -> content hash of every vector ``_indexable`` holds, without reading vectors.

    Two reads instead of one join: every vector's (paper, hash) from the ``embedding_members``
    index, less the few papers that are hidden or merged. At 2.6M papers the join looked up
    each paper's row (11 s on SQLite); these take a few seconds.
    """
    # Two reads, each from its own index, with no ordering: Paper's default order (newest first)
    # made SQLite walk the date index and read every row to test ``hidden`` (10 s at 2.6M).
    excluded = set(Paper.objects.filter(hidden=True).order_by().values_list("id", flat=True))
    excluded |= set(Paper.objects.filter(merged_into__isnull=False).order_by().values_list("id", flat=True))
    rows = PaperEmbedding.objects.filter(model=model).order_by().values_list("paper_id", "content_hash")
    return {paper_id: content_hash for paper_id, content_hash in rows.iterator(chunk_size=50_000) if paper_id not in excluded}


def _fetch_vectors(*, model: str, paper_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(ids, float32 matrix, content hashes) of these visible papers' stored vectors, ordered by
    id (an incremental build's changes; a full build spools all of them: ``_spool_vectors``)."""
    fields = ("paper_id", "vector", "content_hash")
    batches = (_indexable(model).filter(paper_id__in=chunk).values_list(*fields) for chunk in _in_chunks(sorted(paper_ids)))
    ids: list[int] = []
    blobs: list[bytes] = []
    hashes: list[str] = []
    # Rows become float32 blocks every 20,000 vectors: the raw bytes objects of a whole
    # collection (4 GB and their Python headers at 2.6M papers) are never held at once.
    blocks: list[np.ndarray] = []
    for batch in batches:
        for paper_id, vector, content_hash in batch:
            ids.append(paper_id)
            blobs.append(bytes(vector))
            hashes.append(content_hash)
            if len(blobs) == 20_000:
                blocks.append(np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1))
                blobs = []
    if blobs:
        blocks.append(np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1))
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), []
    matrix = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    del blocks
    id_array = np.asarray(ids, dtype=np.int64)
    if len(id_array) < 2 or bool(np.all(id_array[1:] > id_array[:-1])):  # read in id order: no copy
        return id_array, matrix, hashes
    order = np.argsort(id_array, kind="stable")
    return id_array[order], matrix[order], [hashes[i] for i in order]


def _spool_vectors(*, model: str, rows: RowFile, chunk_size: int = 20_000) -> tuple[np.ndarray, list[str]]:
    """Every stored vector of the visible papers appended to ``rows`` in id order, in one read of
    the database; returns (ids, content hash prefixes) of the same rows.

    A full build's vectors go to a file as they arrive, 20,000 at a time: the collection's
    matrix (4 GB at 2.6M papers) is never in memory, and neither are the raw bytes of its rows.
    """
    ids = array.array("q")  # 8 bytes a paper, not a Python int's 36
    hashes: list[str] = []
    blobs: list[bytes] = []

    def flush() -> None:
        if blobs:
            width = len(blobs[0])
            if any(len(b) != width for b in blobs) or width % 4:  # rows.append checks the dimension
                raise ValueError(f"stored vectors of model {model} differ in size (papers {ids[-len(blobs)]}..{ids[-1]})")
            rows.append(np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), width // 4))
            blobs.clear()

    query = _indexable(model).order_by("paper_id").values_list("paper_id", "vector", "content_hash")
    for paper_id, vector, content_hash in query.iterator(chunk_size=chunk_size):
        if ids and paper_id <= ids[-1]:
            raise RuntimeError(f"vectors arrived out of id order ({paper_id} after {ids[-1]})")
        ids.append(paper_id)
        hashes.append(content_hash[:16])  # what a build's members record
        blobs.append(bytes(vector))
        if len(blobs) == chunk_size:
            flush()
    flush()
    return np.frombuffer(ids, dtype=np.int64).copy(), hashes


def _watermark(model: str) -> dict[str, Any]:
    """How far the database had got when a build read it (taken before the read: conservative)."""
    # Counted from indexes (embedding_members, the papers' primary key); latest from the indexed ``updated``.
    embeddings = PaperEmbedding.objects.filter(model=model).aggregate(count=Count("paper"), latest=Max("updated"))
    papers = Paper.objects.aggregate(count=Count("id"), latest=Max("updated"))
    return {
        "taken_at": dt.datetime.now(dt.UTC).isoformat(),
        "embeddings": embeddings["count"],
        "embeddings_updated": embeddings["latest"].isoformat() if embeddings["latest"] else None,
        "papers": papers["count"],
        "papers_updated": papers["latest"].isoformat() if papers["latest"] else None,
    }


@dataclass(frozen=True)
class _Base:
    """The build an incremental build starts from: verified, with its members."""

    build_id: str
    manifest: dict[str, Any]
    members: dict[int, str]


def _usable_base(*, model: str, backend: str, kind: str | None) -> _Base | None:
    """The current build and its members, if an incremental build may start from it.

    Not when it is damaged, for another model or backend, or of another index kind than this
    collection size now calls for (INDEX_KIND "auto" moves from exact to IVF as it grows).
    """
    build_id = index_store.current_build_id()
    if build_id is None:
        return None
    try:
        manifest = index_store.verify_build(build_id, expected_model=model)
        members = index_store.read_members(build_id)
    except index_store.IndexRefused as exc:
        logger.warning("current build unusable as a base (%s): rebuilding from scratch", exc)
        return None
    if members is None or manifest.get("backend") != backend:
        return None
    if kind is not None and manifest.get("index_kind") != kind:
        logger.info("current build is a %s index, %s wanted: rebuilding from scratch", manifest.get("index_kind"), kind)
        return None
    return _Base(build_id, manifest, members)


@dataclass
class _Contents:
    """What a new build holds, its vectors already written into the build's writer."""

    kind: str
    ids: np.ndarray
    hashes: list[str]
    dim: int
    base_build: str = ""
    added: int = 0
    removed: int = 0
    # What the keyword index re-reads (new and changed papers) and drops (gone and changed).
    keyword_added: np.ndarray | None = None
    keyword_removed: np.ndarray | None = None


def _incremental(*, base: _Base, target: dict[int, str], model: str, writer: index_store.BuildWriter) -> _Contents | None:
    """The base build plus the database's changes since, written into ``writer``; None when a
    full build is cheaper or the base cannot be updated (then ``writer`` holds nothing usable)."""
    base_id, base_members = base.build_id, base.members
    gone = [i for i in base_members if i not in target]
    changed = [i for i, h in target.items() if i in base_members and base_members[i] != h[:16]]
    new = [i for i in target if i not in base_members]
    if len(gone) + len(changed) + len(new) > settings.INDEX_FULL_REBUILD_RATIO * max(len(target), 1):
        return None
    ids, matrix, hashes = _fetch_vectors(model=model, paper_ids=changed + new)
    try:
        index = index_store.write_update(writer, base_id, base.manifest, remove=np.asarray(gone + changed, dtype=np.int64), ids=ids, vectors=matrix)
    except (RuntimeError, ValueError) as exc:  # e.g. an index kind that cannot remove, another dim
        logger.info("incremental update of %s not possible (%s): full rebuild", base_id, exc)
        return None
    changed_set = set(changed)
    members = {i: base_members[i] for i in target if i in base_members and i not in changed_set}
    members.update(zip((int(i) for i in ids), hashes, strict=True))
    member_ids = np.asarray(sorted(members), dtype=np.int64)
    if len(index) != len(member_ids):
        logger.warning("incremental update of %s disagrees with its members: full rebuild", base_id)
        return None
    return _Contents(
        kind="incremental",
        ids=member_ids,
        hashes=[members[int(i)] for i in member_ids],
        dim=int(index.dim),
        base_build=base_id,
        added=len(ids),
        removed=len(gone) + len(changed),
        keyword_added=np.asarray(ids, dtype=np.int64),
        keyword_removed=np.asarray(gone + changed, dtype=np.int64),
    )


def _full(*, model: str, backend: str, writer: index_store.BuildWriter) -> _Contents:
    """Every stored vector, written into ``writer`` as a new index of the configured kind.

    The vectors pass through a spool file in the staging directory (removed before the build is
    finished): the builder holds the index's copy of them, not a second one as well.
    """
    rows = RowFile(writer.staging / SPOOL_FILE)
    try:
        ids, hashes = _spool_vectors(model=model, rows=rows)
        index_store.write_vectors(writer, backend=backend, ids=ids, vectors=rows, dim=rows.dim or 1)
    finally:
        rows.path.unlink(missing_ok=True)
    return _Contents(kind="full", ids=ids, hashes=hashes, dim=rows.dim, added=len(ids))


def index_build(
    *, full: bool = False, backend: str = "faiss", if_changed: bool = False, wait: float = 0.0
) -> IndexBuild | None:
    """Publish an index of every visible paper's stored vector, atomically.

    Starts from the current build and applies the database's changes since (papers added,
    re-embedded, hidden, merged or deleted); rebuilds from scratch when ``full``, when there is
    no usable current build, or when the changes exceed INDEX_FULL_REBUILD_RATIO of the
    collection. Reads vectors from the database only (never re-embeds), so losing INDEX_DIR
    loses nothing. With ``if_changed``, a build that would change nothing is skipped and None
    returned. Raises BuildBusy when another builder holds the lock for ``wait`` seconds.
    """
    try:
        return _index_build(full=full, backend=backend, if_changed=if_changed, wait=wait)
    finally:
        # What a build freed (a full build's matrix of vectors: 4 GB at 2.6M papers) goes back
        # to the system, not kept by a long-lived worker (search/memory.py).
        memory.release_freed_memory()


def _index_build(*, full: bool, backend: str, if_changed: bool, wait: float) -> IndexBuild | None:
    model = embedder.model_name()
    with coordination.builder_lock(wait=wait):
        started = time.perf_counter()
        # From here on, a build request is for changes this build may not see: it schedules another.
        coordination.build_request_clear()
        watermark = _watermark(model)
        target = _indexable_members(model)
        kind = choose_kind(len(target)) if backend == "faiss" else None
        base = None if full else _usable_base(model=model, backend=backend, kind=kind)
        if base is not None and if_changed and base.members == {i: h[:16] for i, h in target.items()}:
            logger.info("index build %s is up to date with the database; nothing to build", base.build_id)
            index_store.remove_old_builds()
            return None
        writer = index_store.BuildWriter(base_build=base.build_id if base is not None else None)
        attempt = "full" if base is None else "incremental"
        try:
            contents = None if base is None else _incremental(base=base, target=target, model=model, writer=writer)
            if contents is None:
                if base is not None:  # start again from an empty staging directory
                    writer.abort()
                    writer, attempt = index_store.BuildWriter(), "full"
                target, base = {}, None  # a full build reads its members with its vectors (~0.5 GB at 2.6M)
                contents = _full(model=model, backend=backend, writer=writer)
            index_store.write_members(writer, ids=contents.ids, hashes=contents.hashes)
            # What only the vector half needed goes before the keyword half: the database's
            # members, the base's and the content hashes (~0.7 GB of Python dicts and strings at
            # 2.6M papers, held through the keyword half until now).
            contents.hashes, target, base = [], {}, None
            # The vectors are written and freed (4 GB at 2.6M papers, for a full build) before the
            # keyword index is built from the same ids, so both halves describe the same papers.
            # An incremental build analyses only the papers it adds and hard-links the base's segments.
            # The IVF lists' freed heap goes back to the system first: the keyword half's large
            # arrays are mapped afresh beside it, not made from it (1M papers: 1.5 GB, run 8).
            memory.release_freed_memory()
            keyword_files, keyword_facts = keyword.write_keyword_index(
                writer.staging,
                ids=contents.ids,
                base=index_store.builds_dir() / contents.base_build if contents.base_build else None,
                added=contents.keyword_added,
                removed=contents.keyword_removed,
                segment_name=f"s-{writer.build_id}",
            )
            writer.files.extend(keyword_files)
            manifest = writer.finish(
                backend=backend,
                model=model,
                dim=contents.dim or 1,
                count=len(contents.ids),
                extra={
                    "kind": contents.kind,
                    "keyword": keyword_facts,
                    "base_build": contents.base_build or None,
                    "added": contents.added,
                    "removed": contents.removed,
                    "watermark": watermark,
                },
            )
        except Exception as exc:
            writer.abort()
            _record_failed_build(build_id=writer.build_id, model=model, kind=attempt, started=started, error=exc)
            raise
        except BaseException:
            writer.abort()
            raise
        index_store.publish(writer.build_id)
        build = IndexBuild.objects.create(
            build_id=writer.build_id,
            model=model,
            dim=manifest["dim"],
            count=manifest["count"],
            kind=contents.kind,
            sha256=manifest["sha256"],
            duration_s=time.perf_counter() - started,
            base_build=contents.base_build,
            added=contents.added,
            removed=contents.removed,
        )
        index_store.remove_old_builds()
    logger.info(
        "published %s index build %s: %d papers (+%d -%d) in %.2fs",
        build.kind, build.build_id, build.count, build.added, build.removed, build.duration_s,
    )
    return build


def _record_failed_build(*, build_id: str, model: str, kind: str, started: float, error: BaseException) -> None:
    try:
        IndexBuild.objects.create(
            build_id=build_id,
            model=model,
            kind=kind,
            status=IndexBuild.Status.FAILED,
            duration_s=time.perf_counter() - started,
            error=f"{type(error).__name__}: {error}"[:4000],
        )
    except DatabaseError:  # the database may be why the build failed; the log still has it
        logger.exception("could not record the failed index build %s", build_id)


@dataclass
class RepairSummary:
    embedded: int = 0
    failed: list[int] = field(default_factory=list)
    build: IndexBuild | None = None


def index_repair(*, full: bool, batch_size: int = 256, progress: Callable[[int], None] | None = None) -> RepairSummary:
    """Make the database and the published index agree again (``verify_index --repair``).

    Embeds, in this process, every paper whose vector is missing or stale (so it works with the
    broker down), then publishes a build: from scratch when ``full`` (the current build is
    damaged or unreadable), else incrementally. Waits for a running builder rather than racing it.
    """
    from search.selectors import papers_needing_embedding

    summary = RepairSummary()
    ids = papers_needing_embedding()
    for chunk in _in_chunks(ids, batch_size):
        try:
            summary.embedded += embeddings_update(paper_ids=chunk).embedded
        except DatabaseError:
            raise
        except Exception as exc:  # noqa: BLE001 - any model error: find the paper that causes it
            for paper_id in chunk:  # one by one, so a single bad paper does not sink the rest
                try:
                    summary.embedded += embeddings_update(paper_ids=[paper_id]).embedded
                except Exception as single:  # noqa: BLE001 - recorded, shown by index_status
                    embedding_failure_record(paper_ids=[paper_id], error=f"{type(single).__name__}: {single}")
                    summary.failed.append(paper_id)
            logger.warning("repair: a batch failed (%s); retried paper by paper", exc)
        if progress:
            progress(len(chunk))
    summary.build = index_build(full=full, if_changed=not full, wait=float(settings.CELERY_TASK_TIME_LIMIT))
    return summary
