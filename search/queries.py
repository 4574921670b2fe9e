"""Reads of the search app: semantic search, related papers, papers like a text.

Ranking: the query is embedded once; the dense side (FAISS, cosine) and the keyword side (BM25,
search/keyword.py) each return their top candidates from the same index build; every candidate
gets its exact score on both sides and the two are fused (search/ranking.py) with the dense
share ``weight``. Filters are exact: a selective filter is searched within its matching papers
only (FAISS ID selector, masked BM25), a broad one is over-fetched until the page is full.

Every result is re-checked against the database before it is returned (invariant 4): a paper
hidden, merged or deleted after the last index build never appears, and what is shown is the
row as it is now.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from papers.models import Paper
from papers.selectors import CuratedRelated, related_links_for
from search import embedder, explain
from search.index_store import LoadedIndex, current_index
from search.keyword import analyze
from search.models import PaperEmbedding
from search.ranking import Fused, check_weight, fuse

MAX_RESULTS = 1000  # deepest rank a reader can page to
MODES = ("dense", "keyword", "hybrid")
SORTS = ("relevance", "newest")
CANDIDATE_STEP = 100  # each side is read this deep at least (and in steps of it)
# Up to this many needed results, the candidate check loads whole rows, which the page then
# shows: one query instead of a check and a fetch (most requests are a first page).
ROWS_WITH_CHECK = 100
_IN_CHUNK = 900  # ids per "pk IN (...)": below SQLite's oldest variable limit


@dataclass(frozen=True)
class SearchFilters:
    """Facet filters applied exactly (against the database), never silently shortening pages."""

    year_from: int | None = None
    year_to: int | None = None
    categories: tuple[str, ...] = ()
    author: str = ""

    def __bool__(self) -> bool:
        return bool(self.year_from or self.year_to or self.categories or self.author)

    def apply(self, papers: QuerySet[Paper]) -> QuerySet[Paper]:
        """The papers that pass every filter (categories: any of them; author: a full name)."""
        if self.year_from:
            papers = papers.filter(published__year__gte=self.year_from)
        if self.year_to:
            papers = papers.filter(published__year__lte=self.year_to)
        if self.categories:
            from django.db.models import Q

            any_category = Q()
            for category in self.categories:
                any_category |= Q(category_key__contains=f" {category.strip()} ")
            papers = papers.filter(any_category)
        if self.author.strip():
            papers = papers.filter(author_key__contains=f"; {self.author.strip().casefold()};")
        return papers


@dataclass
class Explanation:
    """Why a hit matched: contributions, highlighted text (safe HTML), closest sentence."""

    dense: float | None = None  # cosine similarity of query and paper
    keyword: float | None = None  # BM25 score
    matched_terms: list[str] = field(default_factory=list)
    title_html: str = ""
    abstract_html: str = ""
    best_sentence: str = ""
    summary: str = ""
    dense_part: float | None = None  # what each side added to the fused score (hybrid)
    keyword_part: float | None = None


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
    mode: str = "hybrid"
    weight: float | None = None  # the dense share used (hybrid only)
    sort: str = "relevance"
    notice: str = ""  # shown to the reader, e.g. that only the start of the query was embedded

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


# --- validation -------------------------------------------------------------------------------


def _check(*, mode: str, weight: float | None, sort: str, page: int, page_size: int) -> float:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    if not isinstance(page, int) or page < 1:
        raise ValueError(f"page must be a whole number from 1, not {page!r}")
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_RESULTS:
        raise ValueError(f"page_size must be between 1 and {MAX_RESULTS}, not {page_size!r}")
    return check_weight(settings.SEARCH_HYBRID_WEIGHT if weight is None else weight)


def _check_query(query: str) -> str:
    query = (query or "").strip()
    if len(query) > settings.SEARCH_MAX_QUERY_CHARS:
        raise ValueError(f"the query is {len(query):,} characters long; the limit is {settings.SEARCH_MAX_QUERY_CHARS:,}")
    return query


# --- ranking ----------------------------------------------------------------------------------


def _allowed(pks: list[int], papers: QuerySet[Paper], *, rows: dict[int, Paper] | None = None) -> set[int]:
    """The ``pks`` that are in ``papers``; with ``rows``, their whole rows are loaded into it too."""
    allowed: set[int] = set()
    for start in range(0, len(pks), _IN_CHUNK):
        chunk = papers.filter(pk__in=pks[start : start + _IN_CHUNK])
        if rows is None:
            allowed.update(chunk.values_list("pk", flat=True))
        else:
            found = {paper.pk: paper for paper in chunk}
            rows.update(found)
            allowed.update(found)
    return allowed


def _checked(
    fused: list[Fused], papers: QuerySet[Paper], *, exclude: frozenset[int], needed: int | None,
    rows: dict[int, Paper] | None = None,
) -> list[Fused]:
    """The leading ``fused`` results that are in ``papers`` and not excluded, best first: all of
    them (``needed`` None), or the first ``needed``, checking the database a chunk at a time.
    ``rows``: receives the checked papers' rows, for the page to show."""
    ranked: list[Fused] = []
    start = 0
    while start < len(fused) and (needed is None or len(ranked) < needed):
        # A little more than is missing: a hidden or filtered-out paper rarely leaves a gap.
        size = _IN_CHUNK if needed is None else min(_IN_CHUNK, needed - len(ranked) + 10)
        chunk = fused[start : start + size]
        allowed = _allowed([f.pk for f in chunk], papers, rows=rows)
        ranked.extend(f for f in chunk if f.pk in allowed and f.pk not in exclude)
        start += size
    return ranked if needed is None else ranked[:needed]


