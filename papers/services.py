"""Writes to the collection. Every path that creates or changes papers goes through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.db import transaction
from django.db.models import Q

from papers import provenance as prov
from papers.models import DuplicateCandidate, ImportJob, Paper, RelatedLink
from papers.records import PaperRecord, RecordError
from papers.signals import import_job_created, papers_changed, papers_merged, papers_visibility_changed
from papers.upsert import ImportSummary, papers_upsert

__all__ = ["ImportSummary", "papers_import", "papers_upsert"]

def papers_import(
    *,
    source: str | Path | BinaryIO,
    fmt: str = "auto",
    name: str | None = None,
    embed: bool = True,
    on_error: Callable[[RecordError], None] | None = None,
    on_batch: Callable[[ImportSummary], None] | None = None,
    max_bytes: int | None = None,
) -> ImportSummary:
    """Import one file (path or binary file object): parse, report bad records, upsert the rest.

    The file's name is the records' source in each paper's provenance.
    """
    from papers.importers import read_records

    errors: list[str] = []
    label = name or (Path(source).name if isinstance(source, str | Path) else Path(str(getattr(source, "name", "") or "upload")).name)

    def good_records() -> Iterator[PaperRecord]:
        for item in read_records(source, fmt=fmt, name=name, max_bytes=max_bytes):
            if isinstance(item, RecordError):
                errors.append(str(item))
                if on_error:
                    on_error(item)
            else:
                yield item

    summary = papers_upsert(records=good_records(), source=label, embed=embed, on_batch=on_batch)
    summary.errors.extend(errors)
    return summary


def papers_set_hidden(*, paper_ids: Iterable[int], hidden: bool) -> int:
    """Hide or unhide papers; search stops (or starts) showing them at once."""
    ids = list(paper_ids)
    count = Paper.objects.filter(pk__in=ids).exclude(hidden=hidden).update(hidden=hidden)
    transaction.on_commit(lambda: papers_visibility_changed.send(sender=Paper, paper_ids=ids))
    return count


def papers_set_featured(*, paper_ids: Iterable[int], featured: bool) -> int:
    """Feature or unfeature papers (shown on the home page)."""
    return Paper.objects.filter(pk__in=list(paper_ids)).exclude(featured=featured).update(featured=featured)


def paper_update(*, paper: Paper, **fields: object) -> Paper:
    """Change a paper's fields; a changed title or abstract is re-embedded after commit."""
    old_hash = paper.content_hash
    for name, value in fields.items():
        setattr(paper, name, value)
    paper.save()
    if paper.content_hash != old_hash:
        pk = paper.pk
        transaction.on_commit(lambda: papers_changed.send(sender=Paper, paper_ids=[pk]))
    return paper


# --- Curation: merge duplicates, find candidates, curated related links, admin imports ----


@dataclass
class MergeResult:
    kept: Paper
    dropped: Paper
    changed_fields: list[str] = field(default_factory=list)
    ids_left_on_dropped: list[str] = field(default_factory=list)  # conflicting identifiers


def _union(first: Iterable[str], second: Iterable[str]) -> list[str]:
    """Both lists in order, without repeats (compared case-insensitively, spaces trimmed)."""
    seen: set[str] = set()
    merged: list[str] = []
    for item in [*first, *second]:
        key = " ".join(str(item).split()).casefold()
        if key and key not in seen:
            seen.add(key)
            merged.append(str(item).strip())
    return merged


