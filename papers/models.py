"""The collection: papers and their metadata. The database is the source of truth."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from papers import latex
from papers.importers.common import safe_url


def embedding_text(title: str, abstract: str) -> str:
    """The exact text that gets embedded for a paper: "title. abstract"."""
    title = title.strip().rstrip(".")
    return f"{title}. {abstract.strip()}" if abstract.strip() else title


def content_hash(title: str, abstract: str) -> str:
    """Hash of what gets embedded; a changed hash means the stored vector is stale."""
    return hashlib.sha256(embedding_text(title, abstract).encode("utf-8")).hexdigest()


def rendered(text: str) -> str:
    """What ``rendered_title``/``rendered_abstract`` store for ``text``: "" when it reads as stored."""
    readable = latex.to_text(text)
    return "" if readable == text else readable


def shown(text: str, stored: str | None) -> str:
    """A title or abstract as a reader sees it, from its stored rendering (None: not yet rendered)."""
    if stored is None:
        return latex.to_text(text)
    return stored or text


class PaperQuerySet(models.QuerySet["Paper"]):
    def visible(self) -> PaperQuerySet:
        return self.filter(hidden=False, merged_into__isnull=True)


class Paper(models.Model):
    title = models.TextField()
    abstract = models.TextField()
    # Ordered lists kept as JSON; the *_key fields below make them filterable on any database.
    authors = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    published = models.DateField(null=True, blank=True, db_index=True)
    arxiv_id = models.CharField("arXiv id", max_length=64, null=True, blank=True, unique=True)
    doi = models.CharField("DOI", max_length=255, null=True, blank=True, unique=True)
    links = models.JSONField(default=dict, blank=True)
    journal_ref = models.CharField("journal reference", max_length=500, blank=True, default="")
    license = models.CharField(max_length=300, blank=True, default="", help_text="The licence URL the source gives.")
    revised = models.DateField(null=True, blank=True, help_text="Date of the latest version at the source.")
    # Where each field's value came from (``papers.provenance``): a source (which, when) or a
    # curator (who, when), and for a curated field what its source says now, if different.
    provenance = models.JSONField(default=dict, blank=True, editable=False)
    # The normalised title the source gave, kept when a curator changes the title, so that the
    # source's records of this paper still find it (papers.upsert matches titles on both).
    source_title_key = models.CharField(max_length=512, blank=True, default="", editable=False, db_index=True)
    hidden = models.BooleanField(default=False, db_index=True)
    featured = models.BooleanField(default=False, db_index=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    content_hash = models.CharField(max_length=64, editable=False, db_index=True)
    normalized_title = models.CharField(max_length=512, editable=False, db_index=True)
    # Title and abstract as a reader sees them (papers.latex: LaTeX rendered as Unicode), rendered
    # once when the text is written rather than on every page and search: "" when the text has no
    # markup, so it reads as stored; NULL on rows written before this column, rendered when shown.
    rendered_title = models.TextField(null=True, blank=True, editable=False)
    rendered_abstract = models.TextField(null=True, blank=True, editable=False)
    # " cs.LG cs.CL " and " ada lovelace; alan turing ": exact-token filters via icontains.
    category_key = models.TextField(editable=False, blank=True, default="")
    author_key = models.TextField(editable=False, blank=True, default="")
    # Given once, on first use, by papers.bibtex (unique across the collection, never changed after).
    citation_key = models.CharField(max_length=100, unique=True, null=True, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    objects = PaperQuerySet.as_manager()
    _stored_texts: tuple[str | None, str | None] | None = None  # set by from_db

    class Meta:
        ordering = ["-published", "-id"]
        indexes = [
            models.Index(fields=["hidden", "-published", "-id"], name="paper_recent"),
            models.Index(fields=["updated"], name="paper_updated"),  # an index build's watermark reads its latest
        ]

    def __str__(self) -> str:
        return self.title[:120]

    def get_absolute_url(self) -> str:
        return reverse("paper_detail", args=[self.pk])

    @property
    def embedding_text(self) -> str:
        return embedding_text(self.title, self.abstract)

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Paper:
        paper = super().from_db(db, field_names, values)
        # The texts as stored, so that a write renders them again only when they changed.
        paper._stored_texts = (paper.__dict__.get("title"), paper.__dict__.get("abstract"))
        return paper

    def refresh_derived_fields(self) -> None:
        """Recompute hash, rendered text and filter keys; called by every write path (services, admin)."""
        from papers.normalize import normalize_title

        self.content_hash = content_hash(self.title, self.abstract)
        stored = getattr(self, "_stored_texts", None)
        if stored != (self.title, self.abstract) or self.rendered_title is None or self.rendered_abstract is None:
            self.rendered_title = rendered(self.title)
            self.rendered_abstract = rendered(self.abstract)
            self._stored_texts = (self.title, self.abstract)
        self.normalized_title = normalize_title(self.title)[:512]
        self.category_key = " " + " ".join(c.strip() for c in self.categories if c.strip()) + " "
        self.author_key = "; " + "; ".join(a.strip().casefold() for a in self.authors if a.strip()) + ";"
        self.arxiv_id = self.arxiv_id or None
        self.doi = self.doi or None

    def save(self, *args: object, **kwargs: object) -> None:
        self.refresh_derived_fields()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def readable_title(self) -> str:
        """The title as shown: LaTeX rendered (stored when written; rendered here for older rows)."""
        return shown(self.title, self.rendered_title)

    @property
    def readable_abstract(self) -> str:
        """The abstract as shown, like ``readable_title``."""
        return shown(self.abstract, self.rendered_abstract)

    @property
    def year(self) -> int | None:
        return self.published.year if self.published else None

    # Every page, the API and BibTeX take a paper's links from these properties: the one place
    # where a stored link that is not http(s) (javascript:, data:, vbscript:, a relative path),
    # in a row imported before imports checked them or typed in by a curator, is dropped.
    @property
    def abs_url(self) -> str:
        return safe_url(str(self.links.get("abs") or "")) or (f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else "")

    @property
    def pdf_url(self) -> str:
        return safe_url(str(self.links.get("pdf") or "")) or (f"https://arxiv.org/pdf/{self.arxiv_id}" if self.arxiv_id else "")

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else ""


# --- Curation (admin) -------------------------------------------------------------------


class DuplicateCandidate(models.Model):
    """A pair of papers that may be the same work, waiting for a curator's decision.

    The pair is stored once with ``paper_a.pk < paper_b.pk``; a dismissed pair stays as a
    record so that no later scan proposes it again.
    """

    class Reason(models.TextChoices):
        ARXIV_ID = "arxiv_id", "same arXiv id"
        DOI = "doi", "same DOI"
        TITLE = "title", "near-identical title"
        EMBEDDING = "embedding", "near-identical embedding"

    class Status(models.TextChoices):
        OPEN = "open", "open"
        DISMISSED = "dismissed", "dismissed"
        MERGED = "merged", "merged"

    paper_a = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    paper_b = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True)
    score = models.FloatField(default=1.0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    decided = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "duplicate candidate"
        ordering = ["status", "-score", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["paper_a", "paper_b"], name="one_candidate_per_pair"),
            models.CheckConstraint(condition=models.Q(paper_a__lt=models.F("paper_b")), name="candidate_pair_ordered"),
        ]

    def __str__(self) -> str:
        return f"#{self.paper_a_id} / #{self.paper_b_id} ({self.get_reason_display()})"


class RelatedLink(models.Model):
    """A curator's correction of a paper's related list: pin a paper first, or suppress one."""

    class Kind(models.TextChoices):
        PIN = "pin", "pin (shown first)"
        SUPPRESS = "suppress", "suppress (never shown)"

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="related_links")
    related = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PIN)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order of pinned papers (lowest first).")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "curated related link"
        ordering = ["kind", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["paper", "related"],
                name="one_link_per_related_paper",
                violation_error_message="This paper already has a curated link to that paper.",
            ),
            models.CheckConstraint(
                condition=~models.Q(paper=models.F("related")),
                name="link_not_to_itself",
                violation_error_message="A paper cannot be related to itself.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.related_id}: {self.related.title[:80]}"


class ImportJob(models.Model):
    """An import uploaded through the admin and run in the background.

    The upload is kept in the database (not on a local disk) so a Celery worker on another
    machine can read it; it is dropped once the job has finished.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    name = models.CharField(max_length=255)
    format = models.CharField(max_length=20, default="auto")
    size = models.PositiveBigIntegerField(default=0)
    data = models.BinaryField(editable=False, default=b"")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    bytes_read = models.PositiveBigIntegerField(default=0)
    created_count = models.PositiveIntegerField("created", default=0)
    updated_count = models.PositiveIntegerField("updated", default=0)
    unchanged_count = models.PositiveIntegerField("unchanged", default=0)
    merged_count = models.PositiveIntegerField("merged", default=0)
    queued_count = models.PositiveIntegerField("queued as possible duplicates", default=0)
    error_count = models.PositiveIntegerField("rejected", default=0)
    warning_count = models.PositiveIntegerField("warnings", default=0)
    # [{"source": "file:line", "reason": "..."}], the first IMPORT_JOB_MAX_ERRORS of error_count.
    errors = models.JSONField(default=list, blank=True)
    # The same for fields that could not be read or were cut (the rest of the record imported).
    warnings = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "import"
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def finished_running(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(100 * self.bytes_read / self.size)) if self.size else 0

    @property
    def imported_count(self) -> int:
        return self.created_count + self.updated_count + self.unchanged_count + self.merged_count  # created includes queued
