"""Reads of the search app: semantic search, related papers, papers like a text.

Ranking: the query is embedded once; the dense side (FAISS, cosine) and the keyword side (BM25,
search/keyword.py) each return their top candidates from the same index build; every candidate
gets its exact score on both sides and the two are fused (search/ranking.py) with the dense
share ``weight``. Filters are exact: a selective filter is searched within its matching papers
only (FAISS ID selector, masked BM25), a broad one is over-fetched until the page is full.

Every result is re-checked against the database before it is returned (invariant 4): a paper
hidden, merged or deleted after the last index build never appears, and what is shown is the
row as it is now.

A request reads one index build: it is taken once (``current_index``) and every step (filters by
author, navigation, spelling, ranking, explanations, suggestions) reads that build. Ranking
returns what it found as one value (search/ranking.py ``Ranked``); explanations are built from
it (search/explain.py).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import ParamSpec, TypeVar

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from papers.models import Paper
from papers.normalize import normalize_title
from papers.selectors import CuratedRelated, related_links_for
from search import embedder, explain, navigation, spelling
from search.explain import Explanation
from search.index_store import LoadedIndex, current_index
from search.models import PaperEmbedding
from search.modes import MODES, RELATED_SORTS, SORTS
from search.ranking import AnalysedQuery, Floor, Fused, Ranked, check_weight, fuse

MAX_RESULTS = 1000  # deepest rank a reader can page to
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
    title: str = ""  # words the title must contain, in order (the ``title:`` prefix)
    # The author's papers, looked up in the author-name field (name variants included); set by
    # ``with_author_field``. Without it ``author`` is matched as a whole name in the database.
    author_pks: frozenset[int] | None = None

    def __bool__(self) -> bool:
        return bool(self.year_from or self.year_to or self.categories or self.author or self.title)

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
        if self.author_pks is not None:
            papers = papers.filter(pk__in=sorted(self.author_pks))
        elif self.author.strip():
            papers = papers.filter(author_key__contains=f"; {self.author.strip().casefold()};")
        if self.title.strip():
            papers = papers.filter(normalized_title__contains=normalize_title(self.title))
        return papers

    def with_author_field(self, index: LoadedIndex | None) -> SearchFilters:
        """These filters with ``author`` resolved through the author-name field of the index, so
        "R. Timofte", "Timofte, Radu" and "radu timofte" find the same papers."""
        if not self.author.strip() or self.author_pks is not None or index is None or index.keyword is None:
            return self
        if index.keyword.authors is None:
            return self
        exact, variant = navigation.author_positions(self.author, index.keyword, surname_only=True)
        return replace(self, author_pks=frozenset(int(pk) for pk in np.concatenate([exact, variant])))


@dataclass
class Hit:
    paper: Paper
    score: float
    rank: int
    explanation: Explanation | None = None
    reason: str = ""  # why it is listed first: the query named it (an id, a title, an author)
    curated: bool = False  # pinned by a curator (related papers)


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
    correction: spelling.Correction | None = None  # set when misspelt words were corrected
    navigation: navigation.Navigation | None = None  # the papers the query named, shown first
    listing: bool = False  # prefixes only (``author:x``): the matching papers, newest first
    suggestions: list[str] = field(default_factory=list)  # other searches, when nothing matched

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


def _allowed(pks: list[int], papers: QuerySet[Paper]) -> set[int]:
    """The ``pks`` that are in ``papers``."""
    allowed: set[int] = set()
    for start in range(0, len(pks), _IN_CHUNK):
        allowed.update(papers.filter(pk__in=pks[start : start + _IN_CHUNK]).values_list("pk", flat=True))
    return allowed


def _allowed_rows(pks: list[int], papers: QuerySet[Paper]) -> dict[int, Paper]:
    """The whole rows of the ``pks`` that are in ``papers``."""
    rows: dict[int, Paper] = {}
    for start in range(0, len(pks), _IN_CHUNK):
        rows.update((paper.pk, paper) for paper in papers.filter(pk__in=pks[start : start + _IN_CHUNK]))
    return rows


def _checked(
    fused: list[Fused], papers: QuerySet[Paper], *, exclude: frozenset[int], needed: int | None, with_rows: bool,
) -> tuple[list[Fused], dict[int, Paper]]:
    """The leading ``fused`` results that are in ``papers`` and not excluded, best first: all of
    them (``needed`` None), or the first ``needed``, checking the database a chunk at a time.
    With ``with_rows``, the checked papers' whole rows too (for the page to show); else no rows."""
    ranked: list[Fused] = []
    rows: dict[int, Paper] = {}
    start = 0
    while start < len(fused) and (needed is None or len(ranked) < needed):
        # A little more than is missing: a hidden or filtered-out paper rarely leaves a gap.
        size = _IN_CHUNK if needed is None else min(_IN_CHUNK, needed - len(ranked) + 10)
        chunk = fused[start : start + size]
        pks = [f.pk for f in chunk]
        if with_rows:
            loaded = _allowed_rows(pks, papers)
            rows.update(loaded)
            allowed = set(loaded)
        else:
            allowed = _allowed(pks, papers)
        ranked.extend(f for f in chunk if f.pk in allowed and f.pk not in exclude)
        start += size
    return (ranked if needed is None else ranked[:needed]), rows


