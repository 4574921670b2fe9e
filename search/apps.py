from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

if TYPE_CHECKING:
    from papers.duplicates import DuplicatePair


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from papers.signals import duplicate_scan_started, papers_changed, papers_merged, papers_visibility_changed

        papers_changed.connect(_on_papers_changed, dispatch_uid="search.embed_changed")
        papers_visibility_changed.connect(_on_visibility_changed, dispatch_uid="search.visibility")
        papers_merged.connect(_on_papers_merged, dispatch_uid="search.merged")
        duplicate_scan_started.connect(_on_duplicate_scan, dispatch_uid="search.duplicate_scan")

        from search.signals import index_rebuild_wanted

        index_rebuild_wanted.connect(_on_index_rebuild_wanted, dispatch_uid="search.rebuild_wanted")

        from search import checks

        checks.register()


def _on_papers_changed(sender: Any, paper_ids: list[int], **kwargs: Any) -> None:
    from search.tasks import enqueue_embedding

    enqueue_embedding(list(paper_ids))


def _on_visibility_changed(sender: Any, paper_ids: list[int], **kwargs: Any) -> None:
    # Search already re-checks visibility against the database; the build makes it permanent.
    from search.tasks import request_index_build

    request_index_build()


def _on_papers_merged(sender: Any, paper_ids: list[int], **kwargs: Any) -> None:
    # An admin merge: sent inside the merge transaction, so a merged-away paper never
    # keeps a vector of its own; the kept paper is re-embedded if its text changed.
    from search.models import EmbeddingFailure, PaperEmbedding

    PaperEmbedding.objects.filter(paper_id__in=paper_ids).delete()
    EmbeddingFailure.objects.filter(paper_id__in=paper_ids).delete()


def _on_duplicate_scan(sender: Any, **kwargs: Any) -> list[DuplicatePair]:
    # The papers app's duplicate scan asks for the pairs only stored vectors can show.
    from search.duplicates import similar_vector_pairs

    return similar_vector_pairs()


def _on_index_rebuild_wanted(sender: Any, **kwargs: Any) -> None:
    # The reader (search.index_store) has nothing servable; tasks decide how a build runs.
    from search.tasks import request_index_build

    request_index_build(rescue=True)