def _merged_values(keep: Paper, drop: Paper) -> tuple[dict[str, object], dict[str, object], list[str]]:
    """Field values for the kept and the dropped paper, and the identifiers left behind."""
    kept: dict[str, object] = {
        "title": keep.title or drop.title,
        # The richer text wins: versions of a paper differ mostly by a longer abstract.
        "abstract": keep.abstract if len(keep.abstract.strip()) >= len(drop.abstract.strip()) else drop.abstract,
        "authors": _union(keep.authors, drop.authors),
        "categories": _union(keep.categories, drop.categories),
        "published": keep.published or drop.published,
        "links": {**drop.links, **keep.links},
        "featured": keep.featured or drop.featured,
    }
    dropped: dict[str, object] = {"merged_into": keep, "featured": False}
    left: list[str] = []
    for name in ("arxiv_id", "doi"):
        mine, theirs = getattr(keep, name), getattr(drop, name)
        if theirs and not mine:
            kept[name] = theirs
            dropped[name] = None  # frees the unique value before the kept paper takes it
        elif theirs and theirs != mine:
            left.append(f"{name}={theirs}")  # conflicting: stays on the merged paper, still found
    return kept, dropped, left


def papers_merge(*, keep: Paper, drop: Paper, by: str = "curator") -> MergeResult:
    """Merge ``drop`` into ``keep``: one paper is left, with the richer metadata of both.

    ``keep`` takes the longer abstract, the union of authors, categories and links, and the
    identifiers it lacks. ``drop`` stays as a row pointing at ``keep`` (``merged_into``) so
    its old URL redirects; it leaves search, and the search app drops its vectors in this
    same transaction (``papers_merged``). Curated links and earlier merges move to ``keep``.
    """
    if keep.pk == drop.pk:
        raise ValueError("a paper cannot be merged into itself")
    with transaction.atomic():
        locked = Paper.objects.select_for_update().in_bulk([keep.pk, drop.pk])
        keep, drop = locked[keep.pk], locked[drop.pk]
        for paper in (keep, drop):
            if paper.merged_into_id:
                raise ValueError(f"paper #{paper.pk} was already merged into #{paper.merged_into_id}")
        old_hash = keep.content_hash
        kept_values, dropped_values, left = _merged_values(keep, drop)
        changed = [name for name, value in kept_values.items() if getattr(keep, name) != value]
        for name, value in dropped_values.items():
            setattr(drop, name, value)
        drop.save()
        for name, value in kept_values.items():
            setattr(keep, name, value)
        # A merge is a curator's decision: what it chose is not undone by the next import.
        at = prov.stamp()
        keep.provenance = {
            **(keep.provenance or {}),
            **{n: prov.from_curator(by=by, at=at, note=f"merged with #{drop.pk}") for n in changed if n in prov.TRACKED},
        }
        keep.save()
        # Earlier merges into the dropped paper now point straight at the kept one.
        Paper.objects.filter(merged_into=drop).update(merged_into=keep)
        _move_related_links(keep=keep, drop=drop)
        a, b = sorted((keep.pk, drop.pk))
        DuplicateCandidate.objects.filter(paper_a_id=a, paper_b_id=b).update(
            status=DuplicateCandidate.Status.MERGED, decided=dt.datetime.now(dt.UTC)
        )
        # Other open pairs of the dropped paper are moot; the next scan proposes the kept one.
        DuplicateCandidate.objects.filter(Q(paper_a=drop) | Q(paper_b=drop), status=DuplicateCandidate.Status.OPEN).delete()
        papers_merged.send(sender=Paper, paper_ids=[drop.pk], into_id=keep.pk)
        ids = [keep.pk, drop.pk]
        transaction.on_commit(lambda: papers_visibility_changed.send(sender=Paper, paper_ids=ids))
        if keep.content_hash != old_hash:
            pk = keep.pk
            transaction.on_commit(lambda: papers_changed.send(sender=Paper, paper_ids=[pk]))
    return MergeResult(kept=keep, dropped=drop, changed_fields=changed, ids_left_on_dropped=left)


def _move_related_links(*, keep: Paper, drop: Paper) -> None:
    """Curated links of and to the dropped paper now belong to the kept one (no repeats)."""
    taken = set(RelatedLink.objects.filter(paper=keep).values_list("related_id", flat=True))
    for link in RelatedLink.objects.filter(paper=drop):
        if link.related_id == keep.pk or link.related_id in taken:
            link.delete()
        else:
            link.paper = keep
            link.save(update_fields=["paper"])
            taken.add(link.related_id)
    for link in RelatedLink.objects.filter(related=drop):
        if link.paper_id == keep.pk or RelatedLink.objects.filter(paper_id=link.paper_id, related=keep).exists():
            link.delete()
        else:
            link.related = keep
            link.save(update_fields=["related"])


