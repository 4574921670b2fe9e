"""JSON API of the library under /api/library/ (mounted in config/urls.py onto search's NinjaAPI).

Auth: the browser session (CSRF-checked on writes, as ninja's SessionAuth does) or a personal token
(``Authorization: Bearer ps_...``, made on /library/tokens; only its hash is stored). Every route
works inside the caller's own library: another reader's ids answer 404 like missing ones.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer, django_auth

from library import selectors, services
from library.models import (
    NOTE_MAX,
    QUERY_MAX,
    TAG_MAX,
    ApiToken,
    SavedPaper,
    SavedSearch,
    Tag,
)
from search.api import ErrorOut, PaperItemOut
from search.explain import bounded
from search.modes import DEFAULT_MODE, Mode


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if not token.startswith("ps_") or len(token) > 100:
            return None
        row = ApiToken.objects.select_related("user").filter(digest=ApiToken.hash(token)).first()
        if row is None or not row.user.is_active:
            return None
        if row.last_used is None or timezone.now() - row.last_used > dt.timedelta(minutes=5):
            ApiToken.objects.filter(pk=row.pk).update(last_used=timezone.now())  # at most one write per 5 minutes
        return row.user


router = Router(tags=["library"], auth=[django_auth, TokenAuth()])
# Every route answers 401 {"detail"} without a session or a valid token (documented, so clients
# and the schema-based fuzz test know it).
_UNAUTHORIZED: dict[int, Any] = {401: ErrorOut}
_ERRORS: dict[int, Any] = {400: ErrorOut, 404: ErrorOut, **_UNAUTHORIZED}
# A write with the browser session needs its CSRF token: 403 {"detail"} without it.
_WRITE: dict[int, Any] = {403: ErrorOut}


def _user(request: HttpRequest) -> User:
    """The reader the session or the personal token authenticated (every route requires one)."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise HttpError(401, "Sign in or send a personal token.")
    return user