def _matching(filters: SearchFilters | None) -> tuple[QuerySet[Paper], np.ndarray | None]:
    """The papers a result may be, and (for a selective filter) their ids to search within."""
    papers = Paper.objects.visible()
    if not filters:
        return papers, None
    papers = filters.apply(papers)
    # A selective filter is searched exactly within its papers; a broad one is cheaper to
    # over-fetch than to pass as a huge id list.
    ids = list(papers.values_list("pk", flat=True)[: settings.SEARCH_FILTER_EXACT_MAX + 1])
    if len(ids) <= settings.SEARCH_FILTER_EXACT_MAX:
        return papers, np.asarray(ids, dtype=np.int64)
    return papers, None


def _candidates(
    index: LoadedIndex,
    *,
    query_vector: np.ndarray | None,
    terms: list[str],
    mode: str,
    weight: float,
    depth: int,
    subset: np.ndarray | None,
) -> list[Fused]:
    """Each side's top ``depth`` (within ``subset``), fused; best first."""
    dense: dict[int, float] = {}
    keyword: dict[int, float] = {}
    if mode != "keyword" and query_vector is not None:
        dense = dict(index.vectors.search(query_vector, depth, subset=subset)[0])
    bm25 = None
    if mode != "dense" and index.keyword is not None:
        # Every paper's BM25 score, computed once for both the top-k and the exact scores below.
        bm25 = index.keyword.scores(terms)
        keyword = dict(index.keyword.top(bm25, depth, subset=subset))
    if mode == "dense":
        return [Fused(pk, s, s, None, s, 0.0) for pk, s in sorted(dense.items(), key=lambda x: (-x[1], x[0]))]
    if mode == "keyword":
        return [Fused(pk, s, None, s, 0.0, s) for pk, s in sorted(keyword.items(), key=lambda x: (-x[1], x[0]))]
    # Exact scores on the other side for papers only one side found, so fusion compares like
    # with like (a keyword-only find still has a real cosine, not a guess).
    missing = np.asarray([pk for pk in keyword if pk not in dense], dtype=np.int64)
    if len(missing) and query_vector is not None:
        dense.update(index.vectors.search(query_vector, len(missing), subset=missing)[0])
    if bm25 is not None:
        keyword.update(index.keyword.scores_at(bm25, [pk for pk in dense if pk not in keyword]))
    return fuse(
        dense=dense,
        keyword=keyword,
        weight=weight,
        method=settings.SEARCH_FUSION,
        depth=settings.SEARCH_FUSION_DEPTH,
        rrf_k=settings.SEARCH_RRF_K,
    )