@dataclass
class DuplicateScan:
    """What a scan found: new pairs per reason, and pairs already known (open or decided)."""

    proposed: dict[str, int] = field(default_factory=dict)
    known: int = 0

    @property
    def total(self) -> int:
        return sum(self.proposed.values())

    def __str__(self) -> str:
        parts = ", ".join(f"{count} by {reason}" for reason, count in sorted(self.proposed.items()))
        return f"{self.total} new candidate pairs ({parts or 'none'}); {self.known} already known"


# Strongest evidence first: a pair found for several reasons is stored with the strongest.
_REASON_RANK = {
    DuplicateCandidate.Reason.ARXIV_ID: 0,
    DuplicateCandidate.Reason.DOI: 1,
    DuplicateCandidate.Reason.TITLE: 2,
    DuplicateCandidate.Reason.EMBEDDING: 3,
}
_TITLE_BLOCK_LIMIT = 200  # larger blocks are generic prefixes ("a survey of ..."): skip


class _Proposals:
    def __init__(self) -> None:
        self.pairs: dict[tuple[int, int], tuple[str, str, float]] = {}

    def add(self, a: int, b: int, reason: str, detail: str, score: float) -> None:
        if a == b:
            return
        key = (min(a, b), max(a, b))
        current = self.pairs.get(key)
        if current is None or _REASON_RANK[reason] < _REASON_RANK[current[0]]:  # type: ignore[index]
            self.pairs[key] = (reason, detail[:300], score)

    def add_groups(self, groups: dict[str, list[int]], reason: str, label: str) -> None:
        for key, ids in groups.items():
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    self.add(a, b, reason, f"{label} {key}", 1.0)


def _link_identifiers(links: dict[str, str], normalize: Callable[[str], str], host: str) -> set[str]:
    return {found for url in (links or {}).values() if host in str(url) and (found := normalize(str(url)))}


def _near_titles(titles: dict[int, str], proposals: _Proposals, *, ratio: float) -> None:
    """Pairs whose normalised titles are equal or nearly so (blocked by first and last words)."""
    from difflib import SequenceMatcher

    blocks: dict[tuple[str, str], list[int]] = {}
    for pk, title in titles.items():
        words = title.split()
        if not words:
            continue
        blocks.setdefault(("head", " ".join(words[:3])), []).append(pk)
        blocks.setdefault(("tail", " ".join(words[-3:])), []).append(pk)
    for ids in blocks.values():
        if len(ids) < 2 or len(ids) > _TITLE_BLOCK_LIMIT:
            continue
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                if titles[a] == titles[b]:
                    proposals.add(a, b, DuplicateCandidate.Reason.TITLE, "identical normalised title", 1.0)
                    continue
                matcher = SequenceMatcher(None, titles[a], titles[b], autojunk=False)
                if matcher.quick_ratio() >= ratio and (score := matcher.ratio()) >= ratio:
                    proposals.add(a, b, DuplicateCandidate.Reason.TITLE, f"titles {score:.0%} alike", score)


