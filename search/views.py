"""Server-rendered pages: home, search, paper, BibTeX, similar. Thin: parse input, call a query, render.

Each page works as a plain form without JavaScript; with htmx (django-htmx) the same views
return only the part of the page that changes.
"""

from __future__ import annotations

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_http_methods
from django_htmx.http import push_url
from django_htmx.middleware import HtmxDetails

from papers.bibtex import citation_key, paper_bibtex
from papers.models import Paper
from papers.selectors import featured_papers, merged_target, paper_get, recent_papers
from search import browse
from search.forms import MAX_PAGE, SIMILAR_COUNT, RelatedForm, SearchForm, SimilarForm
from search.index_store import (
    RETRY_AFTER_SECONDS,
    IndexUnavailable,
    reader,
    require_index,
)
from search.queries import related_papers, semantic_search, similar_to_text

EXPORT_COUNT = 100  # "export these results as BibTeX": the first this many results
MAX_NAME_CHARS = 200

# The text a "papers like this one" search starts from: about what the model reads of it.
LIKE_THIS_CHARS = 1000


def _partial(request: HttpRequest) -> bool:
    """True for an htmx request that swaps one region (not a boosted whole-page load)."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return bool(htmx) and htmx is not None and not htmx.boosted


def _render_region(request: HttpRequest, page: str, region: str, context: dict[str, object], status: int) -> HttpResponse:
    """The whole page, or for htmx only the region, with a tidy URL for the address bar."""
    if not _partial(request):
        return render(request, page, context, status=status)
    response = render(request, region, context, status=status)
    if request.method == "GET":
        # A form sends every field, empty ones too; the address bar keeps only what was set.
        params = QueryDict(mutable=True)
        for name, values in request.GET.lists():
            params.setlist(name, [v for v in values if v])
        query = params.urlencode()
        push_url(response, request.path + (f"?{query}" if query else ""))
    return response


def _visible_paper(paper_id: int) -> Paper:
    paper = paper_get(paper_id=paper_id)
    if paper is None:  # missing, hidden and merged papers all look the same from outside
        raise Http404("No such paper")
    return paper


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "search/home.html",
        {"recent": recent_papers(limit=20), "featured": featured_papers(), "form": SearchForm()},
    )


def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    context: dict[str, object] = {"form": form, "query": "", "results": None, "error": "", "weight_default": settings.SEARCH_HYBRID_WEIGHT}
    status = 200
    if not form.is_valid():
        context["error"], status = form.error_message(), 400
    else:
        context["query"] = form.cleaned_data["q"]
        context["has_filters"] = bool(form.filters())
        if context["query"]:
            try:
                # The page shows highlights and a summary, never best sentences: none chosen by meaning.
                context["results"] = semantic_search(**form.search_kwargs(), sentence_by_meaning=False)  # type: ignore[arg-type]
            except ValueError as exc:
                context["error"], status = str(exc), 400
            else:
                if not context["results"].index_ready:  # type: ignore[attr-defined]
                    context["unavailable"], status = reader.unavailable_reason(), 503
    return _unavailable_retry(_render_region(request, "search/search.html", "search/_results.html", context, status))


def _unavailable_retry(response: HttpResponse) -> HttpResponse:
    """No index build to serve: a 503 that says when to come back (never an empty 200)."""
    if response.status_code == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def paper_detail(request: HttpRequest, paper_id: int) -> HttpResponse:
    # Curation: a paper a curator merged into another redirects there for good.
    if (kept := merged_target(paper_id=paper_id)) is not None:
        query = request.META.get("QUERY_STRING", "")
        return HttpResponsePermanentRedirect(kept.get_absolute_url() + (f"?{query}" if query else ""))
    paper = _visible_paper(paper_id)
    form = RelatedForm(request.GET)
    related, error, status = [], "", 200
    if form.is_valid():
        try:
            require_index()
            related = related_papers(paper=paper, filters=form.filters(), sort=form.cleaned_data["sort"] or "similarity")
        except IndexUnavailable as exc:
            # The page is the paper: it stays a 200; its related list says why it is missing.
            error = exc.reason
    else:
        error, status = form.error_message(), 400
    context = {
        "paper": paper,
        "related": related,
        "form": form,
        "error": error,
        "bibtex": paper_bibtex(paper=paper),
        "like_this_query": paper.embedding_text[:LIKE_THIS_CHARS].rsplit(" ", 1)[0]
        if len(paper.embedding_text) > LIKE_THIS_CHARS
        else paper.embedding_text,
    }
    return _render_region(request, "search/paper.html", "search/_related.html", context, status)


def paper_bibtex_download(request: HttpRequest, paper_id: int) -> HttpResponse:
    paper = _visible_paper(paper_id)
    response = HttpResponse(paper_bibtex(paper=paper), content_type="application/x-bibtex; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{citation_key(paper)}.bib"'
    return response


@require_http_methods(["GET", "POST"])
def similar(request: HttpRequest) -> HttpResponse:
    """Papers like a pasted text (POST: abstracts are too long for a URL) or an arXiv id (GET works too)."""
    data = request.POST if request.method == "POST" else request.GET
    context: dict[str, object] = {"form": SimilarForm(), "submitted": False}
    status = 200
    if "text" in data:
        form = SimilarForm(data)
        context.update(form=form, submitted=True)
        if not form.is_valid():
            context["error"], status = form.error_message(), 400
        elif form.paper is not None:
            context["source_paper"] = form.paper
            if reader.get() is None:
                context["index_ready"], context["unavailable"], status = False, reader.unavailable_reason(), 503
            else:
                context["hits"] = related_papers(paper=form.paper, k=SIMILAR_COUNT, filters=form.filters())
        else:
            found = similar_to_text(text=form.cleaned_data["text"], k=SIMILAR_COUNT, filters=form.filters(), sentence_by_meaning=False)
            context.update(
                hits=found.hits,
                truncated=found.truncated,
                notice=getattr(found, "notice", ""),
                index_ready=found.index_ready,
            )
            if not found.index_ready:
                context["unavailable"], status = reader.unavailable_reason(), 503
    return _unavailable_retry(_render_region(request, "search/similar.html", "search/_similar_results.html", context, status))


def search_bibtex(request: HttpRequest) -> HttpResponse:
    """The first EXPORT_COUNT results of a search (same query, mode and filters) as one .bib file."""
    form = SearchForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(form.error_message(), content_type="text/plain; charset=utf-8")
    kwargs = form.search_kwargs() | {"page": 1, "page_size": EXPORT_COUNT}
    if not kwargs["query"]:
        return HttpResponseBadRequest("Give a search (q) to export its results.", content_type="text/plain; charset=utf-8")
    try:
        found = semantic_search(**kwargs, sentence_by_meaning=False)  # type: ignore[arg-type]
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    body = "\n".join(paper_bibtex(paper=hit.paper) for hit in found.hits)
    response = HttpResponse(body, content_type="application/x-bibtex; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="paperscope-results.bib"'
    return response


def _page_number(request: HttpRequest) -> int | None:
    value = request.GET.get("page", "1") or "1"
    return int(value) if value.isdigit() and 1 <= int(value) <= MAX_PAGE else None


def author(request: HttpRequest, name: str) -> HttpResponse:
    """/authors/<name>/: their papers newest first, frequent co-authors, papers like their work."""
    page = _page_number(request)
    if len(name) > MAX_NAME_CHARS or page is None:
        return render(request, "search/author.html", {"error": "That is not an author name or page we can show.", "name": name[:80]}, status=400)
    profile = browse.author_profile(name=name, page=page)
    if profile is None:
        raise Http404("No paper in this collection lists that author")
    return render(request, "search/author.html", {"profile": profile, "name": name})


def browse_category(request: HttpRequest, category: str) -> HttpResponse:
    """/browse/<category>?week=2025-W14: a category's papers week by week (default: its latest week)."""
    if len(category) > 100:
        return render(request, "search/browse.html", {"error": "That category name is too long.", "category": category[:40]}, status=400)
    try:
        listing = browse.browse_category(category=category, week=request.GET.get("week", "")[:20])
    except ValueError as exc:
        return render(request, "search/browse.html", {"error": f"Week: {exc}.", "category": category}, status=400)
    if not listing.total_in_category:
        raise Http404("No paper in this collection has that category")
    return render(request, "search/browse.html", {"listing": listing, "category": category})


@require_http_methods(["GET", "HEAD"])
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers fetch where no page names an icon (JSON from the API): the site's icon."""
    return redirect(static("favicon.svg"))