def _cosines(index: LoadedIndex, query_vector: np.ndarray, pks: np.ndarray) -> dict[int, float]:
    """Exact cosines of a few papers (keyword-only finds): from the index where it keeps exact
    vectors, else (a compressed kind such as IVF{n},SQ8) from the vectors stored in the database."""
    if index.vectors.EXACT_VECTORS:
        return dict(index.vectors.search(query_vector, len(pks), subset=pks)[0])
    query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    stored = PaperEmbedding.objects.filter(paper_id__in=[int(pk) for pk in pks], model=embedder.model_name())
    return {row.paper_id: float(row.as_array() @ query) for row in stored.only("paper_id", "vector")}


def _matching(filters: SearchFilters | None) -> tuple[QuerySet[Paper], np.ndarray | None]:
    """The papers a result may be, and (for a selective filter) their ids to search within."""
    papers: QuerySet[Paper] = Paper.objects.visible()
    if not filters:
        return papers, None
    papers = filters.apply(papers)
    # A selective filter is searched exactly within its papers; a broad one is cheaper to
    # over-fetch than to pass as a huge id list.
    ids = list(papers.values_list("pk", flat=True)[: settings.SEARCH_FILTER_EXACT_MAX + 1])
    if len(ids) <= settings.SEARCH_FILTER_EXACT_MAX:
        return papers, np.asarray(ids, dtype=np.int64)
    return papers, None