def _similar_vectors(proposals: _Proposals, *, threshold: float, model: str) -> None:
    """Pairs whose stored vectors have a cosine of at least ``threshold`` (exact, in chunks).

    Vectors are read through the ``embeddings`` relation the search app declares on Paper, so
    the papers app needs no import of search; without it this step finds nothing.
    """
    import numpy as np

    try:
        embedding_model = Paper._meta.get_field("embeddings").related_model
    except Exception:  # noqa: BLE001 - FieldDoesNotExist or LookupError: the search app is not installed
        return
    rows = (
        embedding_model.objects.filter(model=model, paper__merged_into__isnull=True)
        .order_by("paper_id")
        .values_list("paper_id", "vector")
    )
    ids: list[int] = []
    blobs: list[bytes] = []
    for paper_id, vector in rows.iterator(chunk_size=5000):
        ids.append(paper_id)
        blobs.append(bytes(vector))
    if len(ids) < 2:
        return
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1)
    matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    # Exact all-pairs in row chunks of about 32M scores (128 MB) at a time.
    step = max(1, (1 << 25) // len(ids))
    for start in range(0, len(ids), step):
        scores = matrix[start : start + step] @ matrix.T
        rows_i, cols = np.nonzero(scores >= threshold)
        for r, c in zip(rows_i.tolist(), cols.tolist(), strict=True):
            if start + r < c:
                score = float(scores[r, c])
                proposals.add(ids[start + r], ids[c], DuplicateCandidate.Reason.EMBEDDING, f"cosine {score:.3f}", score)


def duplicates_find(
    *,
    cosine_threshold: float | None = None,
    title_ratio: float | None = None,
    model: str | None = None,
) -> DuplicateScan:
    """Propose pairs of papers that may be the same work, each with its reason.

    Reasons, strongest first: the same arXiv id without version (from the id or a link), the
    same DOI, near-identical normalised titles, stored vectors with a cosine of at least
    ``cosine_threshold``. Merged papers are left out; a pair already in the queue, whatever
    its status, is never proposed again (so a dismissed pair stays dismissed).
    """
    from django.conf import settings

    from papers.normalize import normalize_arxiv_id, normalize_doi

    cosine_threshold = settings.DUPLICATE_COSINE_THRESHOLD if cosine_threshold is None else cosine_threshold
    title_ratio = settings.DUPLICATE_TITLE_RATIO if title_ratio is None else title_ratio
    proposals = _Proposals()
    by_arxiv: dict[str, list[int]] = {}
    by_doi: dict[str, list[int]] = {}
    titles: dict[int, str] = {}
    rows = Paper.objects.filter(merged_into__isnull=True).values_list("pk", "arxiv_id", "doi", "normalized_title", "links")
    for pk, arxiv_id, doi, title, links in rows.iterator(chunk_size=5000):
        arxiv_ids = {normalize_arxiv_id(arxiv_id or "")} | _link_identifiers(links, normalize_arxiv_id, "arxiv.org")
        for key in arxiv_ids - {""}:
            by_arxiv.setdefault(key, []).append(pk)
        dois = {normalize_doi(doi or "")} | _link_identifiers(links, normalize_doi, "doi.org")
        for key in dois - {""}:
            by_doi.setdefault(key, []).append(pk)
        if title:
            titles[pk] = title
    proposals.add_groups(by_arxiv, DuplicateCandidate.Reason.ARXIV_ID, "arXiv")
    proposals.add_groups(by_doi, DuplicateCandidate.Reason.DOI, "DOI")
    _near_titles(titles, proposals, ratio=title_ratio)
    if cosine_threshold <= 1.0:
        _similar_vectors(proposals, threshold=cosine_threshold, model=model or settings.EMBEDDING_MODEL_NAME)

    known = set(DuplicateCandidate.objects.values_list("paper_a_id", "paper_b_id"))
    scan = DuplicateScan(known=len(proposals.pairs.keys() & known))
    new = [
        DuplicateCandidate(paper_a_id=a, paper_b_id=b, reason=reason, detail=detail, score=score)
        for (a, b), (reason, detail, score) in sorted(proposals.pairs.items())
        if (a, b) not in known
    ]
    DuplicateCandidate.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    for candidate in new:
        scan.proposed[candidate.reason] = scan.proposed.get(candidate.reason, 0) + 1
    return scan


def duplicate_dismiss(*, candidates: Iterable[DuplicateCandidate], user: object | None = None) -> int:
    """Dismiss pairs for good: the record stays, so no later scan proposes the pair again."""
    ids = [c.pk for c in candidates]
    return DuplicateCandidate.objects.filter(pk__in=ids, status=DuplicateCandidate.Status.OPEN).update(
        status=DuplicateCandidate.Status.DISMISSED,
        decided=dt.datetime.now(dt.UTC),
        decided_by=user if getattr(user, "pk", None) else None,
    )


def related_link_set(*, paper: Paper, related: Paper, kind: str, position: int | None = None) -> RelatedLink:
    """Pin ``related`` on ``paper``'s related list (at ``position``, default last) or suppress it."""
    if paper.pk == related.pk:
        raise ValueError("a paper cannot be related to itself")
    if kind not in RelatedLink.Kind.values:
        raise ValueError(f"kind must be one of {', '.join(RelatedLink.Kind.values)}")
    if position is None:
        last = RelatedLink.objects.filter(paper=paper, kind=kind).order_by("-position").first()
        position = last.position + 1 if last else 0
    link, _ = RelatedLink.objects.update_or_create(
        paper=paper, related=related, defaults={"kind": kind, "position": position}
    )
    return link


def related_link_remove(*, paper: Paper, related: Paper) -> int:
    """Forget the curator's pin or suppression of ``related`` on ``paper``."""
    return RelatedLink.objects.filter(paper=paper, related=related).delete()[0]


def import_job_create(*, name: str, data: bytes, fmt: str = "auto", user: object | None = None) -> ImportJob:
    """Store an uploaded file as an import job and run it in the background after commit."""
    from papers.importers import FORMATS

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    job = ImportJob.objects.create(
        name=Path(name).name[:255] or "upload",
        format=fmt,
        size=len(data),
        data=data,
        created_by=user if getattr(user, "pk", None) else None,  # type: ignore[misc]
    )
    pk = job.pk
    # papers.apps runs the task for it (papers.tasks imports this module: no import back).
    transaction.on_commit(lambda: import_job_created.send(sender=ImportJob, job_id=pk))
    return job


def import_job_run(*, job_id: int, progress_interval: float = 0.5) -> ImportJob | None:
    """Run an import job: parse the stored upload, upsert papers, record progress and rejects.

    Safe to run twice: a finished job is left alone; an interrupted one starts over (the
    upsert is idempotent). A file that cannot be read at all fails the job with a message.
    """
    import io
    import time

    from django.conf import settings

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.finished_running:
        return job
    jobs = ImportJob.objects.filter(pk=job_id)
    now = dt.datetime.now(dt.UTC)
    jobs.update(
        status=ImportJob.Status.RUNNING, started=now, bytes_read=0, created_count=0, updated_count=0,
        unchanged_count=0, merged_count=0, queued_count=0, error_count=0, warning_count=0, errors=[],
        warnings=[], message="",
    )
    buffer = io.BytesIO(bytes(job.data))
    counts = {
        "created_count": 0, "updated_count": 0, "unchanged_count": 0, "merged_count": 0, "queued_count": 0,
        "error_count": 0, "warning_count": 0,
    }
    errors: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    max_errors = settings.IMPORT_JOB_MAX_ERRORS
    last_saved = 0.0

    def save_progress(force: bool = False) -> None:
        nonlocal last_saved
        if force or time.monotonic() - last_saved >= progress_interval:
            jobs.update(bytes_read=min(buffer.tell(), job.size), errors=errors, warnings=warnings, **counts)
            last_saved = time.monotonic()

    def on_error(error: RecordError) -> None:
        counts["error_count"] += 1
        if len(errors) < max_errors:
            errors.append({"source": error.source, "reason": error.reason})
        save_progress()

    def on_batch(summary: ImportSummary) -> None:
        for name in ("created", "updated", "unchanged", "merged", "queued"):
            counts[f"{name}_count"] += getattr(summary, name)
        counts["warning_count"] += len(summary.warnings)
        for warning in summary.warnings[: max(0, max_errors - len(warnings))]:
            warnings.append({"source": warning.source, "reason": warning.reason})
        save_progress(force=True)

    status, message = ImportJob.Status.DONE, ""
    try:
        summary = papers_import(
            source=buffer, fmt=job.format, name=job.name, on_error=on_error, on_batch=on_batch,
            max_bytes=settings.IMPORT_UPLOAD_MAX_UNPACKED_MB * 1048576,
        )
        message = str(summary) if summary.imported else "Nothing could be imported from this file."
    except Exception as exc:  # noqa: BLE001 - whatever stops the file, the job records why (never a lost upload)
        status, message = ImportJob.Status.FAILED, f"{type(exc).__name__}: {exc}"
    jobs.update(
        status=status, message=message, finished=dt.datetime.now(dt.UTC), data=b"",
        bytes_read=job.size if status == ImportJob.Status.DONE else min(buffer.tell(), job.size),
        errors=errors, warnings=warnings, **counts,
    )
    return ImportJob.objects.get(pk=job_id)


def paper_save(*, paper: Paper, changed: Iterable[str] = (), by: str = "curator", added: bool = False) -> Paper:
    """Save a paper edited by hand (admin form): re-embed a changed text, re-index on (un)hide.

    The fields the curator changed (every filled field of a paper added by hand) become
    curated: no import or harvest writes them again (``papers.upsert``).
    """
    changed = set(changed)
    at = prov.stamp()
    provenance = dict(paper.provenance or {})
    names = [n for n in prov.TRACKED if n in changed or (added and getattr(paper, n) not in (None, "", [], {}))]
    before = Paper.objects.filter(pk=paper.pk).values(*names).first() if paper.pk and names else None
    for name in names:
        entry = prov.from_curator(by=by, at=at)
        old = (provenance.get(name) or {})
        if before is not None and old.get("origin") != "curator":
            # What the source gave: its records of this paper must still find it (papers.upsert).
            entry["source_value"] = prov.to_json(before[name])
        elif "source_value" in old:
            entry["source_value"] = old["source_value"]
        provenance[name] = entry
    if before is not None and "title" in names and not paper.source_title_key:
        from papers.normalize import normalize_title

        paper.source_title_key = normalize_title(str(before["title"]))[:512]
    paper.provenance = provenance
    paper_update(paper=paper)
    if {"hidden", "merged_into"} & set(changed):
        pk = paper.pk
        transaction.on_commit(lambda: papers_visibility_changed.send(sender=Paper, paper_ids=[pk]))
    return paper


def paper_accept_source(*, paper: Paper, field: str) -> Paper:
    """Take the value a curated field's source now says (shown in the admin): the field goes
    back to its source, so later imports and harvests keep it current again."""
    entry = (paper.provenance or {}).get(field) or {}
    says = entry.get("source_says")
    if field not in prov.TRACKED or not says:
        raise ValueError(f"no value from a source is waiting for {field!r}")
    value = prov.from_json(field, says["value"])
    if field in ("arxiv_id", "doi") and value and Paper.objects.filter(**{field: value}).exclude(pk=paper.pk).exists():
        raise ValueError(f"another paper already has {field} {value}")
    paper.provenance = {
        **paper.provenance,
        field: prov.from_source(source=says["source"], record=says.get("record", ""), at=prov.stamp()),
    }
    return paper_update(paper=paper, **{field: value})


def papers_reembed(*, paper_ids: Iterable[int]) -> int:
    """Queue papers for embedding again (after failures or a model change).

    The search app skips papers whose vector already matches their text and model: the same
    text through the same model gives the same vector.
    """
    ids = list(Paper.objects.filter(pk__in=list(paper_ids)).values_list("pk", flat=True))
    if ids:
        transaction.on_commit(lambda: papers_changed.send(sender=Paper, paper_ids=ids))
    return len(ids)


def papers_delete(*, paper_ids: Iterable[int]) -> int:
    """Delete papers (their vectors go with them); the index drops them at the next build."""
    ids = list(paper_ids)
    # Papers merged into these go too: with their target gone they would reappear on their own.
    ids += list(Paper.objects.filter(merged_into__in=ids).values_list("pk", flat=True))
    count = Paper.objects.filter(pk__in=ids).delete()[1].get(Paper._meta.label, 0)
    transaction.on_commit(lambda: papers_visibility_changed.send(sender=Paper, paper_ids=ids))
    return count
