"""Harvest sources: what to fetch from arXiv's OAI-PMH interface, how often, and how far it got."""

from __future__ import annotations

import datetime as dt

from django.db import models

ARXIV_OAI_ENDPOINT = "https://oaipmh.arxiv.org/oai"


class HarvestSource(models.Model):
    """One OAI-PMH set of one endpoint, harvested incrementally from a stored datestamp.

    ``cursor`` is the datestamp reached by the last *complete* harvest: the next one asks for
    records from that day on (inclusive, so nothing between two runs is missed; the records of
    the boundary day come again and count as unchanged). While a harvest runs, ``window_from``,
    ``window_until`` and ``resumption_token`` say where it is, so a killed or failed harvest
    resumes at the page it had not finished instead of starting over or skipping ahead.
    """

    class Status(models.TextChoices):
        NEVER = "never", "never run"
        RUNNING = "running", "running"
        OK = "ok", "ok"
        FAILED = "failed", "failed (resumes where it stopped)"

    name = models.CharField(max_length=100, unique=True)
    endpoint = models.URLField(max_length=300, default=ARXIV_OAI_ENDPOINT)
    set_spec = models.CharField(
        "set",
        max_length=64,
        blank=True,
        help_text="An arXiv set: cs, math, stat, eess, q-bio, physics:astro-ph, … Empty: all of arXiv.",
    )
    categories = models.CharField(
        max_length=300,
        blank=True,
        help_text="Keep only papers listed in one of these categories, e.g. “cs.CL cs.IR”. Empty: the whole set.",
    )
    every_hours = models.PositiveIntegerField("harvest every (hours)", default=24)
    enabled = models.BooleanField(default=False, help_text="Harvested on its schedule (Celery beat) when on.")
    start_date = models.DateField(null=True, blank=True, help_text="The first harvest starts here (default: a week ago).")
    cursor = models.DateField("harvested up to", null=True, blank=True, editable=False)
    window_from = models.DateField(null=True, blank=True, editable=False)
    window_until = models.DateField(null=True, blank=True, editable=False)
    resumption_token = models.TextField(blank=True, editable=False)
    window_max_datestamp = models.DateField(null=True, blank=True, editable=False)
    # Who is harvesting now ("host:pid") and since when (renewed after every page).
    lease_holder = models.CharField(max_length=200, blank=True, editable=False)
    lease_renewed = models.DateTimeField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEVER, editable=False)
    last_started = models.DateTimeField(null=True, blank=True, editable=False)
    last_finished = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_counts = models.JSONField(default=dict, blank=True, editable=False)
    last_rejected = models.JSONField(default=list, blank=True, editable=False)  # [{"source", "reason"}]
    total_counts = models.JSONField(default=dict, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "set_spec"], name="one_source_per_endpoint_set")]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How papers' provenance names this source."""
        return f"harvest: {self.name}"

    @property
    def category_list(self) -> list[str]:
        return self.categories.split()

    def due(self, now: dt.datetime) -> bool:
        """Enabled, and its last harvest finished ``every_hours`` ago (a failed one: an hour ago)."""
        if not self.enabled:
            return False
        if self.last_finished is None:
            return True
        wait = dt.timedelta(hours=1 if self.status == self.Status.FAILED else self.every_hours)
        return now - self.last_finished >= min(wait, dt.timedelta(hours=self.every_hours))