class _Evidence:
    """The relevance floor of one query over the whole collection (search/ranking.py Floor).

    ``coverage``: every paper's share of the query's idf weight; ``dense_ok``: the papers whose
    cosine reaches the floor (from ``dense_top``, one dense search MAX_RESULTS deep made by
    ``_floor_dense_search``, which the ranking reuses).
    ``count`` is how many papers pass (exact below MAX_RESULTS; any larger figure is shown as
    MAX_RESULTS) and ``covers(depth)`` whether reading each side ``depth`` deep puts every
    passing paper among the candidates.
    """

    def __init__(self, index: LoadedIndex, *, floor: Floor, dense_top: list[tuple[int, float]], terms: list[str],
                 bm25: np.ndarray | None, coverage: np.ndarray | None, subset: np.ndarray | None) -> None:
        self.floor = floor
        self.index = index
        self.dense_top = dense_top
        dense_ok = np.zeros(0, dtype=np.int64)
        if floor.dense is not None:
            dense_ok = np.asarray([pk for pk, score in self.dense_top if score >= floor.dense], dtype=np.int64)
        keyword = index.keyword
        self.coverage = np.zeros(0, dtype=np.float32)
        self._bm25 = bm25
        self._passing: np.ndarray | None = None  # mask over the keyword index's positions
        self._keyword_reach: int | None = None
        self._passing_count = 0
        # ``coverage`` and ``bm25`` come from one pass over the postings (rank: keyword.evidence),
        # given whenever the words count (every mode but dense, with a keyword index).
        if floor.words is not None and keyword is not None and coverage is not None and len(keyword) and terms:
            self.coverage = coverage
            passing = self.coverage >= floor.words
            if subset is not None:
                positions, found = keyword.positions(subset)
                inside = np.zeros(len(keyword.ids), dtype=bool)
                inside[positions[found]] = True
                passing &= inside
            self._passing_count = int(np.count_nonzero(passing))
            self._passing = passing if self._passing_count else None
        best_dense = self.dense_top[0][1] if self.dense_top else None
        known = keyword.known_share(terms) if floor.words is not None and keyword is not None and terms else 0.0
        self.open = floor.opens(best_dense, float(self.coverage.max()) if len(self.coverage) else 0.0, known)
        self._dense_reach = len(dense_ok)
        if not self.open:
            self.count = 0
        elif self._passing_count >= MAX_RESULTS:
            # At 2.6M papers a common query passes by its words in ~50,000 papers: the union is
            # never shown beyond MAX_RESULTS, so it is not built.
            self.count = self._passing_count
        else:
            words_ok = np.zeros(0, dtype=np.int64)
            if keyword is not None and self._passing is not None:
                words_ok = np.asarray(keyword.ids[self._passing], dtype=np.int64)
            self.count = len(np.union1d(dense_ok, words_ok))

    def covers(self, depth: int) -> bool:
        """Whether every passing paper is within each side's top ``depth``: the dense side's
        passing papers, and every paper the keyword side scores at least as high as its weakest
        passing one (counted only when ``depth`` could hold them all)."""
        if not self.open:
            return True
        if depth < max(self._dense_reach, self._passing_count):  # reach >= the passing papers
            return False
        if self._keyword_reach is None:
            reach = 0
            if self._passing is not None and self._bm25 is not None:
                weakest = self._bm25[self._passing].min()
                reach = int(np.count_nonzero(self._bm25 >= weakest))
            self._keyword_reach = reach
        return depth >= self._keyword_reach

    def passes(self, fused: list[Fused]) -> list[Fused]:
        if not self.open:
            return []
        coverage: dict[int, float] = {}
        if len(self.coverage) and self.index.keyword is not None:
            coverage = self.index.keyword.scores_at(self.coverage, [f.pk for f in fused])
        return [f for f in fused if self.floor.passes(f.dense, coverage.get(f.pk, 0.0))]


def _candidates(
    index: LoadedIndex,
    *,
    query_vector: np.ndarray | None,
    terms: list[str],
    mode: str,
    weight: float,
    depth: int,
    subset: np.ndarray | None,
    bm25: np.ndarray | None = None,
    dense_top: list[tuple[int, float]] | None = None,
) -> list[Fused]:
    """Each side's top ``depth`` (within ``subset``), fused; best first.

    ``bm25``: every paper's BM25 score when already computed; ``dense_top``: the dense side's
    ranking when already searched at least ``depth`` deep (the floor's search)."""
    dense: dict[int, float] = {}
    keyword: dict[int, float] = {}
    if mode != "keyword" and query_vector is not None:
        if dense_top is not None and (len(dense_top) >= depth or len(dense_top) < MAX_RESULTS):
            dense = dict(dense_top[:depth])
        else:
            dense = dict(index.vectors.search(query_vector, depth, subset=subset)[0])
    if mode != "dense" and index.keyword is not None:
        # Every paper's BM25 score, computed once for both the top-k and the exact scores below.
        if bm25 is None:
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
        dense.update(_cosines(index, query_vector, missing))
    if bm25 is not None and index.keyword is not None:
        keyword.update(index.keyword.scores_at(bm25, [pk for pk in dense if pk not in keyword]))
    return fuse(
        dense=dense,
        keyword=keyword,
        weight=weight,
        method=settings.SEARCH_FUSION,
        depth=settings.SEARCH_FUSION_DEPTH,
        rrf_k=settings.SEARCH_RRF_K,
    )