def _call(fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except services.LibraryNotFound as exc:
        raise HttpError(404, str(exc)) from exc
    except services.LibraryError as exc:
        raise HttpError(400, str(exc)) from exc


# --- schemas -------------------------------------------------------------------------------------
class SavedPaperOut(Schema):
    paper_id: int
    title: str
    url: str = Field(description="The paper's page on this site.")
    tags: list[str]
    note: str
    saved: dt.datetime


class SaveIn(Schema):
    paper_id: int
    tags: list[str] = Field(default_factory=list, max_length=20, description=f"Tag names ({TAG_MAX} characters each), created when new.")
    note: str | None = Field(None, max_length=NOTE_MAX)


class UpdateIn(Schema):
    tags: list[str] | None = Field(None, max_length=20, description="Replaces the paper's tags.")
    note: str | None = Field(None, max_length=NOTE_MAX)


class TagOut(Schema):
    id: int
    name: str
    papers: int
    digest: str


class ClosestOut(Schema):
    paper_id: int
    title: str
    similarity: float = Field(description="Cosine similarity of the two papers' embeddings.")


class RecommendationOut(PaperItemOut):
    closest_saved: list[ClosestOut] = Field(description="The saved papers this one is most like.")


class RecommendationsOut(Schema):
    method: str
    based_on: int = Field(description="Saved papers (with a vector) the ranking is made from.")
    results: list[RecommendationOut]


class SavedSearchIn(Schema):
    name: str | None = Field(None, max_length=200)
    query: str = Field(max_length=QUERY_MAX)
    mode: Mode = DEFAULT_MODE
    year_from: int | None = Field(None, ge=1000, le=3000)
    year_to: int | None = Field(None, ge=1000, le=3000)
    categories: list[str] = Field(default_factory=list, max_length=20)
    author: str = Field("", max_length=200)
    floor: float = Field(0.2, ge=-1, le=1, description="Least meaning similarity (cosine) of a paper to the query for digests and feeds.")
    digest: str = Field("never", pattern="^(never|daily|weekly)$")


class SavedSearchPatch(Schema):
    name: str | None = Field(None, max_length=200)
    query: str | None = Field(None, max_length=QUERY_MAX)
    mode: str | None = Field(None, pattern="^(dense|keyword|hybrid)$")
    year_from: int | None = Field(None, ge=1000, le=3000)
    year_to: int | None = Field(None, ge=1000, le=3000)
    categories: list[str] | None = Field(None, max_length=20)
    author: str | None = Field(None, max_length=200)
    floor: float | None = Field(None, ge=-1, le=1)
    digest: str | None = Field(None, pattern="^(never|daily|weekly)$")


class SavedSearchOut(Schema):
    id: int
    name: str
    query: str
    mode: str
    year_from: int | None
    year_to: int | None
    categories: list[str]
    author: str
    floor: float
    digest: str
    feed_url: str = Field(description="Private Atom feed (keep it secret; revoke it on /library/searches).")


def _saved_out(request: HttpRequest, saved: SavedPaper) -> dict[str, Any]:
    return {
        "paper_id": saved.paper_id, "title": bounded(saved.paper.title, 1000),
        "url": request.build_absolute_uri(saved.paper.get_absolute_url()),
        "tags": sorted(t.name for t in saved.tags.all()), "note": saved.note, "saved": saved.created,
    }


def _search_out(request: HttpRequest, search: SavedSearch) -> dict[str, Any]:
    from django.urls import reverse

    fields = {name: getattr(search, name) for name in ("id", "name", "query", "mode", "year_from", "year_to", "categories", "author", "floor", "digest")}
    return fields | {"feed_url": request.build_absolute_uri(reverse("library:search_feed", args=[search.feed_token]))}


def _tag(user: User, name: str) -> Tag | None:
    if not name:
        return None
    tag = selectors.tag_for(user=user, name=name[:TAG_MAX])
    if tag is None:
        raise HttpError(404, "No tag of that name in your library.")
    return tag


# --- saved papers ------------------------------------------------------------------------------------
@router.get("/papers", response={200: list[SavedPaperOut], **_UNAUTHORIZED}, summary="Saved papers (optionally one tag's, searched)")
def list_papers(request: HttpRequest, tag: str = Query("", max_length=TAG_MAX), q: str = Query("", max_length=500),
                limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    rows = selectors.library_papers(user=_user(request), tag=_tag(_user(request), tag), query=q)[offset : offset + limit]
    return [_saved_out(request, row) for row in rows]


@router.post("/papers", response={201: SavedPaperOut, 200: SavedPaperOut, **_ERRORS, **_WRITE}, summary="Save a paper (with tags, a note)")
def save_paper(request: HttpRequest, payload: SaveIn) -> tuple[int, dict[str, Any]]:
    tags = _call(services.tags_parse, text=payload.tags)
    saved, created = _call(services.saved_paper_add, user=_user(request), paper_id=payload.paper_id, tags=tags, note=payload.note)
    saved = selectors.library_papers(user=_user(request)).get(pk=saved.pk)
    return (201 if created else 200), _saved_out(request, saved)


@router.patch("/papers/{paper_id}", response={200: SavedPaperOut, **_ERRORS, **_WRITE}, summary="Replace a saved paper's tags and/or note")
def update_paper(request: HttpRequest, paper_id: int, payload: UpdateIn) -> dict[str, Any]:
    tags = _call(services.tags_parse, text=payload.tags) if payload.tags is not None else None
    _call(services.saved_paper_update, user=_user(request), paper_id=paper_id, tags=tags, note=payload.note)
    return _saved_out(request, selectors.library_papers(user=_user(request)).get(paper_id=paper_id))


@router.delete("/papers/{paper_id}", response={204: None, 404: ErrorOut, **_UNAUTHORIZED, **_WRITE}, summary="Remove a paper from the library")
def remove_paper(request: HttpRequest, paper_id: int) -> tuple[int, None]:
    if not services.saved_paper_remove(user=_user(request), paper_id=paper_id):
        raise HttpError(404, "This paper is not in your library.")
    return 204, None


@router.get("/tags", response={200: list[TagOut], **_UNAUTHORIZED}, summary="Your tags with their paper counts")
def list_tags(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"id": t.pk, "name": t.name, "papers": t.count, "digest": t.digest} for t in selectors.tags_with_counts(user=_user(request))]


# --- recommendations ----------------------------------------------------------------------------------
@router.get("/recommendations", response={200: RecommendationsOut, 503: ErrorOut, **_ERRORS}, summary="Papers like your library (or one tag)")
def recommendations(request: HttpRequest, tag: str = Query("", max_length=TAG_MAX), k: int = Query(10, ge=1, le=100),
                    recent: bool = False) -> Any:
    result = selectors.recommendations(user=_user(request), tag=_tag(_user(request), tag), k=k, recent=recent)
    if not result.index_ready:
        return 503, {"detail": "The search index is not ready yet; try again in a moment."}
    results = []
    for item in result.items:
        p = item.paper
        results.append({
            "id": p.pk, "title": bounded(p.title, 1000), "abstract": bounded(p.abstract), "authors": p.authors,
            "published": p.published, "categories": p.categories, "arxiv_id": p.arxiv_id, "doi": p.doi,
            "url": request.build_absolute_uri(p.get_absolute_url()), "score": item.score, "rank": item.rank,
            "explanation": {"summary": "Close to " + "; ".join(s.title[:80] for s, _ in item.because)} if item.because else None,
            "closest_saved": [{"paper_id": s.pk, "title": bounded(s.title, 1000), "similarity": cos} for s, cos in item.because],
        })
    return 200, {"method": result.method, "based_on": result.based_on, "results": results}


# --- saved searches -------------------------------------------------------------------------------------
@router.get("/searches", response={200: list[SavedSearchOut], **_UNAUTHORIZED}, summary="Your saved searches")
def list_searches(request: HttpRequest) -> list[dict[str, Any]]:
    return [_search_out(request, s) for s in selectors.saved_searches(user=_user(request))]


@router.post("/searches", response={201: SavedSearchOut, **_ERRORS, **_WRITE}, summary="Save a search")
def create_search(request: HttpRequest, payload: SavedSearchIn) -> tuple[int, dict[str, Any]]:
    search = _call(services.saved_search_create, user=_user(request), **payload.dict(exclude_none=True))
    return 201, _search_out(request, search)


@router.get("/searches/{search_id}", response={200: SavedSearchOut, 404: ErrorOut, **_UNAUTHORIZED}, summary="One saved search")
def get_search(request: HttpRequest, search_id: int) -> dict[str, Any]:
    search = selectors.saved_searches(user=_user(request)).filter(pk=search_id).first()
    if search is None:
        raise HttpError(404, "No such saved search.")
    return _search_out(request, search)


@router.patch("/searches/{search_id}", response={200: SavedSearchOut, **_ERRORS, **_WRITE}, summary="Change a saved search")
def update_search(request: HttpRequest, search_id: int, payload: SavedSearchPatch) -> dict[str, Any]:
    search = _call(services.saved_search_update, user=_user(request), search_id=search_id, **payload.dict(exclude_none=True))
    return _search_out(request, search)


@router.delete("/searches/{search_id}", response={204: None, 404: ErrorOut, **_UNAUTHORIZED, **_WRITE}, summary="Delete a saved search")
def delete_search(request: HttpRequest, search_id: int) -> tuple[int, None]:
    _call(services.saved_search_delete, user=_user(request), search_id=search_id)
    return 204, None
