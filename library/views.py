"""Library pages: thin views over library.services (writes) and library.selectors (reads).

Every view except the feeds and the unsubscribe link needs a signed-in reader, and every row
is looked up within that reader's library, so another reader's id answers 404 like a missing one.
The Save control answers htmx with its own fragment and plain form posts with a redirect back.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from library import selectors, services
from library.forms import (
    EditForm,
    ImportForm,
    SavedSearchForm,
    SaveForm,
    TagForm,
    TokenForm,
)
from library.models import ApiToken, SavedSearch, Tag
from papers.models import Paper

UNSUBSCRIBE_SALT = "library.unsubscribe"
SHOWN = 500  # papers listed on a library page, most recently saved first (search or export for the rest)


def _library_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """LibraryError -> 400 with its message; LibraryNotFound -> 404 (never a 500)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except services.LibraryNotFound as exc:
            raise Http404(str(exc)) from exc
        except services.LibraryError as exc:
            if _is_htmx(request):
                return HttpResponseBadRequest(f'<p class="notice error" role="alert">{_escape(str(exc))}</p>')
            return render(request, "library/error.html", {"message": str(exc)}, status=400)

    return wrapped


def _escape(text: str) -> str:
    from django.utils.html import escape

    return escape(text)


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def _is_htmx(request: HttpRequest) -> bool:
    """True for a request htmx sent (django-htmx's middleware sets ``request.htmx``)."""
    return bool(getattr(request, "htmx", False))