class _RankingSlots:
    """How many rankings this process runs at once.

    A ranking holds every paper's BM25 score and coverage (two float32 arrays as long as the
    collection, 10 MB each at 2.6M papers) and masks over them. A web worker serves several
    requests at once on its threads, so without a bound it held one set per request in flight
    (267 MB in a worker under 8 clients at 2.6M, docs/scale.md "Run 5"). Ranking is CPU work on
    the cores the process has, so a request waiting for a slot waits about as long as it would
    have sharing those cores. SEARCH_CONCURRENT_RANKINGS, or for 0 one slot per core the process
    computes on: EMBEDDING_THREADS (gunicorn sets it to each worker's share), else every core.

    Each slot also has a helper thread (``helpers``): a ranking runs its floor's dense search
    there while it scores the keyword side (``_floor_dense_search``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._slots = threading.BoundedSemaphore(1)
        self._helpers = ThreadPoolExecutor(max_workers=1)  # replaced in the ranking process; threads start on first use

    def _made_here(self) -> None:
        if self._pid != os.getpid():  # made in the process that ranks (after any fork)
            with self._lock:
                if self._pid != os.getpid():
                    configured = int(settings.SEARCH_CONCURRENT_RANKINGS)
                    size = configured if configured > 0 else int(settings.EMBEDDING_THREADS or 0) or (os.cpu_count() or 1)
                    self._slots = threading.BoundedSemaphore(size)
                    # A forked child inherits the parent's executor object but none of its threads.
                    self._helpers = ThreadPoolExecutor(max_workers=size, thread_name_prefix="dense-search")
                    self._pid = os.getpid()

    def get(self) -> threading.BoundedSemaphore:
        self._made_here()
        return self._slots

    def helpers(self) -> ThreadPoolExecutor:
        self._made_here()
        return self._helpers


_ranking_slots = _RankingSlots()
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _in_a_ranking_slot(func: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(func)
    def ranked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _ranking_slots.get():
            return func(*args, **kwargs)

    return ranked


@contextmanager
def _floor_dense_search(
    index: LoadedIndex, floor: Floor | None, query_vector: np.ndarray | None, *, subset: np.ndarray | None, pool: int
) -> Iterator[Callable[[], list[tuple[int, float]]]]:
    """The relevance floor's dense search (MAX_RESULTS deep, within ``subset``), started on this
    ranking's helper thread when SEARCH_DENSE_BESIDE_KEYWORD is on, so that it runs while the
    caller scores the keyword side: FAISS and the compiled BM25 loops both release the GIL, and a
    request then uses a second core where one is idle (docs/scale.md, "Run 10"). Yields a
    function returning its ranking (empty without a floor or a query vector); on leaving, the
    search is always waited for, so it never outlives its ranking's slot.
    """
    if floor is None or floor.dense is None or query_vector is None:
        yield list
        return
    depth = min(pool, MAX_RESULTS)
    if not settings.SEARCH_DENSE_BESIDE_KEYWORD:
        found = index.vectors.search(query_vector, depth, subset=subset)[0]
        yield lambda: found
        return
    pending = _ranking_slots.helpers().submit(index.vectors.search, query_vector, depth, subset=subset)
    try:
        yield lambda: pending.result()[0]
    finally:
        wait([pending])


@_in_a_ranking_slot
def rank(
    *,
    index: LoadedIndex,
    query: AnalysedQuery,
    query_vector: np.ndarray | None,
    mode: str,
    weight: float,
    filters: SearchFilters | None,
    needed: int,
    exclude: frozenset[int] = frozenset(),
    floor: bool = False,
    first: tuple[int, ...] = (),
) -> Ranked:
    """Rank the visible papers that pass ``filters`` in one index build: at least ``needed``
    results when they exist, best first, with a total.

    ``query``: the free text, analysed once (BM25 scores its terms; explanations show its words);
    ``query_vector``: its embedding (None in keyword mode). ``weight``: the dense share (hybrid).
    ``first``: papers the query names (search/navigation.py), put first in this order when they
    are visible and pass the filters, checked in the same query as the ranking.
    ``floor``: only results above the relevance floor (search/ranking.py) are ranked and counted.
    The result carries the rows its database check loaded (whole rows when ``needed`` is at
    most ROWS_WITH_CHECK), so a page fetches only what is missing.
    """
    terms = list(query.terms)
    papers, subset = _matching(filters)
    pool = len(subset) if subset is not None else len(index.vectors)
    depth = max(CANDIDATE_STEP, -(-(needed + len(exclude) + len(first)) // CANDIDATE_STEP) * CANDIDATE_STEP)
    named = [Fused(pk, 0.0, None, None, 0.0, 0.0) for pk in dict.fromkeys(first) if pk not in exclude]
    exclude = exclude | frozenset(first)
    bm25 = coverage = None
    floor_rule = Floor.for_mode(mode) if floor else None
    with _floor_dense_search(index, floor_rule, query_vector, subset=subset, pool=pool) as dense_top:
        if mode != "dense" and index.keyword is not None:
            # With the floor, BM25 and the words' coverage are computed in one pass over the postings.
            # A helper thread takes parts of the pass too (SEARCH_KEYWORD_BESIDE): after the floor's
            # dense search where there is one, at once where not (docs/scale.md "Run 15").
            beside = _ranking_slots.helpers().submit if settings.SEARCH_KEYWORD_BESIDE else None
            bm25, coverage = (
                index.keyword.evidence(terms, beside=beside) if floor else (index.keyword.scores(terms, beside=beside), None)
            )
        evidence = (
            _Evidence(index, floor=floor_rule, dense_top=dense_top(), terms=terms, bm25=bm25, coverage=coverage, subset=subset)
            if floor_rule is not None else None
        )
    rows: dict[int, Paper] = {}
    while True:
        fused = _candidates(
            index, query_vector=query_vector, terms=terms, mode=mode, weight=weight, depth=depth, subset=subset,
            bm25=bm25, dense_top=evidence.dense_top if evidence is not None else None,
        )
        if named:
            # A named paper the ranking also found keeps its scores (shown and sent by the API).
            found = {f.pk: f for f in fused if f.pk in exclude}
            first_ones = [found.get(n.pk, n) for n in named]
        if evidence is not None:
            fused = evidence.passes(fused)
        if named:
            fused = first_ones + [f for f in fused if f.pk not in exclude]
        # Where every candidate is ranked the total counts every result, so all are checked;
        # otherwise only as many as the page needs (the rest are never shown or counted).
        complete = depth >= pool or (evidence is not None and evidence.covers(depth))
        ranked, loaded = _checked(
            fused, papers, exclude=exclude if not named else frozenset(), needed=None if complete else needed,
            with_rows=not complete and needed <= ROWS_WITH_CHECK,
        )
        rows.update(loaded)
        # Over-fetch: papers hidden since the build or outside a broad filter were dropped, so
        # read deeper until the page is full or the index has nothing more to give.
        if len(ranked) >= needed or complete:
            break
        depth = min(pool, depth * 4)
    if complete:
        total = min(len(ranked), MAX_RESULTS)
    else:
        found_named = sum(1 for f in ranked[: len(named)] if f.pk in {n.pk for n in named})
        counted = evidence.count if evidence is not None else _total(
            index, ranked=ranked, mode=mode, papers=papers, filtered=bool(filters), subset=subset, depth=depth, pool=pool, bm25=bm25,
        )
        total = min(found_named + counted, MAX_RESULTS)
    return Ranked(
        fused=tuple(ranked[:MAX_RESULTS]), total=total, rows=MappingProxyType(rows), index=index, query=query,
        query_vector=query_vector, mode=mode,
    )


def _total(
    index: LoadedIndex,
    *,
    ranked: list[Fused],
    mode: str,
    papers: QuerySet[Paper],
    filtered: bool,
    subset: np.ndarray | None,
    depth: int,
    pool: int,
    bm25: np.ndarray | None,
) -> int:
    """How many results a reader can page through without the floor (at most MAX_RESULTS).
    ``bm25``: every paper's BM25 score, which the ranking computed (None without a keyword side).

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
        if index.keyword is None or bm25 is None:
            return 0
        if subset is not None:
            matching = len(index.keyword.top(bm25, MAX_RESULTS, subset=subset))
        else:
            matching = min(matching, int(np.count_nonzero(bm25 > 0)))
    return min(matching, MAX_RESULTS)


