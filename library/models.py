"""A reader's library: saved papers with tags and notes, saved searches, digests, feed and API tokens.

Every row belongs to one reader (``user``) and every read goes through library.selectors, which
always filters by that reader: nothing here is ever looked up by id alone.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from papers.models import Paper

TAG_MAX = 64
NOTE_MAX = 10_000
NAME_MAX = 200
QUERY_MAX = 2_000


def new_token() -> str:
    """A URL-safe secret (256 bits) for private feeds."""
    return secrets.token_urlsafe(32)


class Frequency(models.TextChoices):
    NEVER = "never", "no email"
    DAILY = "daily", "daily"
    WEEKLY = "weekly", "weekly"


class Tag(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library_tags")
    name = models.CharField(max_length=TAG_MAX)
    digest = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.NEVER)
    feed_token = models.CharField(max_length=64, unique=True, default=new_token)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = [Lower("name")]
        constraints = [models.UniqueConstraint("user", Lower("name"), name="one_tag_name_per_reader")]

    def __str__(self) -> str:
        return self.name


class SavedPaper(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_papers")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    tags = models.ManyToManyField(Tag, blank=True, related_name="saved")
    note = models.TextField(blank=True, max_length=NOTE_MAX)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "paper"], name="save_a_paper_once")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.paper_id}"


class SavedSearch(models.Model):
    """A search to run again: the query and the filters and mode it was made with."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches")
    name = models.CharField(max_length=NAME_MAX)
    query = models.CharField(max_length=QUERY_MAX)
    mode = models.CharField(max_length=10, default="hybrid")
    year_from = models.PositiveSmallIntegerField(null=True, blank=True)
    year_to = models.PositiveSmallIntegerField(null=True, blank=True)
    categories = models.JSONField(default=list, blank=True)
    author = models.CharField(max_length=NAME_MAX, blank=True)
    # Only papers at least this similar in meaning to the query (cosine, -1..1) go into digests and feeds.
    floor = models.FloatField(default=0.2)
    digest = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.NEVER)
    feed_token = models.CharField(max_length=64, unique=True, default=new_token)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """A paper sent to a reader by email: never sent to the same reader twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    sent = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "paper"], name="deliver_a_paper_once")]


class DigestRun(models.Model):
    """When a reader's digest of a frequency last ran: the next one covers papers added since."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    last_run = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "frequency"], name="one_run_mark_per_frequency")]


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once, when made."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library_api_tokens")
    name = models.CharField(max_length=NAME_MAX)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False)  # shown in lists so a reader can tell tokens apart
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()
