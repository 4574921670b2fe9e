"""The JSON API (django-ninja), mounted at /api/. OpenAPI at /api/openapi.json, docs at /api/docs.

Thin like the views: validate input (schemas carry the limits), call one query, shape the result.
Bad input is a 4xx with {"detail": "..."}; hidden papers never appear, and look missing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.errors import HttpError, ValidationError
from ninja.openapi.docs import Swagger

from papers.bibtex import paper_bibtex
from papers.models import Paper
from papers.normalize import normalize_arxiv_id
from papers.selectors import merged_target, paper_get
from search.explain import RESULT_SENTENCE_CHARS, RESULT_TITLE_CHARS, bounded, bounded_html
from search.forms import MAX_FACET_CHARS, MAX_PAGE, MAX_YEAR, MIN_YEAR, paper_by_arxiv_id, search_filters
from search.modes import Mode, RelatedSort, Sort
from search.index_store import IndexUnavailable, reader, require_index
from search.queries import Hit, SearchFilters, related_papers, semantic_search, similar_to_text
from search.selectors import index_status

MAX_PAGE_SIZE = 100
MAX_QUERY_CHARS = settings.SEARCH_MAX_QUERY_CHARS

api = NinjaAPI(
    title="Paperscope API",
    version="1",
    description=(
        "Semantic search over this Paperscope collection. Errors are JSON objects with a "
        "`detail` message; invalid input answers 4xx, never 5xx. Hidden papers never appear."
    ),
    # Swagger UI's assets come from ninja's own static files (ninja is an installed app).
    docs=Swagger(settings={"persistAuthorization": False}),
    urls_namespace="api",
)


# --- schemas ----------------------------------------------------------------------------
class ErrorOut(Schema):
    detail: str = Field(description="What was wrong, in words.")


class ValidationErrorOut(Schema):
    detail: str = Field(description="Every problem with the input, in words.")
    errors: list[dict[str, object]] = Field(description="The same problems, one object each (loc, msg, type).")


class ExplanationOut(Schema):
    dense: float | None = Field(None, description="Contribution of semantic (embedding) similarity.")
    keyword: float | None = Field(None, description="Contribution of keyword (BM25) matching.")
    matched_terms: list[str] = Field(default_factory=list, description="Query terms found in the paper.")
    summary: str = Field("", description="One line saying why the paper matched.")
    best_sentence: str = Field(
        "",
        description=(
            "The abstract sentence sharing the most query terms (rarer terms weigh more). When none shares "
            "one: the closest in meaning where the request asked for it (search: sentence_by_meaning=true), "
            "else the first sentence."
        ),
    )
    title_html: str = Field("", description="Title with matched terms in <mark> (escaped HTML).")
    abstract_html: str = Field("", description="Abstract with matched terms in <mark> (escaped HTML).")
    dense_part: float | None = Field(None, description="What meaning added to the fused score (hybrid).")
    keyword_part: float | None = Field(None, description="What keywords added to the fused score (hybrid).")


class PaperItemOut(Schema):
    id: int
    title: str
    abstract: str = Field(description="The abstract, cut at 2,000 characters with an ellipsis (the whole one: /api/papers/{id}).")
    authors: list[str]
    published: dt.date | None
    categories: list[str]
    arxiv_id: str | None
    doi: str | None
    url: str = Field(description="The paper's page on this site.")
    score: float = Field(description="Ranking score (higher is closer).")
    rank: int = Field(description="1-based position in the full ranking.")
    explanation: ExplanationOut | None = Field(description="Why it matched; null where not computed.")


class SearchOut(Schema):
    query: str
    total: int = Field(description="Number of results above the relevance floor (at most 1000): the papers that really match; 0 when none does.")
    page: int
    page_size: int
    num_pages: int
    elapsed_ms: float
    truncated: bool = Field(description="True when the query was longer than the model reads.")
    corrected_query: str | None = Field(
        None, description="The query as searched when misspelt words were corrected to words of the collection; null otherwise."
    )
    results: list[PaperItemOut]


class PaperOut(Schema):
    id: int
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published: dt.date | None
    arxiv_id: str | None
    doi: str | None
    links: dict[str, str] = Field(description="arXiv page, PDF and DOI links where known.")
    url: str
    related_url: str
    bibtex: str


class RelatedOut(Schema):
    paper_id: int
    results: list[PaperItemOut]


class SimilarIn(Schema):
    text: str | None = Field(
        None, min_length=1, max_length=MAX_QUERY_CHARS, description="An abstract or any passage of text."
    )
    arxiv_id: str | None = Field(
        None, min_length=1, max_length=200, description="An arXiv id or URL of a paper in this collection."
    )
    k: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description="How many papers to return.")
    year_from: int | None = Field(None, ge=MIN_YEAR, le=MAX_YEAR)
    year_to: int | None = Field(None, ge=MIN_YEAR, le=MAX_YEAR)
    category: str = Field("", max_length=MAX_FACET_CHARS)
    author: str = Field("", max_length=MAX_FACET_CHARS)


class SimilarOut(Schema):
    source: Literal["text", "paper"] = Field(description="Whether the input was read as text or as a paper.")
    paper_id: int | None = Field(description="The paper the arXiv id named, when it was one.")
    truncated: bool
    results: list[PaperItemOut]


class IndexStatusOut(Schema):
    papers: int
    visible: int
    embedded: int
    pending: int = Field(description="Papers whose vector is missing or stale.")
    indexed: int | None = Field(description="Vectors in the published index build.")
    build_id: str | None
    model: str
    build_model: str | None
    build_created: str | None
    problem: str = Field(description="Why the current build is refused, if it is.")


# --- errors -----------------------------------------------------------------------------
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any /api/ path no endpoint answers: a JSON 404 naming where the endpoints are listed."""
    return api.create_response(request, {"detail": f"No API endpoint at /api/{path}; see /api/docs for the list."}, status=404)