@dataclass(frozen=True)
class Resolved:
    """What a typed query became: its prefixes, its spelling, the papers it names, its ranking."""

    filters: SearchFilters | None
    ranked: Ranked
    correction: spelling.Correction | None = None
    navigation: navigation.Navigation = field(default_factory=navigation.Navigation)
    listing: bool = False  # prefixes only: the matching papers, newest first

    @property
    def text(self) -> str:
        """The free text searched (prefixes removed, spelling corrected)."""
        return self.ranked.query.text


def _resolve(
    *, index: LoadedIndex, query: str, mode: str, weight: float, filters: SearchFilters | None, needed: int, floor: bool,
    correct: bool,
) -> Resolved:
    """Prefixes, then navigation (ids, DOIs, titles, author names), then spelling, then ranking,
    every step reading the one build ``index``."""
    parsed = navigation.parse(query)
    if parsed.has_prefixes:
        base = filters or SearchFilters()
        filters = replace(
            base,
            author=parsed.author or base.author,
            title=parsed.title or base.title,
            categories=tuple(dict.fromkeys(base.categories + parsed.categories)),
        )
    if filters is not None:
        filters = filters.with_author_field(index)
    if not parsed.text:
        listed = list(
            (filters.apply(Paper.objects.visible()) if filters else Paper.objects.none())
            .order_by("-published", "-pk").values_list("pk", flat=True)[:MAX_RESULTS]
        )
        listing = Ranked(
            fused=tuple(Fused(pk, 0.0, None, None, 0.0, 0.0) for pk in listed), total=len(listed),
            rows=MappingProxyType({}), index=index, query=AnalysedQuery.of(""), query_vector=None, mode=mode,
        )
        return Resolved(filters=filters, ranked=listing, listing=True)
    papers = filters.apply(Paper.objects.visible()) if filters else Paper.objects.visible()
    named = navigation.navigate(parsed.text, index=index.keyword, papers=papers)
    text = parsed.text
    correction = None
    if correct and not named:
        correction = spelling.correct(text, index.keyword)
        text = correction.corrected
    query_vector = embedder.encode_query(text) if mode != "keyword" else None
    ranked = rank(
        index=index, query=AnalysedQuery.of(text), query_vector=query_vector, mode=mode, weight=weight, filters=filters,
        needed=needed, floor=floor, first=tuple(named.pks),
    )
    return Resolved(filters=filters, ranked=ranked, correction=correction, navigation=named)


