"""Writes to papers: importing files, visibility (hide, feature, delete), a curator's edits and
the backfill of rendered texts.

Merging and curated links live in ``papers.curation``, the duplicate queue in
``papers.duplicates``, admin uploads in ``papers.import_jobs``; the upsert rules themselves in
``papers.upsert``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from django.db import transaction
from django.db.models import Q

from papers import provenance as prov
from papers.models import Paper, rendered
from papers.records import PaperRecord, RecordError
from papers.signals import papers_changed, papers_visibility_changed
from papers.upsert import ImportSummary, papers_upsert

__all__ = ["ImportSummary", "papers_import", "papers_render_texts", "papers_upsert"]


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


def papers_delete(*, paper_ids: Iterable[int]) -> int:
    """Delete papers (their vectors go with them); the index drops them at the next build."""
    ids = list(paper_ids)
    # Papers merged into these go too: with their target gone they would reappear on their own.
    ids += list(Paper.objects.filter(merged_into__in=ids).values_list("pk", flat=True))
    count = Paper.objects.filter(pk__in=ids).delete()[1].get(Paper._meta.label, 0)
    transaction.on_commit(lambda: papers_visibility_changed.send(sender=Paper, paper_ids=ids))
    return count


def papers_render_texts(*, batch_size: int = 500, on_batch: Callable[[int], None] | None = None) -> int:
    """Store the rendered title and abstract (``Paper.rendered_title``) of every paper written
    before they were stored; returns how many papers it rendered. Resumable: it only reads rows
    still without them. Not a content change, so ``updated`` and the embeddings stay as they are."""
    done = 0
    missing = Paper.objects.filter(Q(rendered_title__isnull=True) | Q(rendered_abstract__isnull=True))
    while batch := list(missing.order_by("pk").only("pk", "title", "abstract")[:batch_size]):
        for paper in batch:
            paper.rendered_title = rendered(paper.title)
            paper.rendered_abstract = rendered(paper.abstract)
        Paper.objects.bulk_update(batch, ["rendered_title", "rendered_abstract"])
        done += len(batch)
        if on_batch:
            on_batch(len(batch))
    return done