@api.exception_handler(ValidationError)
def _invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = []
    for error in exc.errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "body", "path"))
        problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors]
    return api.create_response(request, {"detail": "; ".join(problems), "errors": errors}, status=422)


@api.exception_handler(IndexUnavailable)
def _index_unavailable(request: HttpRequest, exc: IndexUnavailable) -> HttpResponse:
    """No index build to serve (none yet, or the only one damaged and being rebuilt): never an empty 200."""
    response = api.create_response(request, {"detail": exc.reason}, status=503)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _checked_filters(year_from: int | None, year_to: int | None, category: str, author: str) -> SearchFilters:
    if year_from and year_to and year_from > year_to:
        raise HttpError(400, f"year_from ({year_from}) is after year_to ({year_to}).")
    # PostgreSQL text cannot hold NUL: refused here (400), as Django's forms do, not a 500 there.
    if "\x00" in category or "\x00" in author:
        raise HttpError(400, "category and author must not contain NUL characters.")
    return search_filters(year_from=year_from, year_to=year_to, category=category, author=author)


def _item(request: HttpRequest, hit: Hit) -> dict[str, object]:
    """One result of a list, bounded whatever is stored: 100 results of a 200 MiB abstract once
    made one answer 629 MB. The whole abstract is at /api/papers/{id}."""
    paper = hit.paper
    explanation = dict(vars(hit.explanation)) if hit.explanation else None
    if explanation is not None:
        explanation["best_sentence"] = bounded(explanation.get("best_sentence") or "", RESULT_SENTENCE_CHARS)
        explanation["abstract_html"] = bounded_html(explanation.get("abstract_html") or "")
        explanation["title_html"] = bounded_html(explanation.get("title_html") or "", RESULT_TITLE_CHARS)
    return {
        "id": paper.pk,
        "title": bounded(paper.title, RESULT_TITLE_CHARS),
        "abstract": bounded(paper.abstract),
        "authors": paper.authors,
        "published": paper.published,
        "categories": paper.categories,
        "arxiv_id": paper.arxiv_id,
        "doi": paper.doi,
        "url": request.build_absolute_uri(paper.get_absolute_url()),
        "score": float(hit.score),
        "rank": hit.rank,
        # A shallow copy: its fields are numbers, strings and a list of strings (asdict deep-copies).
        "explanation": explanation,
    }


def _visible(paper_id: int) -> Paper:
    paper = paper_get(paper_id=paper_id)
    if paper is None:
        # A merged-away id says where its paper lives now (its page redirects there).
        if (kept := merged_target(paper_id=paper_id)) is not None:
            raise HttpError(404, f"Paper {paper_id} was merged into paper {kept.pk}: /api/papers/{kept.pk}.")
        raise HttpError(404, f"No paper with id {paper_id}.")
    return paper


Year = Query(None, ge=MIN_YEAR, le=MAX_YEAR)
Facet = Query("", max_length=MAX_FACET_CHARS)
_ERRORS = {400: ErrorOut, 422: ValidationErrorOut}


