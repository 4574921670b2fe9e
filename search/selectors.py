"""Reads about embeddings and index state."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, OuterRef, Q, Subquery

from papers.models import Paper
from search import embedder
from search.index_store import current_build_id, read_manifest, IndexRefused
from search.models import PaperEmbedding


def papers_needing_embedding(*, everything: bool = False) -> list[int]:
    """Ids of papers with no vector for the current model, or a vector of older content."""
    papers = Paper.objects.order_by("pk")
    if everything:
        return list(papers.values_list("pk", flat=True))
    stored_hash = PaperEmbedding.objects.filter(paper=OuterRef("pk"), model=embedder.model_name()).values("content_hash")[:1]
    return list(
        papers.annotate(stored_hash=Subquery(stored_hash))
        .filter(Q(stored_hash__isnull=True) | ~Q(stored_hash=F("content_hash")))
        .values_list("pk", flat=True)
    )


@dataclass
class IndexStatus:
    papers: int
    visible: int
    embedded: int
    pending: int
    indexed: int | None
    build_id: str | None
    model: str
    build_model: str | None
    build_created: str | None
    problem: str = ""


def index_status() -> IndexStatus:
    """Counts for index_status, /api/index/status and the admin dashboard."""
    model = embedder.model_name()
    build_id = current_build_id()
    manifest: dict[str, object] = {}
    problem = ""
    if build_id:
        try:
            manifest = read_manifest(build_id)
        except IndexRefused as exc:
            problem = str(exc)
    return IndexStatus(
        papers=Paper.objects.count(),
        visible=Paper.objects.visible().count(),
        embedded=PaperEmbedding.objects.filter(model=model).count(),
        pending=len(papers_needing_embedding()),
        indexed=manifest.get("count") if manifest else None,  # type: ignore[arg-type]
        build_id=build_id,
        model=model,
        build_model=manifest.get("model") if manifest else None,  # type: ignore[arg-type]
        build_created=manifest.get("created") if manifest else None,  # type: ignore[arg-type]
        problem=problem,
    )
