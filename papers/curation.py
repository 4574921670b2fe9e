"""Curation writes: merging duplicate papers and curated related links."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q

from papers import provenance as prov
from papers.models import DuplicateCandidate, Paper, RelatedLink
from papers.signals import papers_changed, papers_merged, papers_visibility_changed


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