# --- endpoints --------------------------------------------------------------------------
@api.get("/search", response={200: SearchOut, 503: ErrorOut, **_ERRORS}, summary="Search papers")
def search(
    request: HttpRequest,
    q: str = Query(..., min_length=1, max_length=MAX_QUERY_CHARS, description="A question, keywords or an abstract."),
    mode: Mode | None = Query(None, description="Ranking (default: hybrid)."),
    weight: float | None = Query(None, ge=0, le=1, description="Share of semantic similarity in hybrid mode."),
    year_from: int | None = Year,
    year_to: int | None = Year,
    category: str = Query("", max_length=MAX_FACET_CHARS, description="e.g. cs.CL; several separated by commas."),
    author: str = Query("", max_length=MAX_FACET_CHARS, description="An author's name."),
    sort: Sort = "relevance",
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(settings.SEARCH_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    sentence_by_meaning: bool = Query(
        False,
        description=(
            "Where no sentence of a result's abstract shares a query term, choose its best_sentence by "
            "meaning (embeds a few sentences per such result: several times slower). Default: the first sentence."
        ),
    ),
) -> Status[dict[str, object]]:
    """Rank visible papers for a query, with filters, sort and pages; each result says why it matched."""
    if not q.strip():
        raise HttpError(400, "q must contain some text.")
    options: dict[str, object] = {"mode": mode} if mode else {}
    if weight is not None:
        options["weight"] = weight
    try:
        found = semantic_search(
            query=q,
            page=page,
            page_size=page_size,
            filters=_checked_filters(year_from, year_to, category, author),
            sort=sort,
            sentence_by_meaning=sentence_by_meaning,
            **options,  # type: ignore[arg-type]
        )
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    if not found.index_ready:
        raise IndexUnavailable(reader.unavailable_reason())
    return Status(200, {
        "query": found.query,
        "total": found.total,
        "page": found.page,
        "page_size": found.page_size,
        "num_pages": found.num_pages,
        "elapsed_ms": round(found.elapsed_ms, 2),
        "truncated": found.truncated,
        "corrected_query": found.correction.corrected if found.correction else None,
        "results": [_item(request, hit) for hit in found.hits],
    })


@api.get("/papers/{paper_id}", response={200: PaperOut, 404: ErrorOut}, summary="One paper")
def paper(request: HttpRequest, paper_id: int) -> dict[str, object]:
    """A paper's metadata, links and BibTeX. Hidden and merged papers answer 404; a merged
    paper's answer names the paper it was merged into."""
    found = _visible(paper_id)
    links = {"abs": found.abs_url, "pdf": found.pdf_url, "doi": found.doi_url}
    return {
        "id": found.pk,
        "title": found.title,
        "abstract": found.abstract,
        "authors": found.authors,
        "categories": found.categories,
        "published": found.published,
        "arxiv_id": found.arxiv_id,
        "doi": found.doi,
        "links": {name: url for name, url in links.items() if url},
        "url": request.build_absolute_uri(found.get_absolute_url()),
        "related_url": request.build_absolute_uri(f"/api/papers/{found.pk}/related"),
        "bibtex": paper_bibtex(paper=found),
    }


@api.get("/papers/{paper_id}/related", response={200: RelatedOut, 404: ErrorOut, 503: ErrorOut, **_ERRORS}, summary="Related papers")
def related(
    request: HttpRequest,
    paper_id: int,
    k: int = Query(settings.RELATED_COUNT, ge=1, le=MAX_PAGE_SIZE),
    sort: RelatedSort = "similarity",
    year_from: int | None = Year,
    year_to: int | None = Year,
    category: str = Facet,
    author: str = Facet,
) -> dict[str, object]:
    """The papers nearest to this one, never itself; filter them (e.g. year_from) and sort them."""
    found = _visible(paper_id)
    filters = _checked_filters(year_from, year_to, category, author)
    require_index()  # no build to serve: a 503, not an empty list
    try:
        hits = related_papers(paper=found, k=k, filters=filters, sort=sort)
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    return {"paper_id": found.pk, "results": [_item(request, hit) for hit in hits]}


@api.post("/similar", response={200: SimilarOut, 503: ErrorOut, 404: ErrorOut, **_ERRORS}, summary="Papers like a text")
def similar(request: HttpRequest, payload: SimilarIn) -> Status[dict[str, object]]:
    """Papers like a pasted abstract (`text`) or like a paper of this collection (`arxiv_id`, id or URL)."""
    if bool(payload.text and payload.text.strip()) == bool(payload.arxiv_id):
        raise HttpError(400, "Give exactly one of text or arxiv_id.")
    filters = _checked_filters(payload.year_from, payload.year_to, payload.category, payload.author)
    if payload.arxiv_id:
        arxiv_id = normalize_arxiv_id(payload.arxiv_id)
        if not arxiv_id:
            raise HttpError(400, f"{payload.arxiv_id!r} is not an arXiv id or arXiv URL.")
        source = paper_by_arxiv_id(arxiv_id=arxiv_id)
        if source is None:
            raise HttpError(404, f"arXiv:{arxiv_id} is not in this collection; send its abstract as text.")
        require_index()
        hits = related_papers(paper=source, k=payload.k, filters=filters)
        results = [_item(request, hit) for hit in hits]
        return Status(200, {"source": "paper", "paper_id": source.pk, "truncated": False, "results": results})
    try:
        found = similar_to_text(text=payload.text or "", k=payload.k, filters=filters)
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    if not found.index_ready:
        raise IndexUnavailable(reader.unavailable_reason())
    return Status(200, {
        "source": "text",
        "paper_id": None,
        "truncated": found.truncated,
        "results": [_item(request, hit) for hit in found.hits],
    })


@api.get("/index/status", response=IndexStatusOut, summary="Index status")
def status(request: HttpRequest) -> dict[str, object]:
    """How many papers are stored, embedded and in the published index build."""
    return dataclasses.asdict(index_status())
