"""Harvesting arXiv over OAI-PMH: page by page, resumable, polite, into the one upsert path.

HTTP is oaipmh-scythe's (a maintained fork of Sickle on httpx): it retries a 503 after the
server's Retry-After (arXiv's flow control) and transport errors with exponential backoff.
Each page is then parsed strictly by ``papers.importers.arxiv_oai`` (scythe's own parser
recovers from broken XML, which could silently drop records). Records go through
``papers.upsert.papers_upsert`` like any import: deduplicated, curation kept, new and changed
papers handed to embedding (Celery with REDIS_URL, in-process without).

After every page the source row records the resumption token and the window, so a harvest
that is killed, loses the network or meets a malformed page resumes at that page; the cursor
(the datestamp the next harvest starts from) moves only when a whole list is complete.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from harvest.models import HarvestSource
from papers.importers.arxiv_oai import MalformedPage, Page, parse_page
from papers.records import PaperRecord, RecordError
from papers.upsert import papers_upsert

logger = logging.getLogger(__name__)
COUNT_NAMES = ("pages", "created", "queued", "updated", "merged", "unchanged", "rejected", "warnings", "deleted", "other_categories")
MAX_KEPT_REJECTS = 200
STATE_FIELDS = (
    "cursor", "window_from", "window_until", "window_max_datestamp", "resumption_token", "lease_holder",
    "lease_renewed", "status", "last_finished", "last_error", "last_counts", "last_rejected", "total_counts",
)


class HarvestBusy(RuntimeError):
    """Another process is harvesting this source."""


class HarvestFailed(RuntimeError):
    """The harvest stopped before the end of the list; it resumes there next time."""


@dataclass
class HarvestResult:
    source: str
    window: tuple[str, str]
    complete: bool = False
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_NAMES, 0))
    error: str = ""

    def __str__(self) -> str:
        c = self.counts
        created = f"{c['created']} created" + (f" ({c['queued']} queued as possible duplicates)" if c["queued"] else "")
        return (
            f"{created}, {c['updated']} updated, {c['merged']} merged, {c['unchanged']} unchanged, "
            f"{c['rejected']} rejected, {c['warnings']} warnings, {c['deleted']} deleted at the source, "
            f"{c['other_categories']} in other categories; {c['pages']} page(s)"
        )


def source_for(*, endpoint: str, set_spec: str) -> HarvestSource:
    """The source row that holds the state of (endpoint, set); made (disabled) on first use."""
    source, _ = HarvestSource.objects.get_or_create(
        endpoint=endpoint,
        set_spec=set_spec,
        defaults={"name": f"{set_spec or 'all'} @ {endpoint}"[:100], "enabled": False},
    )
    return source


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_is_dead(holder: str) -> bool:
    """A lease held by a process of this host that no longer exists (killed) can be taken over."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _claim(source: HarvestSource) -> None:
    """Take the source's lease, or raise HarvestBusy. Leases lapse when not renewed for a while."""
    now = dt.datetime.now(dt.UTC)
    stale = now - dt.timedelta(seconds=settings.HARVEST_LEASE_SECONDS)
    with transaction.atomic():
        current = HarvestSource.objects.select_for_update().get(pk=source.pk)
        held = current.lease_holder and current.lease_renewed and current.lease_renewed > stale
        if held and not _holder_is_dead(current.lease_holder):
            raise HarvestBusy(f"{source.name} is being harvested by {current.lease_holder} (since {current.last_started:%Y-%m-%d %H:%M})")
        HarvestSource.objects.filter(pk=source.pk).update(
            lease_holder=_holder(), lease_renewed=now, status=HarvestSource.Status.RUNNING, last_started=now, last_error=""
        )
    source.refresh_from_db()


def _window(source: HarvestSource, *, from_date: dt.date | None, until: dt.date | None, today: dt.date) -> None:
    """Where this harvest starts: an explicit window, the interrupted one, or the cursor on."""
    if from_date is not None or until is not None:
        start = from_date or source.cursor or source.start_date or today - dt.timedelta(days=7)
        if (start, until) != (source.window_from, source.window_until):
            source.resumption_token, source.window_max_datestamp = "", None
        source.window_from, source.window_until = start, until
    elif not source.resumption_token:
        source.window_from = source.cursor or source.start_date or today - dt.timedelta(days=7)
        source.window_until, source.window_max_datestamp = None, None


def _window_from(source: HarvestSource) -> dt.date:
    """The first day of the window being harvested (``_window`` always sets it)."""
    if source.window_from is None:
        raise RuntimeError(f"harvest source {source.name!r} has no window; _window sets one first")
    return source.window_from


