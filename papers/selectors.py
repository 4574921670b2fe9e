"""Reads of the collection."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from papers.models import Paper


def _newest_dated_first(papers: QuerySet[Paper], limit: int) -> list[Paper]:
    # Undated papers come last on every database (PostgreSQL puts NULLs first when sorting
    # descending). Two index-friendly queries instead of one NULLS LAST sort of every row.
    dated = list(papers.filter(published__isnull=False).order_by("-published", "-created", "-id")[:limit])
    if len(dated) < limit:
        dated += papers.filter(published__isnull=True).order_by("-created", "-id")[: limit - len(dated)]
    return dated


def recent_papers(*, limit: int = 20) -> list[Paper]:
    """Newest visible papers first (by publication date, then by when they were added)."""
    return _newest_dated_first(Paper.objects.visible(), limit)


def featured_papers(*, limit: int = 6) -> list[Paper]:
    return _newest_dated_first(Paper.objects.visible().filter(featured=True), limit)


def paper_get(*, paper_id: int) -> Paper | None:
    """A visible paper by id (None when hidden or missing)."""
    return Paper.objects.visible().filter(pk=paper_id).first()


# --- Curation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CuratedRelated:
    """A curator's corrections of one paper's related list."""

    pinned: tuple[Paper, ...] = ()  # visible papers, in the curator's order
    suppressed: frozenset[int] = frozenset()

    @property
    def excluded(self) -> frozenset[int]:
        """Ids the similarity ranking must leave out (pinned ones are placed first already)."""
        return self.suppressed | {p.pk for p in self.pinned}


def related_links_for(*, paper: Paper) -> CuratedRelated:
    """Pinned (visible, in order) and suppressed related papers of ``paper``."""
    from papers.models import RelatedLink

    links = list(RelatedLink.objects.filter(paper=paper).select_related("related").order_by("position", "id"))
    if not links:
        return CuratedRelated()
    return CuratedRelated(
        pinned=tuple(
            link.related
            for link in links
            if link.kind == RelatedLink.Kind.PIN and not link.related.hidden and link.related.merged_into_id is None
        ),
        suppressed=frozenset(link.related_id for link in links if link.kind == RelatedLink.Kind.SUPPRESS),
    )


def merged_target(*, paper_id: int) -> Paper | None:
    """The visible paper a merged-away paper now lives on (its old URL redirects there)."""
    merged = Paper.objects.filter(pk=paper_id, merged_into__isnull=False).values_list("merged_into_id", flat=True).first()
    return paper_get(paper_id=merged) if merged else None
