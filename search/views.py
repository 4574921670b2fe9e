"""Server-rendered pages: home, search, paper. Thin: parse input, call a query, render."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from papers.selectors import featured_papers, paper_get, recent_papers
from search.queries import related_papers, semantic_search


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 1000))
    except ValueError:
        return 1


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "search/home.html",
        {"recent": recent_papers(limit=20), "featured": featured_papers()},
    )


def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    error = ""
    if len(query) > settings.SEARCH_MAX_QUERY_CHARS:
        error = f"Your query is {len(query):,} characters long; the limit is {settings.SEARCH_MAX_QUERY_CHARS:,}."
        query = ""
    results = semantic_search(query=query, page=_page_number(request)) if query else None
    status = 400 if error else 200
    return render(request, "search/search.html", {"query": query, "results": results, "error": error}, status=status)


def paper_detail(request: HttpRequest, paper_id: int) -> HttpResponse:
    paper = paper_get(paper_id=paper_id)
    if paper is None:
        raise Http404("No such paper")
    return render(request, "search/paper.html", {"paper": paper, "related": related_papers(paper=paper)})
