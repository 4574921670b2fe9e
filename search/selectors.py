"""Reads about embeddings, index state, and how far the index has drifted from the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from papers.models import Paper
from search import coordination, embedder
from search.index_store import (
    IndexRefused,
    current_build_id,
    quick_check,
    read_manifest,
    read_members,
    reader,
    verify_build,
)
from search.models import EmbeddingFailure, IndexBuild, PaperEmbedding


def _needing_embedding() -> QuerySet[Paper]:
    stored_hash = PaperEmbedding.objects.filter(paper=OuterRef("pk"), model=embedder.model_name()).values("content_hash")[:1]
    # Merged-away papers lose their vectors on purpose (they are shown as their survivor).
    return (
        Paper.objects.filter(merged_into__isnull=True)
        .annotate(stored_hash=Subquery(stored_hash))
        .filter(Q(stored_hash__isnull=True) | ~Q(stored_hash=F("content_hash")))
    )


def papers_needing_embedding(*, everything: bool = False) -> list[int]:
    """Ids of papers with no vector for the current model, or a vector of older content."""
    if everything:
        return list(Paper.objects.order_by("pk").values_list("pk", flat=True))
    return list(_needing_embedding().order_by("pk").values_list("pk", flat=True))


def papers_to_reembed(*, min_age: float, max_attempts: int) -> list[int]:
    """What reconcile re-queues: papers needing embedding, unchanged for ``min_age`` seconds
    (younger ones still have their task in flight), that have not failed ``max_attempts`` times."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=min_age)
    given_up = EmbeddingFailure.objects.filter(model=embedder.model_name(), attempts__gte=max_attempts).values("paper_id")
    return list(
        _needing_embedding().filter(updated__lte=cutoff).exclude(pk__in=given_up).order_by("pk").values_list("pk", flat=True)
    )


def embedding_backlog(*, max_attempts: int) -> tuple[int, dt.datetime | None]:
    """Papers waiting for a vector (not given up on after ``max_attempts`` failures), and when
    the longest-waiting one last changed (None when none waits): /readyz's embedding lag."""
    from django.db.models import Count, Min

    given_up = EmbeddingFailure.objects.filter(model=embedder.model_name(), attempts__gte=max_attempts).values("paper_id")
    found = _needing_embedding().exclude(pk__in=given_up).aggregate(n=Count("pk"), oldest=Min("updated"))
    return found["n"], found["oldest"]


@dataclass
class IndexDrift:
    """How the current build differs from the database (empty lists and no problem: they agree)."""

    build_id: str | None
    problem: str = ""  # no build, or the build is refused (checksum, manifest, model) or unreadable
    damaged: bool = False  # the published build's files fail their checks (reconcile records it)
    missing: list[int] = field(default_factory=list)  # visible papers the build lacks
    stale: list[int] = field(default_factory=list)  # in the build from an older title/abstract
    extra: list[int] = field(default_factory=list)  # in the build but hidden, merged or deleted
    unembedded: list[int] = field(default_factory=list)  # of missing + stale: no current vector stored yet

    @property
    def clean(self) -> bool:
        return not (self.problem or self.missing or self.stale or self.extra)

    @property
    def buildable(self) -> list[int]:
        """Differences a build fixes now (the rest need embedding first)."""
        waiting = set(self.unembedded)
        return self.extra + [i for i in self.missing + self.stale if i not in waiting]


