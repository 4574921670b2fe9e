from typing import Any

from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from papers.signals import papers_changed, papers_visibility_changed

        papers_changed.connect(_on_papers_changed, dispatch_uid="search.embed_changed")
        papers_visibility_changed.connect(_on_visibility_changed, dispatch_uid="search.visibility")


def _on_papers_changed(sender: Any, paper_ids: list[int], **kwargs: Any) -> None:
    from search.tasks import enqueue_embedding

    enqueue_embedding(list(paper_ids))


def _on_visibility_changed(sender: Any, paper_ids: list[int], **kwargs: Any) -> None:
    # Search already re-checks visibility against the database; the build makes it permanent.
    from search.tasks import request_index_build

    request_index_build()