def _query(source: HarvestSource) -> dict[str, str]:
    if source.resumption_token:
        return {"verb": "ListRecords", "resumptionToken": source.resumption_token}
    query = {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": _window_from(source).isoformat()}
    if source.window_until:
        query["until"] = source.window_until.isoformat()
    if source.set_spec:
        query["set"] = source.set_spec
    return query


def _client(endpoint: str) -> Any:
    from oaipmh_scythe import Scythe
    from oaipmh_scythe.config import HTTPConfig, RetryConfig

    return Scythe(
        endpoint,
        http_config=HTTPConfig(timeout=settings.HARVEST_TIMEOUT, user_agent=settings.HARVEST_USER_AGENT),
        retry_config=RetryConfig(
            max_retries=settings.HARVEST_MAX_RETRIES,
            retry_status_codes=(429, 500, 502, 503, 504),
            default_retry_after=settings.HARVEST_DEFAULT_RETRY_AFTER,
            retry_on_transport_error=True,
            initial_backoff=2.0,
        ),
    )


def _fetch(client: Any, query: dict[str, str], name: str) -> Page:
    """One page: HTTP with retries (scythe), then a strict parse. Raises HarvestFailed."""
    import httpx2

    try:
        # scythe's retrying request without its lenient XML handling (pinned version; see module doc).
        response = client._request_with_retry(query)
    except httpx2.HTTPError as exc:
        raise HarvestFailed(f"request failed after {settings.HARVEST_MAX_RETRIES} retries: {exc}") from exc
    if response.status_code >= 400:
        raise HarvestFailed(f"HTTP {response.status_code} after {settings.HARVEST_MAX_RETRIES} retries")
    try:
        return parse_page(response.content, name)
    except MalformedPage as exc:
        raise HarvestFailed(f"malformed page: {exc}") from exc


def _keep(record: PaperRecord, categories: list[str]) -> bool:
    return not categories or any(c in categories for c in record.categories)


def _date(stamp: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(stamp[:10])
    except ValueError:
        return None


def harvest_run(
    *,
    source: HarvestSource,
    from_date: dt.date | None = None,
    until: dt.date | None = None,
    embed: bool = True,
    page_delay: float | None = None,
    progress: Callable[[HarvestResult], None] | None = None,
) -> HarvestResult:
    """Harvest ``source`` from where it stands (or the explicit window) to the end of the list.

    Returns what happened; raises HarvestBusy when another process holds the source. A failed
    harvest is recorded on the source (status, error) and its result says so (``complete`` False).
    """
    _claim(source)
    today = dt.date.today()
    _window(source, from_date=from_date, until=until, today=today)
    result = HarvestResult(
        source=source.name,
        window=(_window_from(source).isoformat(), source.window_until.isoformat() if source.window_until else "now"),
    )
    rejected: list[dict[str, str]] = []
    delay = settings.HARVEST_PAGE_DELAY if page_delay is None else page_delay
    client = _client(source.endpoint)
    try:
        while True:
            query = _query(source)
            page = _fetch(client, query, source.name)
            if page.error:
                code, message = page.error
                if code == "noRecordsMatch":
                    source.resumption_token = ""
                elif code == "badResumptionToken" and source.resumption_token:
                    # An expired token: ask for the same window again (the upsert makes repeats harmless).
                    source.resumption_token = ""
                    continue
                else:
                    raise HarvestFailed(f"OAI-PMH error {code}: {message}")
            _store_page(source, page, result, rejected, embed=embed)
            source.resumption_token = page.token
            stamps = [d for s in page.datestamps if (d := _date(s))]
            if stamps:
                source.window_max_datestamp = max([*stamps, *([source.window_max_datestamp] if source.window_max_datestamp else [])])
            source.lease_renewed = dt.datetime.now(dt.UTC)
            source.save(update_fields=["resumption_token", "window_from", "window_until", "window_max_datestamp", "lease_renewed"])
            if progress:
                progress(result)
            if not page.token:
                break
            if delay:
                time.sleep(delay)
        result.complete = True
        reached = source.window_max_datestamp or source.window_until or _window_from(source)
        source.cursor = max(reached, source.cursor) if source.cursor else reached
        source.window_from = source.window_until = source.window_max_datestamp = None
        source.status = HarvestSource.Status.OK
    except HarvestFailed as exc:
        result.error = str(exc)[:2000]
        source.status = HarvestSource.Status.FAILED
        logger.warning("harvest of %s stopped (it resumes there next time): %s", source.name, result.error)
    finally:
        if source.status == HarvestSource.Status.RUNNING:
            source.status, result.error = HarvestSource.Status.FAILED, result.error or "interrupted"
        source.last_error = result.error
        source.last_finished = dt.datetime.now(dt.UTC)
        source.last_counts = {**result.counts, "window": list(result.window), "complete": result.complete}
        source.last_rejected = rejected[:MAX_KEPT_REJECTS]
        totals = dict(source.total_counts or {})
        for name in COUNT_NAMES:
            totals[name] = totals.get(name, 0) + result.counts[name]
        source.total_counts = totals
        source.lease_holder, source.lease_renewed = "", None
        # Only the state: a curator may have changed the schedule while this harvest ran.
        source.save(update_fields=[*STATE_FIELDS])
        client.close()
    return result


def _store_page(source: HarvestSource, page: Page, result: HarvestResult, rejected: list[dict[str, str]], *, embed: bool) -> None:
    categories = source.category_list
    records: list[PaperRecord] = []
    for item in page.records:
        if isinstance(item, RecordError):
            result.counts["rejected"] += 1
            rejected.append({"source": item.source, "reason": item.reason})
        elif _keep(item, categories):
            records.append(item)
        else:
            result.counts["other_categories"] += 1
    result.counts["deleted"] += len(page.deleted)
    result.counts["pages"] += 1
    summary = papers_upsert(records=records, source=source.label, embed=embed)
    for name in ("created", "queued", "updated", "merged", "unchanged"):
        result.counts[name] += getattr(summary, name)
    result.counts["warnings"] += len(summary.warnings)
    rejected.extend({"source": w.source, "reason": f"warning: {w.reason}"} for w in summary.warnings)


def sources_due(*, now: dt.datetime | None = None) -> list[HarvestSource]:
    """Enabled sources whose turn has come (and that nobody is harvesting)."""
    now = now or dt.datetime.now(dt.UTC)
    stale = now - dt.timedelta(seconds=settings.HARVEST_LEASE_SECONDS)
    free = Q(lease_holder="") | Q(lease_renewed__lt=stale) | Q(lease_renewed__isnull=True)
    return [s for s in HarvestSource.objects.filter(free, enabled=True) if s.due(now)]
