"""The collection: papers and their metadata. The database is the source of truth."""

from __future__ import annotations

import hashlib

from django.db import models
from django.urls import reverse


def embedding_text(title: str, abstract: str) -> str:
    """The exact text that gets embedded for a paper: "title. abstract"."""
    title = title.strip().rstrip(".")
    return f"{title}. {abstract.strip()}" if abstract.strip() else title


def content_hash(title: str, abstract: str) -> str:
    """Hash of what gets embedded; a changed hash means the stored vector is stale."""
    return hashlib.sha256(embedding_text(title, abstract).encode("utf-8")).hexdigest()


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
    hidden = models.BooleanField(default=False, db_index=True)
    featured = models.BooleanField(default=False, db_index=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    content_hash = models.CharField(max_length=64, editable=False, db_index=True)
    normalized_title = models.CharField(max_length=512, editable=False, db_index=True)
    # " cs.LG cs.CL " and " ada lovelace; alan turing ": exact-token filters via icontains.
    category_key = models.TextField(editable=False, blank=True, default="")
    author_key = models.TextField(editable=False, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)

    objects = PaperQuerySet.as_manager()

    class Meta:
        ordering = ["-published", "-id"]
        indexes = [models.Index(fields=["hidden", "-published", "-id"], name="paper_recent")]

    def __str__(self) -> str:
        return self.title[:120]

    def get_absolute_url(self) -> str:
        return reverse("paper_detail", args=[self.pk])

    @property
    def embedding_text(self) -> str:
        return embedding_text(self.title, self.abstract)

    def refresh_derived_fields(self) -> None:
        """Recompute hash and filter keys; called by every write path (services, admin)."""
        from papers.normalize import normalize_title

        self.content_hash = content_hash(self.title, self.abstract)
        self.normalized_title = normalize_title(self.title)[:512]
        self.category_key = " " + " ".join(c.strip() for c in self.categories if c.strip()) + " "
        self.author_key = "; " + "; ".join(a.strip().casefold() for a in self.authors if a.strip()) + ";"
        self.arxiv_id = self.arxiv_id or None
        self.doi = self.doi or None

    def save(self, *args: object, **kwargs: object) -> None:
        self.refresh_derived_fields()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def year(self) -> int | None:
        return self.published.year if self.published else None

    @property
    def abs_url(self) -> str:
        return self.links.get("abs", "") or (f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else "")

    @property
    def pdf_url(self) -> str:
        return self.links.get("pdf", "") or (f"https://arxiv.org/pdf/{self.arxiv_id}" if self.arxiv_id else "")

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else ""
