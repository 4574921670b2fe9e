"""``{% save_control paper %}``: the Save / tags control shown on results, paper pages and related lists.

The reader's saved papers and their tags are read once per request (two small queries at most,
none for an anonymous reader), however many results the page lists.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest

from library.models import SavedPaper
from papers.models import Paper

register = template.Library()

_CACHE = "_library_saved_tags"


def _saved_tags(request: HttpRequest, *, fresh: bool = False) -> dict[int, list[str]]:
    cached = getattr(request, _CACHE, None)
    if cached is not None and not fresh:
        return cached
    saved: dict[int, list[str]] = {}
    if request.user.is_authenticated:
        for paper_id, tag in SavedPaper.objects.filter(user=request.user).values_list("paper_id", "tags__name").order_by("tags__name"):
            saved.setdefault(paper_id, [])
            if tag:
                saved[paper_id].append(tag)
    setattr(request, _CACHE, saved)
    return saved


def control_context(request: HttpRequest, paper: Paper, *, fresh: bool = False) -> dict[str, Any]:
    saved = _saved_tags(request, fresh=fresh)
    next_url = request.headers.get("HX-Current-URL", "") if getattr(request, "htmx", False) else ""
    if next_url:
        from urllib.parse import urlsplit

        parts = urlsplit(next_url)
        next_url = parts.path + (f"?{parts.query}" if parts.query else "")
    return {
        "paper": paper,
        "saved": paper.pk in saved,
        "tags": saved.get(paper.pk, []),
        "next": next_url or request.get_full_path(),
        "user": request.user,
        "request": request,
    }


@register.inclusion_tag("library/_save_control.html", takes_context=True)
def save_control(context: template.Context, paper: Paper) -> dict[str, Any]:
    request = context.get("request")
    if request is None:
        return {"paper": paper, "saved": False, "tags": [], "next": "", "user": None}
    result = control_context(request, paper)
    result["csrf_token"] = context.get("csrf_token")
    return result