def ranked_ids(
    *, query: str, mode: str = "hybrid", weight: float | None = None, limit: int = 100, floor: bool = True, correct: bool = True
) -> list[int]:
    """Just the ranking of ``semantic_search`` (no page, no explanations): used by eval_search.

    ``floor`` and ``correct`` (spelling) are on as in the product; off measures the ranking alone."""
    query = _check_query(query)
    weight_value = _check(mode=mode, weight=weight, sort="relevance", page=1, page_size=min(limit, MAX_RESULTS))
    index = current_index()
    if not query or index is None:
        return []
    resolved = _resolve(
        index=index, query=query, mode=mode, weight=weight_value, filters=None, needed=limit, floor=floor, correct=correct
    )
    return [f.pk for f in resolved.ranked.fused[:limit]]


def search_total(*, query: str, mode: str = "hybrid") -> int:
    """How many results a query reports (the relevance floor's count): used by the nonsense benchmark."""
    query = _check_query(query)
    weight = _check(mode=mode, weight=None, sort="relevance", page=1, page_size=10)
    index = current_index()
    if index is None:
        return 0
    resolved = _resolve(index=index, query=query, mode=mode, weight=weight, filters=None, needed=10, floor=True, correct=True)
    return resolved.ranked.total


# --- pages ------------------------------------------------------------------------------------