def _rank(
    *,
    query_vector: np.ndarray | None,
    terms: list[str],
    mode: str,
    weight: float,
    filters: SearchFilters | None,
    needed: int,
    exclude: frozenset[int] = frozenset(),
    rows: dict[int, Paper] | None = None,
) -> tuple[list[Fused], int] | None:
    """Ranked, visible, filter-passing results (at least ``needed`` when they exist) and a total.

    ``rows``: filled with the rows of checked papers when ``needed`` is at most ROWS_WITH_CHECK
    (callers fetch only what is missing). Returns None when no index build is being served yet.
    """
    index = current_index()
    if index is None:
        return None
    papers, subset = _matching(filters)
    pool = len(subset) if subset is not None else len(index.vectors)
    depth = max(CANDIDATE_STEP, -(-(needed + len(exclude)) // CANDIDATE_STEP) * CANDIDATE_STEP)
    while True:
        fused = _candidates(index, query_vector=query_vector, terms=terms, mode=mode, weight=weight, depth=depth, subset=subset)
        # Where the whole pool is ranked the total counts every result, so all are checked;
        # otherwise only as many as the page needs (the rest are never shown or counted).
        partial = depth < pool
        ranked = _checked(
            fused, papers, exclude=exclude, needed=needed if partial else None,
            rows=rows if partial and needed <= ROWS_WITH_CHECK else None,
        )
        # Over-fetch: papers hidden since the build or outside a broad filter were dropped, so
        # read deeper until the page is full or the index has nothing more to give.
        if len(ranked) >= needed or depth >= pool:
            break
        depth = min(pool, depth * 4)
    total = _total(
        index, ranked=ranked, mode=mode, terms=terms, papers=papers, filtered=bool(filters), subset=subset, depth=depth, pool=pool
    )
    return ranked[:MAX_RESULTS], total


def _total(
    index: LoadedIndex,
    *,
    ranked: list[Fused],
    mode: str,
    terms: list[str],
    papers: QuerySet[Paper],
    filtered: bool,
    subset: np.ndarray | None,
    depth: int,
    pool: int,
) -> int:
    """How many results a reader can page through (at most MAX_RESULTS).

    Exact when the whole pool was ranked or the filter was searched exactly; for a broad
    filter over-fetched in keyword mode it is the smaller of the two counts (an upper bound).
    """
    if depth >= pool:
        return min(len(ranked), MAX_RESULTS)
    if subset is not None:
        matching = len(subset)
    elif filtered:
        matching = papers.count()
    else:
        matching = len(index.vectors)
    if mode == "keyword":
        if index.keyword is None:
            return 0
        if subset is not None:
            matching = len(index.keyword.search(terms, MAX_RESULTS, subset=subset))
        else:
            matching = min(matching, int((index.keyword.scores(terms) > 0).sum()))
    return min(matching, MAX_RESULTS)


def ranked_ids(*, query: str, mode: str = "hybrid", weight: float | None = None, limit: int = 100) -> list[int]:
    """Just the ranking of ``semantic_search`` (no page, no explanations): used by eval_search."""
    query = _check_query(query)
    weight_value = _check(mode=mode, weight=weight, sort="relevance", page=1, page_size=min(limit, MAX_RESULTS))
    if not query:
        return []
    query_vector = embedder.encode_query(query) if mode != "keyword" else None
    result = _rank(query_vector=query_vector, terms=analyze(query), mode=mode, weight=weight_value, filters=None, needed=limit)
    return [f.pk for f in (result or ([], 0))[0][:limit]]


# --- pages ------------------------------------------------------------------------------------


def _hits(
    window: list[Fused],
    *,
    start: int,
    mode: str,
    query: str,
    query_vector: np.ndarray | None,
    index: LoadedIndex | None,
    terms: list[str],
    sentence_by_meaning: bool = True,
    rows: dict[int, Paper] | None = None,
) -> list[Hit]:
    """Page rows with explanations; rows deleted since ranking are skipped.

    ``rows``: rows already loaded by the ranking's check (only the others are fetched).

    ``sentence_by_meaning``: where no sentence of an abstract shares a query term, embed its
    first few sentences to find the closest in meaning (the costly part of an explanation);
    without it such a hit's best sentence is its first.
    """
    papers = _rows([f.pk for f in window], rows)
    window = [f for f in window if f.pk in papers]
    wanted = explain.query_terms(query)
    # The side not used for ranking is still reported, so a reader sees both numbers.
    keyword_scores = (
        index.keyword.scores_for(terms, [f.pk for f in window])
        if index is not None and index.keyword is not None and mode == "dense"
        else {}
    )
    abstracts = [papers[f.pk].abstract for f in window]
    # Each title and abstract is tokenised once, for matching, highlighting and best sentences.
    abstract_words = [explain.spans(abstract) for abstract in abstracts]
    idf = index.keyword.idf(wanted) if index is not None and index.keyword is not None else None
    best = explain.best_sentences(
        abstracts, query_vector=query_vector if sentence_by_meaning else None, query=wanted, idf=idf, words=abstract_words
    )
    hits = []
    for i, (fused, sentence, words) in enumerate(zip(window, best, abstract_words, strict=True)):
        paper = papers[fused.pk]
        title_words = explain.spans(paper.title)
        matched = explain.matched_terms(
            wanted, title=paper.title, abstract=paper.abstract, title_words=title_words, abstract_words=words
        )
        matched_set = {term for term, word in wanted.items() if word in matched}
        keyword_score = fused.keyword if fused.keyword is not None else keyword_scores.get(fused.pk)
        hybrid = mode == "hybrid"
        hits.append(
            Hit(
                paper=paper,
                score=fused.score,
                rank=start + i + 1,
                explanation=Explanation(
                    dense=fused.dense,
                    keyword=keyword_score,
                    matched_terms=matched,
                    title_html=explain.highlight(paper.title, matched_set, words=title_words),
                    abstract_html=explain.highlight(paper.abstract, matched_set, words=words),
                    best_sentence=sentence,
                    summary=explain.summary(
                        mode=mode,
                        dense=fused.dense,
                        keyword=keyword_score,
                        matched=matched,
                        query_size=len(wanted),
                        dense_part=fused.dense_part if hybrid else None,
                        keyword_part=fused.keyword_part if hybrid else None,
                    ),
                    dense_part=fused.dense_part if hybrid else None,
                    keyword_part=fused.keyword_part if hybrid else None,
                ),
            )
        )
    return hits


def _rows(pks: list[int], loaded: dict[int, Paper] | None) -> dict[int, Paper]:
    """The rows of ``pks`` (a paper deleted meanwhile is missing), reusing those already ``loaded``."""
    loaded = loaded or {}
    found = {pk: loaded[pk] for pk in pks if pk in loaded}
    if len(found) < len(pks):
        found.update(Paper.objects.in_bulk([pk for pk in pks if pk not in found]))
    return found


def _by_newest(ranked: list[Fused]) -> list[Fused]:
    """The most relevant SEARCH_NEWEST_POOL results, newest first (undated last, newest id first)."""
    pool = ranked[: settings.SEARCH_NEWEST_POOL]
    dates = dict(Paper.objects.filter(pk__in=[f.pk for f in pool]).values_list("pk", "published"))

    def newest_first(fused: Fused) -> tuple[bool, int, int]:
        published = dates.get(fused.pk)
        return (published is None, -published.toordinal() if published else 0, -fused.pk)

    return sorted(pool, key=newest_first)


def semantic_search(
    *,
    query: str,
    page: int = 1,
    page_size: int | None = None,
    mode: str = "hybrid",
    weight: float | None = None,
    filters: SearchFilters | None = None,
    sort: str = "relevance",
    sentence_by_meaning: bool = True,
) -> SearchPage:
    """Rank visible papers for a query.

    mode: "dense" (meaning only), "keyword" (BM25 only) or "hybrid" (both, fused); weight: the
    dense share in hybrid fusion, 0 = keyword order, 1 = dense order (default
    SEARCH_HYBRID_WEIGHT); filters: exact facets that still fill every page they can;
    sort: "relevance" or "newest" (the most relevant SEARCH_NEWEST_POOL matches by date).
    Raises ValueError for an unknown mode or sort, a weight outside [0, 1], a bad page or a
    query over SEARCH_MAX_QUERY_CHARS. A query longer than the model window is embedded from
    its start (``truncated`` and ``notice`` say so); the keyword side reads all of it.
    sentence_by_meaning: when no abstract sentence of a hit shares a query term, choose its
    best sentence by meaning (embeds a few sentences per such hit, most of a request's time);
    False picks the first sentence instead (callers that never show best sentences).
    """
    started = time.perf_counter()
    page_size = page_size or settings.SEARCH_PAGE_SIZE
    weight_value = _check(mode=mode, weight=weight, sort=sort, page=page, page_size=page_size)
    query = _check_query(query)
    result = SearchPage(
        query=query, page=page, page_size=page_size, total=0, mode=mode, sort=sort,
        weight=weight_value if mode == "hybrid" else None,
    )
    if not query:
        return result
    if current_index() is None:
        result.index_ready = False
        return result
    query_vector = embedder.encode_query(query) if mode != "keyword" else None
    terms = analyze(query)
    needed = min(MAX_RESULTS, page * page_size) if sort == "relevance" else settings.SEARCH_NEWEST_POOL
    rows: dict[int, Paper] = {}
    ranked_total = _rank(
        query_vector=query_vector, terms=terms, mode=mode, weight=weight_value, filters=filters, needed=needed, rows=rows
    )
    if ranked_total is None:
        result.index_ready = False
        return result
    ranked, result.total = ranked_total
    if sort == "newest":
        ranked = _by_newest(ranked)
        result.total = len(ranked)
    start = (page - 1) * page_size
    result.hits = _hits(
        ranked[start : start + page_size], start=start, mode=mode, query=query,
        query_vector=query_vector, index=current_index(), terms=terms, sentence_by_meaning=sentence_by_meaning, rows=rows,
    )
    if mode != "keyword" and embedder.is_truncated(query):
        result.truncated = True
        result.notice = (
            f"Only the first {embedder.get_model().max_seq_length} tokens of this {len(query):,}-character query "
            "were used for meaning; keyword matching used all of it."
        )
    result.elapsed_ms = (time.perf_counter() - started) * 1000
    return result


def related_papers(*, paper: Paper, k: int | None = None, filters: SearchFilters | None = None, sort: str = "similarity") -> list[Hit]:
    """The k nearest visible papers to this paper's stored vector (never the paper itself).

    sort: "similarity" (closest first) or "newest" (the k closest, newest first).
    """
    k = k or settings.RELATED_COUNT
    if sort not in ("similarity", "newest"):
        raise ValueError(f"sort must be 'similarity' or 'newest', not {sort!r}")
    curated = related_links_for(paper=paper)  # issue 6: the curator's pins and suppressions
    stored = PaperEmbedding.objects.filter(paper=paper, model=embedder.model_name()).first()
    if stored is None:
        return _pinned_first(curated, [], vector=None, k=k, filters=filters)
    vector = stored.as_array().reshape(1, -1)
    rows: dict[int, Paper] = {}
    result = _rank(
        query_vector=vector, terms=[], mode="dense", weight=1.0, filters=filters, needed=k,
        exclude=frozenset({paper.pk}) | curated.excluded, rows=rows,
    )
    ranked = (result or ([], 0))[0][:k]
    if sort == "newest":
        ranked = _by_newest(ranked)
    papers = _rows([f.pk for f in ranked], rows)
    hits = [
        Hit(
            paper=papers[f.pk],
            score=f.score,
            rank=i + 1,
            explanation=Explanation(dense=f.dense, summary=f"Meaning similarity {f.score:.2f}"),
        )
        for i, f in enumerate(f for f in ranked if f.pk in papers)
    ]
    return _pinned_first(curated, hits, vector=vector, k=k, filters=filters)


# --- Issue 6 (curation): curated related links ------------------------------------------------
def _pinned_first(curated: CuratedRelated, hits: list[Hit], *, vector: np.ndarray | None, k: int, filters: SearchFilters | None) -> list[Hit]:
    """The curator's pinned papers first, in their order (those passing the reader's filters),
    then the ranked ones; suppressed and pinned papers were already left out of the ranking."""
    if not curated.pinned:
        return hits
    papers = filters.apply(Paper.objects.visible()) if filters else Paper.objects.visible()
    allowed = _allowed([p.pk for p in curated.pinned], papers)
    pins = [p for p in curated.pinned if p.pk in allowed][:k]
    scores: dict[int, float] = {}
    if vector is not None:
        for row in PaperEmbedding.objects.filter(paper_id__in=[p.pk for p in pins], model=embedder.model_name()):
            scores[row.paper_id] = float(row.as_array() @ vector.reshape(-1))
    pinned = [
        Hit(paper=p, score=scores.get(p.pk, 0.0), rank=0, explanation=Explanation(dense=scores.get(p.pk), summary="Pinned by a curator"))
        for p in pins
    ]
    merged = (pinned + hits)[:k]
    for rank, hit in enumerate(merged, start=1):
        hit.rank = rank
    return merged


def similar_to_text(
    *, text: str, k: int | None = None, filters: SearchFilters | None = None, sentence_by_meaning: bool = True
) -> SearchPage:
    """Papers most like a pasted text (an abstract, a draft).

    Hybrid: the model embeds the start of the text (its window), BM25 reads all of it, so a
    long text still counts in full.
    """
    return semantic_search(
        query=text, page=1, page_size=k or settings.RELATED_COUNT, mode="hybrid", filters=filters,
        sentence_by_meaning=sentence_by_meaning,
    )
