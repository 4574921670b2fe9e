"""Stored vectors (the source of truth for every index) and the history of index builds."""

from __future__ import annotations

import numpy as np
from django.db import models

from papers.models import Paper


class PaperEmbedding(models.Model):
    """A paper's float32 vector for one model, and the content hash it was computed from."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="embeddings")
    model = models.CharField(max_length=200)
    dim = models.PositiveIntegerField()
    vector = models.BinaryField()
    content_hash = models.CharField(max_length=64)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["paper", "model"], name="one_embedding_per_model")]
        # What every index build reads to compare the database with its base build: (paper,
        # content hash) of a model's vectors, from this index alone, never the vectors' pages.
        indexes = [models.Index(fields=["model", "paper", "content_hash"], name="embedding_members")]

    def __str__(self) -> str:
        return f"{self.paper_id} / {self.model}"

    def as_array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.vector), dtype=np.float32)


class EmbeddingFailure(models.Model):
    """The last error of a paper that could not be embedded (cleared when it succeeds)."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="embedding_failures")
    model = models.CharField(max_length=200)
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["paper", "model"], name="one_failure_per_model")]


class IndexBuild(models.Model):
    """One published (or refused) index build; the files live under INDEX_DIR/builds/<build_id>."""

    class Status(models.TextChoices):
        PUBLISHED = "published"
        FAILED = "failed"

    build_id = models.CharField(max_length=64, unique=True)
    model = models.CharField(max_length=200)
    dim = models.PositiveIntegerField(default=0)
    count = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, default="full")  # full | incremental
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PUBLISHED)
    # An incremental build starts from base_build and adds/removes this many papers.
    base_build = models.CharField(max_length=64, blank=True)
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    duration_s = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.build_id