def _page_hits(resolved: Resolved, window: list[Fused], *, start: int, sentence_by_meaning: bool) -> list[Hit]:
    """Page rows with their explanations (none for a listing); rows deleted since ranking are skipped.

    Rows the ranking's check loaded are reused (only the others are fetched).
    """
    ranked = resolved.ranked
    papers = rows_for([f.pk for f in window], ranked.rows)
    window = [f for f in window if f.pk in papers]
    if resolved.listing:
        return [Hit(paper=papers[f.pk], score=f.score, rank=start + i + 1) for i, f in enumerate(window)]
    named = resolved.navigation
    reason = explain.named_reason(named) if named else ""
    named_pks = set(named.pks)
    why = explain.explanations(ranked, window, papers, named=named, sentence_by_meaning=sentence_by_meaning)
    return [
        Hit(paper=papers[f.pk], score=f.score, rank=start + i + 1, explanation=explanation,
            reason=reason if f.pk in named_pks else "")
        for i, (f, explanation) in enumerate(zip(window, why, strict=True))
    ]


def rows_for(pks: list[int], loaded: Mapping[int, Paper] | None) -> dict[int, Paper]:
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
    floor: bool = True,
    correct: bool = True,
) -> SearchPage:
    """Rank visible papers for a query.

    mode: "dense" (meaning only), "keyword" (BM25 only) or "hybrid" (both, fused); weight: the
    dense share in hybrid fusion, 0 = keyword order, 1 = dense order (default
    SEARCH_HYBRID_WEIGHT); filters: exact facets that still fill every page they can;
    sort: "relevance" or "newest" (the most relevant SEARCH_NEWEST_POOL matches by date).
    The query may carry ``author:``, ``title:`` and ``cat:`` prefixes (extra filters); an arXiv
    id or URL, a DOI, an exact title or an author's name puts the papers it names first.
    ``floor``: only results above the relevance floor are listed and counted (``total``);
    ``correct``: words the collection lacks are corrected to ones it holds (``correction``).
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
    index = current_index()  # the one build this request reads, from ranking to explanations
    if index is None:
        result.index_ready = False
        return result
    needed = min(MAX_RESULTS, page * page_size) if sort == "relevance" else settings.SEARCH_NEWEST_POOL
    resolved = _resolve(
        index=index, query=query, mode=mode, weight=weight_value, filters=filters, needed=needed, floor=floor, correct=correct
    )
    ranked, result.total = list(resolved.ranked.fused), resolved.ranked.total
    result.correction = resolved.correction if resolved.correction else None
    result.navigation = resolved.navigation
    result.listing = resolved.listing
    if sort == "newest" and not resolved.listing:
        ranked = _by_newest(ranked)
        result.total = len(ranked)
    start = (page - 1) * page_size
    result.hits = _page_hits(resolved, ranked[start : start + page_size], start=start, sentence_by_meaning=sentence_by_meaning)
    if not resolved.listing and not result.total:
        result.suggestions = spelling.suggestions(resolved.text, index.keyword)
    if mode != "keyword" and not resolved.listing and embedder.is_truncated(resolved.text):
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
    if sort not in RELATED_SORTS:
        raise ValueError(f"sort must be one of {', '.join(RELATED_SORTS)}, not {sort!r}")
    curated = related_links_for(paper=paper)  # the curator's pins and suppressions
    stored = PaperEmbedding.objects.filter(paper=paper, model=embedder.model_name()).first()
    if stored is None:
        return _pinned_first(curated, [], vector=None, k=k, filters=filters)
    vector = stored.as_array().reshape(1, -1)
    index = current_index()
    ranked: list[Fused] = []
    rows: Mapping[int, Paper] = {}
    if index is not None:
        found = rank(
            index=index, query=AnalysedQuery.of(""), query_vector=vector, mode="dense", weight=1.0, filters=filters,
            needed=k, exclude=frozenset({paper.pk}) | curated.excluded,
        )
        ranked, rows = list(found.fused[:k]), found.rows
    if sort == "newest":
        ranked = _by_newest(ranked)
    papers = rows_for([f.pk for f in ranked], rows)
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


# --- curated related links --------------------------------------------------------------------


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
        Hit(
            paper=p, score=scores.get(p.pk, 0.0), rank=0, curated=True,
            explanation=Explanation(dense=scores.get(p.pk), summary="Pinned by a curator"),
        )
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
        # A pasted text is taken as written, and its nearest papers are listed with their
        # similarity whatever it is (a neighbour list, not a set of matches: no floor).
        sentence_by_meaning=sentence_by_meaning, correct=False, floor=False,
    )
