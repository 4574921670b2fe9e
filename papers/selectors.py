"""Reads of the collection."""

from __future__ import annotations

from django.db.models import QuerySet

from papers.models import Paper


def recent_papers(*, limit: int = 20) -> QuerySet[Paper]:
    """Newest visible papers first (by publication date, then by when they were added)."""
    return Paper.objects.visible().order_by("-published", "-created", "-id")[:limit]


def featured_papers(*, limit: int = 6) -> QuerySet[Paper]:
    return Paper.objects.visible().filter(featured=True).order_by("-published", "-id")[:limit]


def paper_get(*, paper_id: int) -> Paper | None:
    """A visible paper by id (None when hidden or missing)."""
    return Paper.objects.visible().filter(pk=paper_id).first()