def _user(request: HttpRequest) -> User:
    """The signed-in reader (every library view is behind login_required)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


# --- the Save control ------------------------------------------------------------------------


def _control(request: HttpRequest, paper_id: int, status: int = 200) -> HttpResponse:
    paper = get_object_or_404(Paper.objects.visible(), pk=paper_id)
    from library.templatetags.library import control_context

    return render(request, "library/_save_control.html", control_context(request, paper, fresh=True), status=status)


@login_required
@require_POST
@_library_errors
def save(request: HttpRequest, paper_id: int) -> HttpResponse:
    form = SaveForm(request.POST)
    if not form.is_valid():
        raise services.LibraryError("Tags are at most 2,000 characters.")
    tags = services.tags_parse(form.cleaned_data["tags"])
    _saved, created = services.saved_paper_add(user=_user(request), paper_id=paper_id, tags=tags)
    if _is_htmx(request):
        return _control(request, paper_id)
    messages.success(request, "Saved to your library." if created else ("Tags added." if tags else "Already in your library."))
    return HttpResponseRedirect(_back(request, reverse("paper_detail", args=[paper_id])))


@login_required
@require_POST
@_library_errors
def remove(request: HttpRequest, paper_id: int) -> HttpResponse:
    services.saved_paper_remove(user=_user(request), paper_id=paper_id)
    if _is_htmx(request):
        return _control(request, paper_id)
    messages.success(request, "Removed from your library.")
    return HttpResponseRedirect(_back(request, reverse("library:home")))


@login_required
@require_http_methods(["GET", "POST"])
@_library_errors
def edit(request: HttpRequest, paper_id: int) -> HttpResponse:
    saved = selectors.library_papers(user=_user(request)).filter(paper_id=paper_id).first()
    if saved is None:
        raise Http404("This paper is not in your library.")
    if request.method == "POST":
        form = EditForm(request.POST)
        if not form.is_valid():
            return render(request, "library/edit.html", {"form": form, "saved": saved}, status=400)
        services.saved_paper_update(
            user=_user(request), paper_id=paper_id, tags=services.tags_parse(form.cleaned_data["tags"]), note=form.cleaned_data["note"]
        )
        messages.success(request, "Saved your tags and note.")
        return HttpResponseRedirect(_back(request, reverse("library:home")))
    form = EditForm(initial={"tags": ", ".join(t.name for t in saved.tags.all()), "note": saved.note})
    return render(request, "library/edit.html", {"form": form, "saved": saved, "next": _back(request, "")})


# --- library pages ------------------------------------------------------------------------------


def _tag(request: HttpRequest, tag_id: int | None) -> Tag | None:
    if tag_id is None:
        return None
    return get_object_or_404(Tag, user=_user(request), pk=tag_id)


@login_required
@require_GET
def home(request: HttpRequest, tag_id: int | None = None) -> HttpResponse:
    tag = _tag(request, tag_id)
    query = request.GET.get("q", "")[: selectors.MAX_LIBRARY_QUERY]
    papers = selectors.library_papers(user=_user(request), tag=tag, query=query)
    saved = list(papers[:SHOWN])
    total = len(saved) if len(saved) < SHOWN else papers.count()
    return render(request, "library/home.html", {
        "tag": tag, "saved": saved, "q": query, "total": total, "shown": SHOWN, "tags": selectors.tags_with_counts(user=_user(request)),
        "tag_form": TagForm(initial={"name": tag.name, "digest": tag.digest}) if tag else None,
        "site_url": request.build_absolute_uri("/")[:-1],
    })


@login_required
@require_POST
@_library_errors
def tag_update(request: HttpRequest, tag_id: int) -> HttpResponse:
    form = TagForm(request.POST)
    if not form.is_valid():
        raise services.LibraryError("A tag needs a name (64 characters at most) and a digest choice.")
    services.tag_update(user=_user(request), tag_id=tag_id, name=form.cleaned_data["name"], digest=form.cleaned_data["digest"])
    messages.success(request, "Tag updated.")
    return redirect("library:tag", tag_id=tag_id)


@login_required
@require_POST
@_library_errors
def tag_delete(request: HttpRequest, tag_id: int) -> HttpResponse:
    services.tag_delete(user=_user(request), tag_id=tag_id)
    messages.success(request, "Tag deleted (its papers stay in your library).")
    return redirect("library:home")


@login_required
@require_POST
@_library_errors
def feed_revoke(request: HttpRequest, kind: str, object_id: int) -> HttpResponse:
    services.feed_token_revoke(user=_user(request), kind=kind, object_id=object_id)
    messages.success(request, "The old feed address no longer works; here is the new one.")
    return redirect("library:tag", tag_id=object_id) if kind == "tag" else redirect("library:searches")


@login_required
@require_GET
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    tag_id = request.GET.get("tag")
    tag = _tag(request, int(tag_id)) if tag_id and tag_id.isdigit() else None
    if tag_id and tag is None:
        raise Http404("No such tag.")
    saved = selectors.library_papers(user=_user(request), tag=tag)
    name = f"paperscope-{tag.name if tag else 'library'}"
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:80]
    if fmt == "bib":
        response = HttpResponse(selectors.export_bibtex(saved), content_type="application/x-bibtex; charset=utf-8")
    else:
        response = HttpResponse(selectors.export_csv(saved), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{safe}.{fmt}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
@_library_errors
def import_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "library/import.html", {"form": ImportForm()})
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "library/import.html", {"form": form}, status=400)
    upload = form.cleaned_data.get("bib")
    from django.conf import settings

    if upload is not None and upload.size > settings.LIBRARY_IMPORT_MAX_KB * 1024:
        raise services.LibraryError(f"A .bib file is at most {settings.LIBRARY_IMPORT_MAX_KB:,} KB.")
    report = services.library_import(
        user=_user(request), text=form.cleaned_data["identifiers"], bib=upload.read() if upload else b"",
        tags=services.tags_parse(form.cleaned_data["tags"]),
    )
    return render(request, "library/import.html", {"form": ImportForm(), "report": report})


@login_required
@require_GET
def recommendations_view(request: HttpRequest) -> HttpResponse:
    tag_id = request.GET.get("tag", "")
    tag = _tag(request, int(tag_id)) if tag_id.isdigit() else None
    recent = request.GET.get("recent") == "1"
    result = selectors.recommendations(user=_user(request), tag=tag, k=20, recent=recent)
    return render(request, "library/recommendations.html", {
        "result": result, "tag": tag, "recent": recent, "tags": selectors.tags_with_counts(user=_user(request)),
    })


# --- saved searches ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@_library_errors
def searches(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SavedSearchForm(request.POST)
        if not form.is_valid():
            return render(request, "library/searches.html", {"form": form, "searches": selectors.saved_searches(user=_user(request))}, status=400)
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        services.saved_search_create(user=_user(request), **data)
        messages.success(request, "Search saved.")
        return redirect("library:searches")
    initial = {k: request.GET[k] for k in ("query", "mode", "year_from", "year_to", "author") if request.GET.get(k)}
    if request.GET.get("q"):
        initial["query"] = request.GET["q"][:2000]
    if request.GET.getlist("category"):
        initial["categories"] = ", ".join(request.GET.getlist("category"))[:400]
    return render(request, "library/searches.html", {
        "form": SavedSearchForm(initial=initial), "searches": selectors.saved_searches(user=_user(request)),
        "site_url": request.build_absolute_uri("/")[:-1],
    })


@login_required
@require_POST
@_library_errors
def search_update(request: HttpRequest, search_id: int) -> HttpResponse:
    form = SavedSearchForm(request.POST)
    if not form.is_valid():
        raise services.LibraryError("Check the saved search's fields: " + "; ".join(f"{k}: {v[0]}" for k, v in form.errors.items()))
    data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    services.saved_search_update(user=_user(request), search_id=search_id, **data)
    messages.success(request, "Saved search updated.")
    return redirect("library:searches")


@login_required
@require_POST
@_library_errors
def search_delete(request: HttpRequest, search_id: int) -> HttpResponse:
    services.saved_search_delete(user=_user(request), search_id=search_id)
    messages.success(request, "Saved search deleted.")
    return redirect("library:searches")


# --- unsubscribe (signed, no sign-in needed) ------------------------------------------------------


def unsubscribe_token(*, user_id: int, kind: str, object_id: int) -> str:
    return signing.dumps({"u": user_id, "k": kind, "o": object_id}, salt=UNSUBSCRIBE_SALT, compress=True)


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One click: the signed link turns that digest off (GET from the email, POST per RFC 8058)."""
    try:
        data = signing.loads(token[:500], salt=UNSUBSCRIBE_SALT)
        user_id, kind, object_id = int(data["u"]), str(data["k"]), int(data["o"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return render(request, "library/error.html", {"message": "This unsubscribe link is not valid."}, status=400)
    if kind not in ("search", "tag"):
        return render(request, "library/error.html", {"message": "This unsubscribe link is not valid."}, status=400)
    services.digest_unsubscribe(user_id=user_id, kind=kind, object_id=object_id)
    model = SavedSearch if kind == "search" else Tag
    row = model.objects.filter(user_id=user_id, pk=object_id).first()
    return render(request, "library/unsubscribed.html", {"name": str(row) if row else "", "kind": kind})


# --- API tokens ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@_library_errors
def tokens(request: HttpRequest) -> HttpResponse:
    new = ""
    if request.method == "POST":
        if "delete" in request.POST:
            services.api_token_delete(user=_user(request), token_id=int(request.POST["delete"]) if request.POST["delete"].isdigit() else 0)
            messages.success(request, "Token deleted.")
        else:
            form = TokenForm(request.POST)
            if not form.is_valid():
                raise services.LibraryError("A token needs a name (200 characters at most).")
            new, _ = services.api_token_create(user=_user(request), name=form.cleaned_data["name"])
    return render(request, "library/tokens.html", {"tokens": ApiToken.objects.filter(user=_user(request)), "new": new, "form": TokenForm()})
