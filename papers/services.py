"""Writes to the collection. Every path that creates or changes papers goes through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from django.db import transaction
from django.db.models import Q

from papers.models import Paper
from papers.records import PaperRecord, RecordError
from papers.signals import papers_changed, papers_visibility_changed

IMPORT_BATCH_SIZE = 1000
_MERGED_FIELDS = ("title", "abstract", "authors", "categories", "published", "arxiv_id", "doi")


@dataclass
class ImportSummary:
    """Counts of one import; ``errors`` holds the reported lines (``file:line: reason``)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list, repr=False)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    def add(self, other: ImportSummary) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.errors.extend(other.errors)
        self.changed_ids.extend(other.changed_ids)

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.skipped} skipped, {len(self.errors)} errors"
        )


def _chunks(items: Iterable[PaperRecord], size: int) -> Iterator[list[PaperRecord]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _record_values(record: PaperRecord) -> dict[str, object]:
    return {
        "title": record.title,
        "abstract": record.abstract,
        "authors": list(record.authors),
        "categories": list(record.categories),
        "published": record.published,
        "arxiv_id": record.arxiv_id or None,
        "doi": record.doi or None,
    }


class _BatchIndex:
    """Finds the paper a record is a duplicate of: arXiv id, then DOI, then normalised title."""

    def __init__(self, papers: Iterable[Paper]) -> None:
        self.by_arxiv: dict[str, Paper] = {}
        self.by_doi: dict[str, Paper] = {}
        self.by_title: dict[str, list[Paper]] = {}
        for paper in papers:
            self.add(paper)

    def add(self, paper: Paper) -> None:
        if paper.arxiv_id:
            self.by_arxiv[paper.arxiv_id] = paper
        if paper.doi:
            self.by_doi[paper.doi] = paper
        if paper.normalized_title:
            self.by_title.setdefault(paper.normalized_title, []).append(paper)

    def match(self, record: PaperRecord, normalized_title: str) -> Paper | None:
        if record.arxiv_id and record.arxiv_id in self.by_arxiv:
            return self.by_arxiv[record.arxiv_id]
        if record.doi and record.doi in self.by_doi:
            return self.by_doi[record.doi]
        for paper in self.by_title.get(normalized_title, []):
            # Same title but different identifiers are different papers (e.g. re-submissions).
            if record.arxiv_id and paper.arxiv_id and paper.arxiv_id != record.arxiv_id:
                continue
            if record.doi and paper.doi and paper.doi != record.doi:
                continue
            return paper
        return None


def _merge_into(paper: Paper, record: PaperRecord, index: _BatchIndex) -> bool:
    """Copy the record's non-empty values onto ``paper``; return whether anything changed."""
    changed = False
    for name, value in _record_values(record).items():
        if value in (None, "", []):
            continue
        if name == "arxiv_id" and index.by_arxiv.get(str(value), paper) is not paper:
            continue  # the id belongs to another paper; keep ours rather than break uniqueness
        if name == "doi" and index.by_doi.get(str(value), paper) is not paper:
            continue
        if getattr(paper, name) != value:
            setattr(paper, name, value)
            changed = True
    links = {**paper.links, **record.links}
    if links != paper.links:
        paper.links = links
        changed = True
    if changed:
        paper.refresh_derived_fields()
        index.add(paper)
    return changed


def _upsert_batch(records: list[PaperRecord]) -> ImportSummary:
    from papers.normalize import normalize_title

    summary = ImportSummary()
    titles = {r.source: normalize_title(r.title) for r in records}
    arxiv_ids = {r.arxiv_id for r in records if r.arxiv_id}
    dois = {r.doi for r in records if r.doi}
    lookup = Q(arxiv_id__in=arxiv_ids) | Q(doi__in=dois) | Q(normalized_title__in=set(titles.values()) - {""})
    existing = list(Paper.objects.filter(lookup))
    old_hashes = {p.pk: p.content_hash for p in existing}
    index = _BatchIndex(existing)
    to_create: list[Paper] = []
    to_update: dict[int, Paper] = {}

    for record in records:
        paper = index.match(record, titles[record.source])
        if paper is None:
            paper = Paper(**_record_values(record), links=dict(record.links))
            paper.refresh_derived_fields()
            index.add(paper)
            to_create.append(paper)
            summary.created += 1
        elif _merge_into(paper, record, index) and paper.pk is not None and paper.pk not in to_update:
            to_update[paper.pk] = paper
            summary.updated += 1
        else:
            # Nothing new, or a repeat of a record earlier in this batch (already counted).
            summary.unchanged += 1

    with transaction.atomic():
        Paper.objects.bulk_create(to_create)
        if to_update:
            now = dt.datetime.now(dt.timezone.utc)
            for paper in to_update.values():
                paper.updated = now
            Paper.objects.bulk_update(
                list(to_update.values()),
                [*_MERGED_FIELDS, "links", "content_hash", "normalized_title", "category_key", "author_key", "updated"],
            )
    summary.changed_ids = [p.pk for p in to_create] + [
        p.pk for p in to_update.values() if old_hashes.get(p.pk) != p.content_hash
    ]
    return summary


def papers_upsert(
    *,
    records: Iterable[PaperRecord],
    batch_size: int = IMPORT_BATCH_SIZE,
    embed: bool = True,
    on_batch: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Create or update papers from records, deduplicated, in batched transactions.

    After each batch commits, papers whose embedded text is new or changed are announced
    through ``papers_changed`` (the search app enqueues embedding) unless ``embed`` is False.
    """
    total = ImportSummary()
    for batch in _chunks(records, batch_size):
        summary = _upsert_batch(batch)
        if embed and summary.changed_ids:
            ids = list(summary.changed_ids)
            transaction.on_commit(lambda ids=ids: papers_changed.send(sender=Paper, paper_ids=ids))
        total.add(summary)
        if on_batch:
            on_batch(summary)
    return total


def papers_import(
    *,
    source: str | Path | BinaryIO,
    fmt: str = "auto",
    name: str | None = None,
    embed: bool = True,
    on_error: Callable[[RecordError], None] | None = None,
    on_batch: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Import one file (path or binary file object): parse, report bad records, upsert the rest."""
    from papers.importers import read_records

    errors: list[str] = []

    def good_records() -> Iterator[PaperRecord]:
        for item in read_records(source, fmt=fmt, name=name):
            if isinstance(item, RecordError):
                errors.append(str(item))
                if on_error:
                    on_error(item)
            else:
                yield item

    summary = papers_upsert(records=good_records(), embed=embed, on_batch=on_batch)
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