def index_drift(*, verify_files: bool = True) -> IndexDrift:
    """Compare the current build with the database: missing, stale and extra papers.

    Uses the build's member list (paper id + content hash of each vector), so no vector is
    read. ``verify_files`` also checks every file's checksum (reads the whole build).
    """
    model = embedder.model_name()
    build_id = current_build_id()
    drift = IndexDrift(build_id=build_id)
    members: dict[int, str] = {}
    if build_id is None:
        drift.problem = "no index build has been published"
    else:
        try:
            if verify_files:
                verify_build(build_id, expected_model=model, trust_seen=False)  # every byte, every time
            elif read_manifest(build_id).get("model") != model:
                raise IndexRefused(f"build {build_id}: made with another model than {model!r}")
            found = read_members(build_id)
            if found is None:
                drift.problem = f"build {build_id} has no member list (made by an older version): rebuild it"
            else:
                members = found
        except IndexRefused as exc:
            drift.problem = str(exc)
            drift.damaged = True
    visible = dict(Paper.objects.visible().values_list("pk", "content_hash"))
    stored = dict(
        PaperEmbedding.objects.filter(model=model, paper_id__in=Paper.objects.visible().values("pk")).values_list(
            "paper_id", "content_hash"
        )
    )
    drift.missing = sorted(i for i in visible if i not in members)
    drift.stale = sorted(i for i, h in visible.items() if i in members and members[i] != h[:16])
    drift.extra = sorted(i for i in members if i not in visible)
    drift.unembedded = sorted(i for i in drift.missing + drift.stale if stored.get(i) != visible[i])
    return drift


def queued_tasks() -> dict[str, int]:
    """Messages waiting in each Celery queue (empty in the embedded default or with Redis down)."""
    from config.celery import EMBED_QUEUE, INDEX_QUEUE

    return coordination.queue_lengths((EMBED_QUEUE, INDEX_QUEUE))


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
    # The details below are filled by index_status(details=True) (the command, the admin).
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)  # newest first: paper, title, attempts, error
    builds: list[dict[str, Any]] = field(default_factory=list)  # newest first
    missing: int = 0
    stale: int = 0
    extra: int = 0
    queued: dict[str, int] = field(default_factory=dict)


def index_status(*, details: bool = False, limit: int = 10) -> IndexStatus:
    """Counts for index_status, /api/index/status and the admin dashboard.

    ``details`` adds failures, the last builds, drift against the database and queue lengths.
    """
    model = embedder.model_name()
    build_id = current_build_id()
    manifest: dict[str, object] = {}
    problem = ""
    if build_id:
        try:
            manifest = read_manifest(build_id)
        except IndexRefused as exc:
            problem = str(exc)
        # What the web processes see too (verify_index's checks short of reading every byte):
        # a manifest edited, a file missing or truncated, damage reconcile found, a refusal here.
        problem = problem or quick_check(build_id) or reader.refused.get(build_id, "")
    status = IndexStatus(
        papers=Paper.objects.count(),
        visible=Paper.objects.visible().count(),
        embedded=PaperEmbedding.objects.filter(model=model).count(),
        pending=_needing_embedding().count(),
        indexed=manifest.get("count") if manifest else None,  # type: ignore[arg-type]
        build_id=build_id,
        model=model,
        build_model=manifest.get("model") if manifest else None,  # type: ignore[arg-type]
        build_created=manifest.get("created") if manifest else None,  # type: ignore[arg-type]
        problem=problem,
    )
    if not details:
        return status
    failures = EmbeddingFailure.objects.filter(model=model).select_related("paper").order_by("-updated")
    status.failed = failures.count()
    status.failures = [
        {"paper": f.paper_id, "title": f.paper.title[:80], "attempts": f.attempts, "error": f.error, "updated": f.updated.isoformat()}
        for f in failures[:limit]
    ]
    status.builds = [
        {
            "build_id": b.build_id, "status": b.status, "kind": b.kind, "count": b.count, "added": b.added,
            "removed": b.removed, "duration_s": round(b.duration_s, 3), "created": b.created.isoformat(), "error": b.error,
        }
        for b in IndexBuild.objects.order_by("-created")[: max(1, limit // 2)]
    ]
    drift = index_drift(verify_files=False)
    status.missing, status.stale, status.extra = len(drift.missing), len(drift.stale), len(drift.extra)
    if drift.problem and not status.problem and build_id:
        status.problem = drift.problem
    status.queued = queued_tasks()
    return status
