"""The one list of search modes and sorts; forms, the API, saved searches and evaluation read it."""

from __future__ import annotations

from typing import Literal, get_args

Mode = Literal["hybrid", "dense", "keyword"]
MODES: tuple[str, ...] = get_args(Mode)  # the order pages show them in; the first is the default
DEFAULT_MODE: Mode = "hybrid"

Sort = Literal["relevance", "newest"]
SORTS: tuple[str, ...] = get_args(Sort)
RelatedSort = Literal["similarity", "newest"]
RELATED_SORTS: tuple[str, ...] = get_args(RelatedSort)
# How the pages name each sort.
SORT_LABELS: dict[str, str] = {"relevance": "Relevance", "newest": "Newest first"}
RELATED_SORT_LABELS: dict[str, str] = {"similarity": "Most similar", "newest": "Newest first"}
