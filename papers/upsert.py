"""Records into papers: deduplication, curation-safe updates, provenance, one count per record.

Every import and every harvest goes through ``papers_upsert``. The rules, in order:

1. **Strong keys.** A record with the arXiv id (version stripped) or the DOI of a paper is that
   paper. Its non-empty values update the paper's fields, except fields a curator set.
2. **Title only when the abstracts agree.** A record without a strong match is the paper with
   the same normalised title only when the abstracts agree too (the same text after
   ``normalize_title``-style normalisation: case, accents, punctuation and spacing ignored) and
   no identifier disagrees. Such a record only *fills* empty fields and re-writes values its own
   source set before; it never overwrites another source's value.
3. **Otherwise a new paper.** A record whose title matches papers it does not agree with is
   created, and each such pair goes into the curators' duplicate queue.
4. **Curation wins.** A field with a curator's value is never written by a record. When the
   record's value differs, it is kept under ``source_says`` for the admin to show.
   Hidden, featured and merged state and curated related links are never written here.

Why text equality and not an embedding cosine for rule 2: this step runs before (and without)
the model, and a near-identical abstract that is not equal is not lost: the pair is queued, and
the duplicate scan's cosine step proposes it too (docs/curation.md).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db import transaction
from django.db.models import Q

from papers import provenance as prov
from papers.models import DuplicateCandidate, Paper
from papers.normalize import normalize_title
from papers.records import PaperRecord, RecordError
from papers.signals import papers_changed

IMPORT_BATCH_SIZE = 1000
_LIST_FIELDS = frozenset({"authors", "categories"})
_EMPTY: tuple[Any, ...] = (None, "", [], {})


@dataclass
class ImportSummary:
    """What happened to each record of one import (every record is counted exactly once).

    ``created`` includes the ``queued`` papers: new papers whose title matches a paper they do
    not agree with, queued for a curator as possible duplicates. ``merged``: records of a paper
    already in the collection under another source or record (filled its empty fields, if
    any). ``errors`` are rejected records (``file:line: reason``); ``warnings`` are fields
    that could not be read or were cut while the rest of the record was imported.
    ``curated_kept``: fields where a curator's value was kept although the source differs.
    """

    created: int = 0
    queued: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    curated_kept: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[RecordError] = field(default_factory=list)  # (file:line, what was cut or unreadable)
    changed_ids: list[int] = field(default_factory=list, repr=False)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.merged + self.unchanged

    def add(self, other: ImportSummary) -> None:
        for name in ("created", "queued", "updated", "merged", "unchanged", "curated_kept"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)
        self.changed_ids.extend(other.changed_ids)

    def __str__(self) -> str:
        created = f"{self.created} created" + (f" ({self.queued} queued as possible duplicates)" if self.queued else "")
        text = (
            f"{created}, {self.updated} updated, {self.merged} merged, {self.unchanged} unchanged, "
            f"{len(self.errors)} rejected, {len(self.warnings)} warnings"
        )
        if self.curated_kept:
            text += f"; {self.curated_kept} curated field(s) kept although the source differs (shown in the admin)"
        return text


def normalize_abstract(text: str) -> str:
    """The abstract as compared for title-only matches: case, accents, punctuation, spacing ignored."""
    return normalize_title(text)


def _record_values(record: PaperRecord) -> dict[str, Any]:
    return {
        "title": record.title,
        "abstract": record.abstract,
        "authors": list(record.authors),
        "categories": list(record.categories),
        "published": record.published,
        "revised": record.revised,
        "arxiv_id": record.arxiv_id or None,
        "doi": record.doi or None,
        "journal_ref": record.journal_ref,
        "license": record.license,
        "links": dict(record.links),
    }


class _BatchIndex:
    """The papers a batch can match, by arXiv id, DOI and normalised title."""

    def __init__(self, papers: Iterable[Paper]) -> None:
        self.by_arxiv: dict[str, Paper] = {}
        self.by_doi: dict[str, Paper] = {}
        self.by_title: dict[str, list[Paper]] = {}
        self.by_pk: dict[int, Paper] = {}
        self._abstracts: dict[int, set[str]] = {}
        for paper in papers:
            self.add(paper)

    def add(self, paper: Paper) -> None:
        if paper.pk:
            self.by_pk[paper.pk] = paper
        if paper.arxiv_id:
            self.by_arxiv[paper.arxiv_id] = paper
        if paper.doi:
            self.by_doi[paper.doi] = paper
        for title in {paper.normalized_title, paper.source_title_key} - {""}:
            same = self.by_title.setdefault(title, [])
            if paper not in same:
                same.append(paper)

    def abstract_keys(self, paper: Paper) -> set[str]:
        """The paper's abstract, and the source's when a curator changed it, normalised."""
        key = id(paper)
        if key not in self._abstracts:
            entry = (paper.provenance or {}).get("abstract") or {}
            texts = [paper.abstract, entry.get("source_value"), (entry.get("source_says") or {}).get("value")]
            self._abstracts[key] = {normalize_abstract(t) for t in texts if isinstance(t, str) and t}
        return self._abstracts[key]

    def target(self, paper: Paper) -> Paper:
        """The paper a curator merged ``paper`` into (itself when not merged)."""
        return self.by_pk.get(paper.merged_into_id, paper) if paper.merged_into_id else paper

    def match(self, record: PaperRecord, title: str) -> tuple[Paper | None, str]:
        """The paper ``record`` is, and how it was found ("arxiv", "doi", "title" or "")."""
        if record.arxiv_id and record.arxiv_id in self.by_arxiv:
            return self.by_arxiv[record.arxiv_id], "arxiv"
        if record.doi and record.doi in self.by_doi:
            return self.by_doi[record.doi], "doi"
        candidates = self.by_title.get(title, [])
        # Normalising an abstract is the costly part of an import: only where a title matches.
        abstract = normalize_abstract(record.abstract) if candidates else ""
        for paper in candidates:
            if record.arxiv_id and paper.arxiv_id and paper.arxiv_id != record.arxiv_id:
                continue  # same title, different identifiers: different papers (e.g. re-submissions)
            if record.doi and paper.doi and paper.doi != record.doi:
                continue
            if abstract in self.abstract_keys(paper):
                return paper, "title"
        return None, ""

    def same_title(self, title: str, *, besides: Paper) -> list[Paper]:
        """Papers with this normalised title that the record did not match (possible duplicates)."""
        return [p for p in self.by_title.get(title, []) if p is not besides and not p.merged_into_id]


@dataclass
class _Applied:
    changed: bool = False  # a field value changed
    provenance_changed: bool = False  # only provenance changed (nothing to re-embed or count)
    curated_kept: int = 0


def _apply(paper: Paper, record: PaperRecord, index: _BatchIndex, *, source: str, at: str, strong: bool, redirected: bool) -> _Applied:
    """Write the record's values onto ``paper`` by the module's rules; say what changed.

    ``redirected``: the record is of a paper a curator merged into ``paper``; it only fills gaps.
    """
    result = _Applied()
    provenance: prov.Provenance = dict(paper.provenance or {})
    for name, value in _record_values(record).items():
        if value in _EMPTY:
            continue
        current = getattr(paper, name)
        entry = provenance.get(name) or {}
        if name == "links":
            value = {**(current or {}), **value} if (strong or not current) else {**value, **(current or {})}
        if prov.is_curated(provenance, name):
            says = entry.get("source_says")
            if value != current:
                result.curated_kept += 1
                wanted = {"value": prov.to_json(value), "source": source, "record": record.source, "at": at}
                if not says or says.get("value") != wanted["value"]:
                    provenance[name] = {**entry, "source_says": wanted}
                    result.provenance_changed = True
            elif says:
                provenance[name] = {k: v for k, v in entry.items() if k != "source_says"}  # the source agrees now
                result.provenance_changed = True
            continue
        own = not redirected and entry.get("source") == source
        if not (strong or own or current in _EMPTY or (name == "links" and value != current)):
            continue  # a title-only match fills empty fields; it never overwrites another source
        if name == "arxiv_id" and index.by_arxiv.get(str(value), paper) is not paper:
            continue  # the id belongs to another paper; keep ours rather than break uniqueness
        if name == "doi" and index.by_doi.get(str(value), paper) is not paper:
            continue
        if value != current:
            setattr(paper, name, value)
            provenance[name] = prov.from_source(source=source, record=record.source, at=at)
            result.changed = True
        elif not entry:
            provenance[name] = prov.from_source(source=source, record=record.source, at=at)
            result.provenance_changed = True
    if result.changed or result.provenance_changed:
        paper.provenance = provenance
    if result.changed:
        paper.refresh_derived_fields()
        index.add(paper)
    return result


def _new_paper(record: PaperRecord, *, source: str, at: str) -> Paper:
    values = _record_values(record)
    for name in ("journal_ref", "license"):
        values[name] = values[name] or ""
    paper = Paper(**values)
    paper.provenance = {
        name: prov.from_source(source=source, record=record.source, at=at)
        for name, value in values.items()
        if value not in _EMPTY
    }
    paper.refresh_derived_fields()
    return paper


def _upsert_batch(records: list[PaperRecord], *, source: str, touched: set[int]) -> ImportSummary:
    """One batch in one transaction; ``touched`` holds the pks this import wrote before."""
    summary = ImportSummary()
    at = prov.stamp()
    keys = [normalize_title(r.title) for r in records]
    arxiv_ids = {r.arxiv_id for r in records if r.arxiv_id}
    dois = {r.doi for r in records if r.doi}
    titles = set(keys) - {""}
    existing = list(
        Paper.objects.filter(
            Q(arxiv_id__in=arxiv_ids) | Q(doi__in=dois) | Q(normalized_title__in=titles) | Q(source_title_key__in=titles)
        )
    )
    targets = {p.merged_into_id for p in existing if p.merged_into_id} - {p.pk for p in existing}
    existing += list(Paper.objects.filter(pk__in=targets))
    old_hashes = {p.pk: p.content_hash for p in existing}
    index = _BatchIndex(existing)
    to_create: list[Paper] = []
    to_update: dict[int, Paper] = {}
    provenance_only: dict[int, Paper] = {}
    queue: list[tuple[Paper, Paper]] = []
    seen: dict[int, Paper] = {}  # id() of every paper this batch wrote (new ones have no pk yet)

    for record, title in zip(records, keys, strict=True):
        summary.warnings.extend(RecordError(record.source, warning) for warning in record.warnings)
        match, how = index.match(record, title)
        if match is None:
            paper = _new_paper(record, source=source, at=at)
            similar = index.same_title(title, besides=paper)
            index.add(paper)
            to_create.append(paper)
            seen[id(paper)] = paper
            summary.created += 1
            if similar:
                summary.queued += 1
                queue.extend((paper, other) for other in similar)
            continue
        paper = index.target(match)
        redirected = paper is not match
        repeat = id(paper) in seen or paper.pk in touched
        other_source = how == "title" and prov.source_of(paper.provenance or {}, "title") not in (None, source)
        applied = _apply(
            paper, record, index, source=source, at=at, strong=how in ("arxiv", "doi") and not redirected, redirected=redirected
        )
        seen[id(paper)] = paper
        summary.curated_kept += applied.curated_kept
        if paper.pk is not None and applied.changed:
            to_update[paper.pk] = paper
        elif paper.pk is not None and applied.provenance_changed:
            provenance_only[paper.pk] = paper
        if redirected or repeat or other_source:
            summary.merged += 1  # another record of a paper already here: at most filled its gaps
        elif applied.changed:
            summary.updated += 1
        else:
            summary.unchanged += 1

    fields = [
        *prov.TRACKED, "provenance", "content_hash", "rendered_title", "rendered_abstract", "normalized_title",
        "category_key", "author_key", "updated",
    ]
    with transaction.atomic():
        Paper.objects.bulk_create(to_create)
        now = dt.datetime.now(dt.UTC)
        for paper in to_update.values():
            paper.updated = now
        if to_update:
            Paper.objects.bulk_update(list(to_update.values()), fields)
        rest = [p for pk, p in provenance_only.items() if pk not in to_update]
        if rest:
            Paper.objects.bulk_update(rest, ["provenance"])
        if queue:
            DuplicateCandidate.objects.bulk_create(
                [
                    DuplicateCandidate(
                        paper_a_id=min(a.pk, b.pk),
                        paper_b_id=max(a.pk, b.pk),
                        reason=DuplicateCandidate.Reason.TITLE,
                        detail=f"same title, different abstract or identifiers (import of {source})"[:300],
                        score=1.0,
                    )
                    for a, b in queue
                    if a.pk and b.pk and a.pk != b.pk
                ],
                ignore_conflicts=True,
            )
    touched.update(p.pk for p in seen.values() if p.pk)
    summary.changed_ids = [p.pk for p in to_create] + [
        p.pk for p in to_update.values() if old_hashes.get(p.pk) != p.content_hash
    ]
    return summary


def _chunks(items: Iterable[PaperRecord], size: int) -> Iterator[list[PaperRecord]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def papers_upsert(
    *,
    records: Iterable[PaperRecord],
    source: str,
    batch_size: int = IMPORT_BATCH_SIZE,
    embed: bool = True,
    on_batch: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Create or update papers from the records of one ``source`` (a file name, a harvest source).

    Records are matched, merged and counted by the module's rules, in batched transactions.
    After each batch commits, papers whose embedded text is new or changed are announced
    through ``papers_changed`` (the search app enqueues embedding) unless ``embed`` is False.
    """
    total = ImportSummary()
    touched: set[int] = set()  # papers this import already matched: a later record of one is a repeat
    for batch in _chunks(records, batch_size):
        summary = _upsert_batch(batch, source=source, touched=touched)
        if embed and summary.changed_ids:
            ids = list(summary.changed_ids)
            transaction.on_commit(functools.partial(papers_changed.send, sender=Paper, paper_ids=ids))
        total.add(summary)
        if on_batch:
            on_batch(summary)
    return total
