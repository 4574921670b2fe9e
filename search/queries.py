"""Reads of the search app: semantic search, related papers, papers like a text.

Every result is re-checked against the database before it is returned (invariant 4): a paper
hidden, merged or deleted after the last index build never appears, and what is shown is the
row as it is now.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from papers.models import Paper
from search import embedder
from search.index_store import current_index
from search.models import PaperEmbedding

MAX_RESULTS = 1000  # deepest rank a reader can page to


@dataclass(frozen=True)
class SearchFilters:
    """Facet filters applied exactly (against the database), never silently shortening pages."""

    year_from: int | None = None
    year_to: int | None = None
    categories: tuple[str, ...] = ()
    author: str = ""

    def __bool__(self) -> bool:
        return bool(self.year_from or self.year_to or self.categories or self.author)


@dataclass
class Explanation:
    """Why a hit matched: contributions, highlighted text (safe HTML), closest sentence."""

    dense: float | None = None
    keyword: float | None = None
    matched_terms: list[str] = field(default_factory=list)
    title_html: str = ""
    abstract_html: str = ""
    best_sentence: str = ""
    summary: str = ""


@dataclass
class Hit:
    paper: Paper
    score: float
    rank: int
    explanation: Explanation | None = None


@dataclass
class SearchPage:
    query: str
    page: int
    page_size: int
    total: int
    hits: list[Hit] = field(default_factory=list)
    elapsed_ms: float = 0.0
    truncated: bool = False  # the query was longer than the model window
    index_ready: bool = True

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _visible_ids(ids: list[int]) -> set[int]:
    return set(Paper.objects.visible().filter(pk__in=ids).values_list("pk", flat=True))


def _page_of(ranked: list[tuple[int, float]], page: int, page_size: int) -> list[Hit]:
    start = (page - 1) * page_size
    window = ranked[start : start + page_size]
    papers = Paper.objects.in_bulk([pk for pk, _ in window])
    return [
        Hit(paper=papers[pk], score=score, rank=start + i + 1)
        for i, (pk, score) in enumerate(window)
        if pk in papers
    ]


def _ranked_visible(query_vector: np.ndarray, *, exclude: set[int] | None = None, limit: int = MAX_RESULTS) -> list[tuple[int, float]] | None:
    index = current_index()
    if index is None:
        return None
    hits = index.vectors.search(query_vector, limit + len(exclude or ()))[0]
    visible = _visible_ids([pk for pk, _ in hits])
    return [(pk, score) for pk, score in hits if pk in visible and pk not in (exclude or set())][:limit]


def semantic_search(
    *,
    query: str,
    page: int = 1,
    page_size: int | None = None,
    mode: str = "hybrid",
    weight: float | None = None,
    filters: SearchFilters | None = None,
    sort: str = "relevance",
) -> SearchPage:
    """Rank visible papers for a query.

    mode: "dense" | "keyword" | "hybrid"; weight: share of the dense side in hybrid fusion
    (0 = keyword order, 1 = dense order); filters: facets; sort: "relevance" | "newest".
    (Until hybrid ranking lands, every mode ranks by dense similarity.)
    """
    started = time.perf_counter()
    page_size = page_size or settings.SEARCH_PAGE_SIZE
    query = query.strip()
    result = SearchPage(query=query, page=page, page_size=page_size, total=0)
    if not query:
        return result
    ranked = _ranked_visible(embedder.encode_query(query))
    if ranked is None:
        result.index_ready = False
        return result
    result.total = len(ranked)
    result.hits = _page_of(ranked, page, page_size)
    result.truncated = embedder.is_truncated(query)
    result.elapsed_ms = (time.perf_counter() - started) * 1000
    return result


def related_papers(*, paper: Paper, k: int | None = None, filters: SearchFilters | None = None, sort: str = "similarity") -> list[Hit]:
    """The k nearest visible papers to this paper's stored vector (never the paper itself)."""
    k = k or settings.RELATED_COUNT
    stored = PaperEmbedding.objects.filter(paper=paper, model=embedder.model_name()).first()
    if stored is None:
        return []
    ranked = _ranked_visible(stored.as_array().reshape(1, -1), exclude={paper.pk}, limit=k)
    return _page_of(ranked or [], 1, k)


def similar_to_text(*, text: str, k: int | None = None, filters: SearchFilters | None = None) -> SearchPage:
    """Papers most like a pasted text (an abstract, a draft): dense similarity only."""
    return semantic_search(query=text, page=1, page_size=k or settings.RELATED_COUNT, mode="dense", filters=filters)
