"""Reads of the library, always for one reader: listing, search inside, exports, recommendations."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, Prefetch, Q, QuerySet

from library.models import SavedPaper, SavedSearch, Tag
from library.recommend import FUSION_DEPTH, closest_saved, direction, mlt_terms, zscore
from papers.bibtex import citation_keys, paper_bibtex
from papers.models import Paper

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

MAX_LIBRARY_QUERY = 500


class TagCount(TypedDict):
    count: int


def saved_paper_ids(*, user: User) -> set[int]:
    """The ids of the papers a reader saved (one query; empty for anonymous readers)."""
    if not user.is_authenticated:
        return set()
    return set(SavedPaper.objects.filter(user=user).values_list("paper_id", flat=True))


def tags_with_counts(*, user: User) -> QuerySet[WithAnnotations[Tag, TagCount]]:
    return Tag.objects.filter(user=user).annotate(count=Count("saved"))


def tag_for(*, user: User, name: str) -> Tag | None:
    return Tag.objects.filter(user=user, name__iexact=name).first()


def library_papers(*, user: User, tag: Tag | None = None, query: str = "") -> QuerySet[SavedPaper]:
    """A reader's saved papers (newest saved first), optionally one tag's, optionally searched.

    The search inside a library is exact: every word must appear in the title, the abstract,
    the authors or the reader's note (a library is small; no index needed).
    """
    saved = SavedPaper.objects.filter(user=user, paper__merged_into__isnull=True)
    if tag is not None:
        saved = saved.filter(tags=tag)
    for word in query.split()[:20]:
        word = word[:100]
        saved = saved.filter(
            Q(paper__title__icontains=word) | Q(paper__abstract__icontains=word)
            | Q(paper__author_key__icontains=word) | Q(note__icontains=word)
        )
    return saved.select_related("paper").prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))


def saved_searches(*, user: User) -> QuerySet[SavedSearch]:
    return SavedSearch.objects.filter(user=user)


# --- exports ------------------------------------------------------------------------------------

CSV_COLUMNS = ("citation_key", "title", "authors", "year", "published", "arxiv_id", "doi", "url", "categories", "tags", "note", "saved")


def export_bibtex(saved: QuerySet[SavedPaper]) -> str:
    """One BibTeX entry per saved paper, each with its collection-unique citation key."""
    rows = list(saved)
    citation_keys(row.paper for row in rows)  # assigns missing keys first (they are stored)
    return "\n".join(paper_bibtex(paper=row.paper) for row in rows)


def _csv_cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: imported text must stay text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_csv(saved: QuerySet[SavedPaper]) -> str:
    rows = list(saved)
    keys = citation_keys(row.paper for row in rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        p = row.paper
        url = p.abs_url or p.doi_url
        writer.writerow([_csv_cell(str(v)) for v in (
            keys[p.pk], p.title, "; ".join(p.authors), p.year or "", p.published.isoformat() if p.published else "",
            p.arxiv_id or "", p.doi or "", url if url.startswith(("https://", "http://")) else "",
            " ".join(p.categories), "; ".join(t.name for t in row.tags.all()), row.note, row.created.date().isoformat(),
        )])
    return out.getvalue()


# --- recommendations -------------------------------------------------------------------------------


@dataclass
class Recommendation:
    paper: Paper
    score: float
    rank: int
    because: list[tuple[Paper, float]] = field(default_factory=list)  # saved papers it is closest to


@dataclass
class Recommendations:
    items: list[Recommendation]
    method: str
    based_on: int  # saved papers with a vector
    index_ready: bool = True


def _vectors(paper_ids: list[int]) -> tuple[list[int], np.ndarray]:
    from search.embedder import model_name
    from search.models import PaperEmbedding

    rows = PaperEmbedding.objects.filter(paper_id__in=paper_ids, model=model_name()).values_list("paper_id", "vector")
    found = [(pk, np.frombuffer(bytes(v), dtype=np.float32)) for pk, v in rows]
    if not found:
        return [], np.zeros((0, 0), dtype=np.float32)
    return [pk for pk, _ in found], np.vstack([v for _, v in found])


def _negatives(index_ids: np.ndarray, exclude: set[int], count: int, seed: int) -> np.ndarray:
    """Vectors of papers sampled from the index as "the rest" for the SVM (stable per library)."""
    if count <= 0 or len(index_ids) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    rng = random.Random(seed)
    pool = index_ids if len(index_ids) <= count * 2 else index_ids[np.asarray(rng.sample(range(len(index_ids)), count * 2))]
    sample = [int(pk) for pk in pool if int(pk) not in exclude][:count]
    return _vectors(sample)[1]


def _fused(*, index: Any, query: np.ndarray, dense: list[tuple[int, float]], saved_ids: list[int], depth: int) -> list[tuple[int, float]]:
    """Dense and BM25 more-like-this candidates, each side z-scored over its own top, averaged."""
    from search.keyword import analyze

    texts = [analyze(f"{p.title} {p.abstract}") for p in Paper.objects.filter(pk__in=saved_ids).only("title", "abstract")]
    vocabulary = sorted({t for terms in texts for t in terms})
    terms = mlt_terms(texts, index.keyword.idf(vocabulary))
    if not terms:
        return dense
    keyword_scores = index.keyword.scores(terms)
    keyword_top = index.keyword.top(keyword_scores, depth)
    pool = list(dict.fromkeys([pk for pk, _ in dense] + [pk for pk, _ in keyword_top]))
    pool_ids, pool_vectors = _vectors(pool)
    dense_all = dict(zip(pool_ids, (pool_vectors @ query).tolist(), strict=True)) if pool_ids else {}
    keyword_all = index.keyword.scores_at(keyword_scores, pool)
    dense_top = np.asarray([s for _, s in dense], dtype=np.float64)
    keyword_top_scores = np.asarray([s for _, s in keyword_top], dtype=np.float64)
    fused = []
    for pk in pool:
        if pk not in dense_all:
            continue  # no stored vector (being re-embedded): wait for it
        d = float(zscore(np.asarray([dense_all[pk]]), dense_top)[0])
        w = float(zscore(np.asarray([keyword_all.get(pk, 0.0)]), keyword_top_scores)[0])
        fused.append((pk, (d + w) / 2))
    fused.sort(key=lambda item: -item[1])
    return fused


def recommendations(
    *, user: User, tag: Tag | None = None, k: int = 10, recent: bool = False, method: str | None = None,
    exclude: set[int] | None = None,
) -> Recommendations:
    """Papers most like a reader's library (or one tag of it) that are not in the library yet.

    The saved papers' stored vectors become one direction (library.recommend, chosen by
    LIBRARY_RECOMMEND_METHOD, measured in docs/benchmarks.md); the served FAISS index returns
    the papers closest along it, fused with a BM25 more-like-this of the saved papers' most
    distinctive terms for the ``+bm25`` methods (the default). recent=True orders the best 5 x k by date, newest first.
    Each item names the saved papers it is closest to.
    """
    from search.index_store import current_index

    method = method or settings.LIBRARY_RECOMMEND_METHOD
    k = max(1, min(int(k), 100))
    saved = SavedPaper.objects.filter(user=user)
    if tag is not None:
        saved = saved.filter(tags=tag)
    source_ids = list(saved.values_list("paper_id", flat=True)[: settings.LIBRARY_MAX_PAPERS])
    in_library = saved_paper_ids(user=user) | (exclude or set())
    ids, matrix = _vectors(source_ids)
    index = current_index()
    if index is None:
        return Recommendations(items=[], method=method, based_on=len(ids), index_ready=False)
    if not ids:
        return Recommendations(items=[], method=method, based_on=0)
    negatives = _negatives(index.vectors.ids(), set(in_library), settings.LIBRARY_SVM_NEGATIVES, seed=hash((user.pk, tag.pk if tag else 0)))
    vector_method, _, keyword_side = method.partition("+")
    query = direction(vector_method, matrix, negatives if len(negatives) else None)
    want = k * 5 if recent else k
    depth = max(FUSION_DEPTH, want + len(in_library) + 20)
    dense = [(int(pk), float(s)) for pk, s in index.vectors.search(query.reshape(1, -1).astype(np.float32), min(depth, max(1, len(index.vectors))))[0] if pk >= 0]
    if keyword_side and index.keyword is not None:
        ranked = _fused(index=index, query=query, dense=dense, saved_ids=ids, depth=depth)
    else:
        ranked = dense
    candidates = [(pk, s) for pk, s in ranked if pk not in in_library]
    visible = Paper.objects.visible().in_bulk([pk for pk, _ in candidates])
    chosen = [(visible[pk], s) for pk, s in candidates if pk in visible][:want]
    if recent:
        chosen.sort(key=lambda item: (item[0].published is not None, item[0].published, item[0].pk), reverse=True)
        chosen = chosen[:k]
    saved_papers = Paper.objects.in_bulk(ids)
    cand_ids, cand_vectors = _vectors([p.pk for p, _ in chosen])
    cand_row = {pk: i for i, pk in enumerate(cand_ids)}
    items = []
    for rank, (paper, score) in enumerate(chosen, start=1):
        because = []
        if paper.pk in cand_row:
            because = [(saved_papers[pk], cos) for pk, cos in closest_saved(cand_vectors[cand_row[paper.pk]], matrix, ids) if pk in saved_papers]
        items.append(Recommendation(paper=paper, score=score, rank=rank, because=because))
    return Recommendations(items=items, method=method, based_on=len(ids))


# --- saved searches: one ranking each, shared by digests and feeds --------------------------------

SAVED_SEARCH_DEPTH = 200  # how deep a saved search's ranking is read for new papers
FILTERED_DEPTH = 1000  # read deeper when facets will drop some of the ranking


def saved_search_hits(*, search: SavedSearch, depth: int = SAVED_SEARCH_DEPTH) -> list[tuple[Paper, float]]:
    """The saved search ranked once: (paper, meaning similarity to the query), in the search's order.

    The order is search's own (``ranked_ids``: the same ranking and relevance floor as the search
    page, without the per-result explanations that a page needs and a digest does not: those
    were 95% of the time at 115k papers). Facets are applied exactly afterwards; the saved
    search's ``floor`` is the least cosine similarity of the paper to the query (-1..1).
    """
    from search import embedder
    from search.queries import SearchFilters, ranked_ids

    filters = SearchFilters(
        year_from=search.year_from, year_to=search.year_to, categories=tuple(search.categories), author=search.author
    )
    ids = ranked_ids(query=search.query, mode=search.mode, limit=FILTERED_DEPTH if filters else depth)
    allowed = filters.apply(Paper.objects.visible()) if filters else Paper.objects.visible()
    rows = allowed.in_bulk(ids)
    papers = [rows[pk] for pk in ids if pk in rows][:depth]
    if not papers:
        return []
    query = embedder.encode_query(search.query).reshape(-1)
    vector_ids, vectors = _vectors([p.pk for p in papers])
    similarity = dict(zip(vector_ids, (vectors @ query).tolist(), strict=True)) if vector_ids else {}
    return [(p, similarity[p.pk]) for p in papers if p.pk in similarity and similarity[p.pk] >= search.floor]


def feed_search(*, token: str) -> SavedSearch | None:
    return SavedSearch.objects.filter(feed_token=token[:64]).select_related("user").first() if token else None


def feed_tag(*, token: str) -> Tag | None:
    return Tag.objects.filter(feed_token=token[:64]).select_related("user").first() if token else None
