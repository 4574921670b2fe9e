"""Curation in the Django admin: papers, the duplicate queue, curated related links, imports.

Thin like the views: each action or page checks a model permission, calls one service and
writes what it did to the admin history (LogEntry). Embedding state is read through the
``embeddings`` / ``embedding_failures`` relations the search app declares on Paper, so this
module needs no import of search.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme

from papers import provenance as prov
from papers import services
from papers.importers import FORMATS
from papers.models import DuplicateCandidate, ImportJob, Paper, RelatedLink
from papers.normalize import normalize_arxiv_id, normalize_doi

CATEGORY_CHOICES_CACHE = "papers.admin.categories"


# --- helpers ------------------------------------------------------------------------------


def _log(request: HttpRequest, objects: Sequence[models.Model], message: str, flag: int = CHANGE) -> None:
    """One admin-history entry per object (bulk insert; actions may touch many papers)."""
    if objects:
        LogEntry.objects.log_actions(user_id=request.user.pk, queryset=list(objects), action_flag=flag, change_message=message)


def _related_model(name: str) -> type[models.Model]:
    return Paper._meta.get_field(name).related_model  # type: ignore[return-value]


def with_embedding_state(queryset: QuerySet[Paper]) -> QuerySet[Paper]:
    """Annotate each paper with whether it has a vector, an up-to-date one, and a failure."""
    embedding, failure = _related_model("embeddings"), _related_model("embedding_failures")
    model = settings.EMBEDDING_MODEL_NAME
    vectors = embedding.objects.filter(paper=OuterRef("pk"), model=model)  # type: ignore[attr-defined]
    return queryset.annotate(
        has_vector=Exists(vectors),
        vector_current=Exists(vectors.filter(content_hash=OuterRef("content_hash"))),
        has_failure=Exists(failure.objects.filter(paper=OuterRef("pk"), model=model)),  # type: ignore[attr-defined]
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


# --- list filters ---------------------------------------------------------------------------


class EmbeddingStateFilter(admin.SimpleListFilter):
    title = "embedding"
    parameter_name = "embedding"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("current", "up to date"),
            ("stale", "stale (text changed)"),
            ("missing", "missing"),
            ("failed", "failed"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        value = self.value()
        if not value:
            return queryset
        queryset = with_embedding_state(queryset)
        return {
            "current": queryset.filter(vector_current=True),
            "stale": queryset.filter(has_vector=True, vector_current=False, has_failure=False),
            "missing": queryset.filter(has_vector=False, has_failure=False),
            "failed": queryset.filter(has_failure=True, vector_current=False),
        }.get(value, queryset)


class CategoryFilter(admin.SimpleListFilter):
    title = "category"
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        choices = cache.get(CATEGORY_CHOICES_CACHE)
        if choices is None:
            counts: dict[str, int] = {}
            for categories in Paper.objects.values_list("categories", flat=True).iterator(chunk_size=5000):
                for category in categories or []:
                    counts[category] = counts.get(category, 0) + 1
            top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:40]
            choices = [(name, f"{name} ({count:,})") for name, count in sorted(top)]
            # Counting reads every paper; a few minutes' staleness is fine for a filter list.
            cache.set(CATEGORY_CHOICES_CACHE, choices, 300)
        selected = (self.value() or "").strip()
        if selected and selected not in {name for name, _ in choices}:
            choices = [*choices, (selected, selected)]  # a rarer category, typed into the URL
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        value = (self.value() or "").strip()
        return queryset.filter(category_key__contains=f" {value} ") if value else queryset


class YearFilter(admin.SimpleListFilter):
    title = "year"
    parameter_name = "year"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(d.year), str(d.year)) for d in Paper.objects.dates("published", "year", order="DESC")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        try:
            year = int(self.value() or 0)
        except ValueError:
            return queryset.none()
        return queryset.filter(published__year=year) if year else queryset


class MergedFilter(admin.SimpleListFilter):
    title = "merged"
    parameter_name = "merged"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("no", "not merged"), ("yes", "merged into another paper")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        if self.value() == "no":
            return queryset.filter(merged_into__isnull=True)
        if self.value() == "yes":
            return queryset.filter(merged_into__isnull=False)
        return queryset


# --- the paper form: lists edited as text -------------------------------------------------


class ListField(forms.CharField):
    """A JSON list of strings edited as text: one item per line, or per word (``words=True``)."""

    def __init__(self, *, words: bool = False, **kwargs: Any) -> None:
        self.words = words
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return (" " if self.words else "\n").join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        text = super().to_python(value) or ""
        parts = re.split(r"[\s,;]+", text) if self.words else text.splitlines()
        return [" ".join(part.split()) for part in parts if part.strip()]


class PaperForm(forms.ModelForm):
    authors = ListField(widget=forms.Textarea(attrs={"rows": 4}), help_text="One author per line.")
    categories = ListField(words=True, help_text="Separated by spaces, e.g. cs.LG stat.ML.")

    class Meta:
        model = Paper
        fields = "__all__"
        widgets = {"title": forms.Textarea(attrs={"rows": 2})}

    def clean_links(self) -> dict[str, str]:
        links = self.cleaned_data.get("links") or {}
        if not isinstance(links, dict) or not all(isinstance(v, str) for v in links.values()):
            raise ValidationError('Links are a JSON object of names and URLs, e.g. {"pdf": "https://…"}.')
        return links

    def clean_arxiv_id(self) -> str | None:
        value = (self.cleaned_data.get("arxiv_id") or "").strip()
        if not value:
            return None
        normalized = normalize_arxiv_id(value)
        if not normalized:
            raise ValidationError("Not an arXiv id (e.g. 2401.01234 or hep-th/9901001).")
        return normalized

    def clean_doi(self) -> str | None:
        value = (self.cleaned_data.get("doi") or "").strip()
        if not value:
            return None
        normalized = normalize_doi(value)
        if not normalized:
            raise ValidationError("Not a DOI (e.g. 10.1234/abcd).")
        return normalized


class RelatedLinkFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            related = form.cleaned_data.get("related") if hasattr(form, "cleaned_data") else None
            if related is not None and self.instance.pk and related.pk == self.instance.pk:
                form.add_error("related", "A paper cannot be related to itself.")


class RelatedLinkInline(admin.TabularInline):
    model = RelatedLink
    fk_name = "paper"
    formset = RelatedLinkFormSet
    fields = ("kind", "related", "position")
    autocomplete_fields = ("related",)
    extra = 1
    verbose_name = "curated related paper"
    verbose_name_plural = "Curated related papers (pinned ones are shown first, in this order; suppressed ones never)"


# --- papers ---------------------------------------------------------------------------------


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    form = PaperForm
    list_display = ("title_short", "arxiv_id", "published", "hidden", "featured", "embedding", "updated")
    list_display_links = ("title_short",)
    list_filter = ("hidden", "featured", EmbeddingStateFilter, CategoryFilter, YearFilter, MergedFilter)
    search_fields = ("title", "=arxiv_id", "=doi", "author_key")
    search_help_text = "Title words, an author, or an exact arXiv id / DOI."
    readonly_fields = ("merged_status", "source_values", "provenance_table", "embedding_detail", "content_hash", "created", "updated")
    fieldsets = (
        (None, {"fields": ("title", "abstract", "authors", "categories", "published", "revised")}),
        ("Identifiers and links", {"fields": ("arxiv_id", "doi", "journal_ref", "license", "links")}),
        ("Provenance", {"fields": ("provenance_table",), "classes": ("collapse",)}),
        ("Curation", {"fields": ("hidden", "featured")}),
        ("Embedding", {"fields": ("embedding_detail", "content_hash", "created", "updated")}),
    )
    inlines = (RelatedLinkInline,)
    list_per_page = 50
    actions = ("hide", "unhide", "feature", "unfeature", "reembed", "merge_two")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Paper]:
        return with_embedding_state(super().get_queryset(request))

    def get_fieldsets(self, request: HttpRequest, obj: Paper | None = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and prov.pending(obj.provenance or {}):
            # Say it first: a source now disagrees with a curator's value.
            fieldsets = [("The source now says something else", {"fields": ("source_values",)}), *fieldsets]
        if obj is not None and obj.merged_into_id:
            # Say it first: edits to a merged-away paper do not show anywhere.
            fieldsets = [("Merged", {"fields": ("merged_status",)}), *fieldsets]
        return fieldsets

    # columns

    @admin.display(description="title", ordering="title")
    def title_short(self, paper: Paper) -> str:
        return paper.title[:110] + ("…" if len(paper.title) > 110 else "")

    @admin.display(description="embedding")
    def embedding(self, paper: Paper) -> str:
        if getattr(paper, "vector_current", False):
            return format_html('<span class="ps-badge ps-ok">{}</span>', "up to date")
        if getattr(paper, "has_failure", False):
            return format_html('<span class="ps-badge ps-bad">{}</span>', "failed")
        if getattr(paper, "has_vector", False):
            return format_html('<span class="ps-badge ps-warn">{}</span>', "stale")
        return format_html('<span class="ps-badge ps-warn">{}</span>', "missing")

    @admin.display(description="merged")
    def merged_status(self, paper: Paper) -> str:
        if not paper.merged_into_id:
            return "—"
        url = reverse("admin:papers_paper_change", args=[paper.merged_into_id])
        return format_html('Merged into <a href="{}">#{}</a>; its page redirects there.', url, paper.merged_into_id)

    @admin.display(description="where each value came from")
    def provenance_table(self, paper: Paper) -> str:
        provenance = paper.provenance or {}
        rows = []
        for name in prov.TRACKED:
            entry = provenance.get(name) or {}
            if entry.get("origin") == "curator":
                note = f" ({entry['note']})" if entry.get("note") else ""
                said = f"curator {entry.get('by', '')}{note}, {entry.get('at', '')}"
            elif entry.get("origin") == "source":
                said = f"{entry.get('source', '')} ({entry.get('record', '')}), {entry.get('at', '')}"
            elif getattr(paper, name) in (None, "", [], {}):
                said = "empty"
            else:
                said = "not recorded (stored before provenance was kept)"
            rows.append((name, said))
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html('<table class="ps-provenance">{}</table>', body)

    @admin.display(description="source now says")
    def source_values(self, paper: Paper) -> str:
        waiting = prov.pending(paper.provenance or {})
        if not waiting or paper.pk is None:
            return "—"
        url = reverse("admin:papers_paper_accept_source", args=[paper.pk])

        def shown(value: Any) -> str:
            return ("\n".join(value) if isinstance(value, list) else str(value or ""))[:2000]

        rows = (
            (name, shown(getattr(paper, name)), says.get("source", ""), says.get("at", ""), shown(says.get("value")), url, name, name)
            for name, says in waiting.items()
        )
        body = format_html_join(
            "",
            '<tr><th>{}</th><td><div class="ps-said">{}</div><small>the curator\'s value, kept</small></td>'
            '<td><small>{} says now ({}):</small><div class="ps-said">{}</div>'
            '<button type="submit" class="button" formaction="{}" formmethod="post" name="accept_field" value="{}">'
            "Accept the source's {}</button></td></tr>",
            rows,
        )
        return format_html('<table class="ps-source-values">{}</table>', body)

    @admin.display(description="embedding state")
    def embedding_detail(self, paper: Paper) -> str:
        if paper.pk is None:
            return "—"
        model = settings.EMBEDDING_MODEL_NAME
        vector = paper.embeddings.filter(model=model).values("content_hash", "dim", "updated").first()  # type: ignore[attr-defined]
        failure = paper.embedding_failures.filter(model=model).values("error", "attempts", "updated").first()  # type: ignore[attr-defined]
        parts = []
        if vector:
            state = "up to date" if vector["content_hash"] == paper.content_hash else "stale: the text changed since"
            when = vector["updated"].strftime("%Y-%m-%d %H:%M")
            parts.append(format_html("{} vector ({} dims) from {}, {}.", model, vector["dim"], when, state))
        else:
            parts.append(format_html("No {} vector yet.", model))
        if failure:
            parts.append(format_html("<br>Failed {} time(s): <code>{}</code>", failure["attempts"], failure["error"][:500]))
        return format_html("{}", format_html_join("", "{}", ((p,) for p in parts)))

    # saving and deleting

    def save_model(self, request: HttpRequest, obj: Paper, form: forms.ModelForm, change: bool) -> None:
        # paper_save compares the content hash: an edited title or abstract is re-embedded;
        # the fields the curator changed become curated (no import writes them again).
        services.paper_save(paper=obj, changed=form.changed_data, by=request.user.get_username(), added=not change)

    def delete_model(self, request: HttpRequest, obj: Paper) -> None:
        services.papers_delete(paper_ids=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        services.papers_delete(paper_ids=list(queryset.values_list("pk", flat=True)))

    # actions

    def _toggle(self, request: HttpRequest, queryset: QuerySet[Paper], field: str, value: bool, verb: str) -> None:
        papers = list(queryset.exclude(**{field: value}).only("pk", "title"))
        ids = [p.pk for p in papers]
        if field == "hidden":
            count = services.papers_set_hidden(paper_ids=ids, hidden=value)
        else:
            count = services.papers_set_featured(paper_ids=ids, featured=value)
        _log(request, papers, f"{verb.capitalize()} (admin action).")
        unchanged = queryset.count() - count
        note = f" ({unchanged} already {verb})" if unchanged else ""
        self.message_user(request, f"{count} paper(s) {verb}{note}.", messages.SUCCESS)

    @admin.action(description="Hide selected papers (out of search at once)", permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._toggle(request, queryset, "hidden", True, "hidden")

    @admin.action(description="Unhide selected papers", permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._toggle(request, queryset, "hidden", False, "unhidden")

    @admin.action(description="Feature selected papers (home page)", permissions=["change"])
    def feature(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._toggle(request, queryset, "featured", True, "featured")

    @admin.action(description="Unfeature selected papers", permissions=["change"])
    def unfeature(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        self._toggle(request, queryset, "featured", False, "unfeatured")

    @admin.action(description="Re-embed selected papers", permissions=["change"])
    def reembed(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        papers = list(queryset.only("pk", "title"))
        count = services.papers_reembed(paper_ids=[p.pk for p in papers])
        _log(request, papers, "Queued for embedding (admin action).")
        self.message_user(
            request,
            f"{count} paper(s) queued for embedding; those whose vector already matches their text are skipped.",
            messages.SUCCESS,
        )

    @admin.action(description="Merge the two selected papers…", permissions=["change", "delete"])
    def merge_two(self, request: HttpRequest, queryset: QuerySet[Paper]) -> HttpResponse | None:
        ids = sorted(queryset.values_list("pk", flat=True))
        if len(ids) != 2:
            self.message_user(request, "Select exactly two papers to merge.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:papers_paper_merge", args=ids))

    # the merge confirmation page

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("merge/<int:a>/<int:b>/", view(self.merge_view), name="papers_paper_merge"),
            path("<int:pk>/accept-source/", view(self.accept_source_view), name="papers_paper_accept_source"),
            *super().get_urls(),
        ]

    def accept_source_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """One click on "Accept the source's value": the field goes back to its source."""
        paper = get_object_or_404(Paper, pk=pk)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:papers_paper_change", args=[pk]))
        if not self.has_change_permission(request, paper):
            raise PermissionDenied
        name = request.POST.get("accept_field", "")
        try:
            services.paper_accept_source(paper=paper, field=name)
        except ValueError as exc:
            self.message_user(request, f"Nothing accepted: {exc}.", messages.ERROR)
        else:
            self.log_change(request, paper, f"Accepted the source's {name} (the field follows its source again).")
            self.message_user(request, f"The source's {name} is now the paper's.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:papers_paper_change", args=[pk]))

    def merge_view(self, request: HttpRequest, a: int, b: int) -> HttpResponse:
        if not (self.has_change_permission(request) and self.has_delete_permission(request)):
            raise PermissionDenied("Merging needs the change and delete paper permissions.")
        first, second = get_object_or_404(Paper, pk=a), get_object_or_404(Paper, pk=b)
        if first.pk == second.pk:
            raise PermissionDenied("A paper cannot be merged with itself.")
        lo, hi = sorted((first.pk, second.pk))
        candidate = DuplicateCandidate.objects.filter(paper_a_id=lo, paper_b_id=hi).first()
        fallback = reverse("admin:papers_duplicatecandidate_changelist") if candidate else reverse("admin:papers_paper_changelist")
        next_url = _safe_next(request, fallback)
        error = ""
        if first.merged_into_id or second.merged_into_id:
            error = "One of these papers was already merged; there is nothing left to merge."
        if request.method == "POST" and not error:
            keep_id = request.POST.get("keep", "")
            if keep_id not in (str(first.pk), str(second.pk)):
                error = "Choose which paper to keep."
            else:
                keep, drop = (first, second) if keep_id == str(first.pk) else (second, first)
                result = services.papers_merge(keep=keep, drop=drop, by=request.user.get_username())
                changed = ", ".join(result.changed_fields) or "nothing"
                self.log_change(request, result.kept, f"Merged #{drop.pk} into this paper (took: {changed}).")
                self.log_change(request, result.dropped, f"Merged into #{keep.pk}; its page redirects there.")
                if candidate:
                    _log(request, [candidate], f"Merged: kept #{keep.pk}.")
                left = f" Conflicting ids left on #{drop.pk}: {', '.join(result.ids_left_on_dropped)}." if result.ids_left_on_dropped else ""
                self.message_user(request, f"Merged #{drop.pk} into #{keep.pk} “{keep.title[:80]}”.{left}", messages.SUCCESS)
                return HttpResponseRedirect(next_url)
        suggested = _suggested_keep(first, second)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Merge duplicate papers",
            "papers": [first, second],
            "rows": _comparison_rows(first, second),
            "suggested": suggested.pk,
            "candidate": candidate,
            "can_dismiss": candidate is not None
            and candidate.status == DuplicateCandidate.Status.OPEN
            and request.user.has_perm("papers.change_duplicatecandidate"),
            "error": error,
            "next": next_url,
        }
        return TemplateResponse(request, "admin/papers/paper/merge_confirmation.html", context, status=400 if error and request.method == "POST" else 200)


def _suggested_keep(first: Paper, second: Paper) -> Paper:
    """The older record: its URL has been shared longest (the merge takes the best of both anyway)."""
    return min((first, second), key=lambda paper: paper.pk)


def _comparison_rows(first: Paper, second: Paper) -> list[tuple[str, str, str]]:
    def show(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(map(str, value)) or "—"
        if isinstance(value, dict):
            return ", ".join(f"{k}: {v}" for k, v in value.items()) or "—"
        return str(value) if value not in (None, "") else "—"

    fields = [("title", "Title"), ("authors", "Authors"), ("categories", "Categories"), ("published", "Published"),
              ("arxiv_id", "arXiv id"), ("doi", "DOI"), ("links", "Links"), ("hidden", "Hidden"), ("featured", "Featured")]
    rows = [(label, show(getattr(first, name)), show(getattr(second, name))) for name, label in fields]
    rows.append(("Abstract", f"{len(first.abstract):,} characters", f"{len(second.abstract):,} characters"))
    return rows


# --- duplicate review queue -------------------------------------------------------------------


class DuplicateStatusFilter(admin.SimpleListFilter):
    """Open pairs by default: the queue is what is left to decide."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("open", "open"), ("dismissed", "dismissed"), ("merged", "merged"), ("all", "all")]

    def choices(self, changelist: Any) -> Any:
        value = self.value() or "open"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[DuplicateCandidate]) -> QuerySet[DuplicateCandidate]:
        value = self.value() or "open"
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(admin.ModelAdmin):
    list_display = ("pair", "reason", "detail", "score_shown", "status", "review")
    list_filter = (DuplicateStatusFilter, "reason")
    list_select_related = ("paper_a", "paper_b")
    search_fields = ("paper_a__title", "paper_b__title")
    actions = ("dismiss",)
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # pairs come from scans, not by hand ("Find duplicates" needs the add permission)

    def get_readonly_fields(self, request: HttpRequest, obj: DuplicateCandidate | None = None) -> Sequence[str]:
        return [f.name for f in self.model._meta.fields]

    @admin.display(description="pair")
    def pair(self, candidate: DuplicateCandidate) -> str:
        return format_html(
            '<a href="{}">#{}</a> {}<br><a href="{}">#{}</a> {}',
            reverse("admin:papers_paper_change", args=[candidate.paper_a_id]), candidate.paper_a_id, candidate.paper_a.title[:100],
            reverse("admin:papers_paper_change", args=[candidate.paper_b_id]), candidate.paper_b_id, candidate.paper_b.title[:100],
        )

    @admin.display(description="score", ordering="score")
    def score_shown(self, candidate: DuplicateCandidate) -> str:
        return f"{candidate.score:.3f}"

    @admin.display(description="")
    def review(self, candidate: DuplicateCandidate) -> str:
        if candidate.status != DuplicateCandidate.Status.OPEN:
            return "—"
        merge = reverse("admin:papers_paper_merge", args=[candidate.paper_a_id, candidate.paper_b_id])
        dismiss = reverse("admin:papers_duplicatecandidate_dismiss", args=[candidate.pk])
        return format_html('<a href="{}"><strong>Compare&nbsp;&amp;&nbsp;merge…</strong></a><br><a href="{}">Dismiss…</a>', merge, dismiss)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("scan/", view(self.scan_view), name="papers_duplicatecandidate_scan"),
            path("<int:pk>/dismiss/", view(self.dismiss_view), name="papers_duplicatecandidate_dismiss"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {
            "title": "Duplicate review queue",
            "can_scan": request.user.has_perm("papers.add_duplicatecandidate"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        candidate = self.get_object(request, object_id)
        if candidate is not None and self.has_view_or_change_permission(request, candidate):
            # The pair's own page is the comparison page.
            return HttpResponseRedirect(reverse("admin:papers_paper_merge", args=[candidate.paper_a_id, candidate.paper_b_id]))
        return super().change_view(request, object_id, form_url, extra_context)

    def scan_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("papers.add_duplicatecandidate"):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:papers_duplicatecandidate_changelist"))
        from papers.tasks import duplicates_scan

        result = duplicates_scan.delay()
        if settings.CELERY_TASK_ALWAYS_EAGER:
            found = result.get()
            self.message_user(request, f"Scan finished: {found['proposed']} new candidate pair(s), {found['known']} already known.", messages.SUCCESS)
        else:
            self.message_user(request, "Scan queued; new pairs appear here when it finishes.", messages.INFO)
        return HttpResponseRedirect(reverse("admin:papers_duplicatecandidate_changelist"))

    def dismiss_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        candidate = get_object_or_404(DuplicateCandidate.objects.select_related("paper_a", "paper_b"), pk=pk)
        if not self.has_change_permission(request, candidate):
            raise PermissionDenied
        next_url = _safe_next(request, reverse("admin:papers_duplicatecandidate_changelist"))
        if request.method == "POST":
            self._dismiss(request, [candidate])
            return HttpResponseRedirect(next_url)
        return self._confirm_dismiss(request, [candidate], next_url=next_url)

    @admin.action(description="Dismiss selected pairs (never proposed again)…", permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[DuplicateCandidate]) -> HttpResponse | None:
        pairs = list(queryset.filter(status=DuplicateCandidate.Status.OPEN).select_related("paper_a", "paper_b"))
        if request.POST.get("confirmed") == "yes":
            self._dismiss(request, pairs)
            return None
        return self._confirm_dismiss(request, pairs, action=True)

    def _dismiss(self, request: HttpRequest, pairs: list[DuplicateCandidate]) -> None:
        count = services.duplicate_dismiss(candidates=pairs, user=request.user)
        _log(request, pairs, "Dismissed: not duplicates (never proposed again).")
        self.message_user(request, f"{count} pair(s) dismissed for good.", messages.SUCCESS)

    def _confirm_dismiss(self, request: HttpRequest, pairs: list[DuplicateCandidate], *, action: bool = False, next_url: str = "") -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Dismiss duplicate pairs",
            "pairs": pairs,
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "next": next_url,
        }
        return TemplateResponse(request, "admin/papers/duplicatecandidate/dismiss_confirmation.html", context)


# --- curated related links (also inline on the paper page) -------------------------------------


@admin.register(RelatedLink)
class RelatedLinkAdmin(admin.ModelAdmin):
    list_display = ("paper", "kind", "related", "position", "created")
    list_filter = ("kind",)
    list_select_related = ("paper", "related")
    autocomplete_fields = ("paper", "related")
    search_fields = ("paper__title", "related__title")


# --- imports from the admin ------------------------------------------------------------------


class ImportUploadForm(forms.Form):
    file = forms.FileField(help_text="JSON lines, CSV, arXiv Atom or Kaggle metadata, BEIR corpus, a Hugging Face listing; gzip is fine.")
    format = forms.ChoiceField(
        choices=[(f, "detect from the content" if f == "auto" else f) for f in FORMATS],
        initial="auto",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_UPLOAD_MAX_MB * 1024 * 1024
        if upload.size > limit:
            raise ValidationError(
                f"The file is {upload.size / 1048576:,.1f} MB; uploads are limited to {settings.IMPORT_UPLOAD_MAX_MB} MB "
                "(IMPORT_UPLOAD_MAX_MB). Use `manage.py import_papers` for larger files."
            )
        if upload.size == 0:
            raise ValidationError("The file is empty.")
        return upload


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "progress", "created_count", "updated_count", "merged_count", "unchanged_count", "error_count", "warning_count", "created_by", "created")
    list_filter = ("status",)
    list_select_related = ("created_by",)
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportJob]:
        return super().get_queryset(request).defer("data")  # the upload itself is never shown

    def has_change_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return False  # a job is a record of what happened

    @admin.display(description="progress")
    def progress(self, job: ImportJob) -> str:
        return f"{job.progress_percent}%"

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            job = services.import_job_create(name=upload.name, data=upload.read(), fmt=form.cleaned_data["format"], user=request.user)
            _log(request, [job], f"Uploaded {upload.name} ({upload.size:,} bytes) for import.", ADDITION)
            return HttpResponseRedirect(reverse("admin:papers_importjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import papers from a file",
            "form": form,
            "max_mb": settings.IMPORT_UPLOAD_MAX_MB,
            "recent": ImportJob.objects.defer("data").order_by("-created")[:5],
        }
        return TemplateResponse(request, "admin/papers/importjob/upload.html", context, status=400 if form.errors else 200)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        job = self.get_object(request, object_id)
        if job is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Import of {job.name}",
            "job": job,
            "original": job,
            "has_delete_permission": self.has_delete_permission(request, job),
        }
        return TemplateResponse(request, "admin/papers/importjob/detail.html", context)
