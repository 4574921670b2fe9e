"""Email digests of new papers: per saved search and per tag, daily or weekly (Celery beat).

One run of a frequency ranks each distinct saved search ONCE (readers who saved the same search
share the ranking) and each tag once, keeps the papers added since that reader's last digest and
never sent to them before (Delivery rows), and sends each reader one email. The Delivery rows and
the run mark are written in the same transaction as the send: a failed send is retried next run
with the same papers, a sent one is never repeated.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from library import selectors
from library.models import Delivery, DigestRun, Frequency, SavedSearch, Tag
from papers.models import Paper

logger = logging.getLogger(__name__)
PERIOD: dict[str, dt.timedelta] = {Frequency.DAILY: dt.timedelta(days=1), Frequency.WEEKLY: dt.timedelta(days=7)}


@dataclass
class Section:
    kind: str  # "search" or "tag"
    object_id: int
    name: str
    papers: list[Paper]
    unsubscribe_url: str = ""


@dataclass
class DigestSummary:
    frequency: str
    readers: int = 0
    emails: int = 0
    papers: int = 0
    rankings: int = 0  # distinct saved searches ranked + tags recommended
    failures: list[str] = field(default_factory=list)


def _search_key(search: SavedSearch) -> tuple[object, ...]:
    return (search.query, search.mode, search.year_from, search.year_to, tuple(search.categories), search.author, search.floor)


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_url(*, user_id: int, kind: str, object_id: int) -> str:
    from library.views import unsubscribe_token

    return _absolute(reverse("library:unsubscribe", args=[unsubscribe_token(user_id=user_id, kind=kind, object_id=object_id)]))


def digest_run(*, frequency: str, now: dt.datetime | None = None) -> DigestSummary:
    """Send every reader their digest of this frequency. Safe to run twice (nothing is sent twice)."""
    if frequency not in PERIOD:
        raise ValueError(f"frequency must be daily or weekly, not {frequency!r}")
    now = now or timezone.now()
    summary = DigestSummary(frequency=frequency)
    searches = list(SavedSearch.objects.filter(digest=frequency).select_related("user"))
    tags = list(Tag.objects.filter(digest=frequency).select_related("user"))
    users = {s.user_id: s.user for s in searches} | {t.user_id: t.user for t in tags}
    if not users:
        return summary
    since = {uid: now - PERIOD[frequency] for uid in users}
    since.update(DigestRun.objects.filter(user_id__in=users, frequency=frequency).values_list("user_id", "last_run"))
    delivered: dict[int, set[int]] = defaultdict(set)
    for uid, pid in Delivery.objects.filter(user_id__in=users).values_list("user_id", "paper_id"):
        delivered[uid].add(pid)

    rankings: dict[tuple[object, ...], list[Paper]] = {}
    sections: dict[int, list[Section]] = defaultdict(list)
    for search in searches:
        key = _search_key(search)
        if key not in rankings:
            try:
                rankings[key] = [paper for paper, _ in selectors.saved_search_hits(search=search)]
            except ValueError as exc:  # a saved search the index cannot answer now (e.g. a mode): skip it, say so
                summary.failures.append(f"search {search.pk}: {exc}")
                rankings[key] = []
            summary.rankings += 1
        sections[search.user_id].append(Section("search", search.pk, search.name, rankings[key]))
    for tag in tags:
        summary.rankings += 1
        result = selectors.recommendations(user=tag.user, tag=tag, k=100)
        sections[tag.user_id].append(Section("tag", tag.pk, tag.name, [item.paper for item in result.items]))

    for uid, user_sections in sections.items():
        user = users[uid]
        chosen: list[Section] = []
        seen = set(delivered[uid])
        for section in user_sections:
            fresh = [p for p in section.papers if p.created > since[uid] and p.pk not in seen][: settings.LIBRARY_DIGEST_MAX_PAPERS]
            seen.update(p.pk for p in fresh)
            if fresh:
                section.papers = fresh
                section.unsubscribe_url = unsubscribe_url(user_id=uid, kind=section.kind, object_id=section.object_id)
                chosen.append(section)
        summary.readers += 1
        try:
            with transaction.atomic():
                if chosen:
                    Delivery.objects.bulk_create(
                        [Delivery(user_id=uid, paper_id=p.pk) for s in chosen for p in s.papers], ignore_conflicts=True
                    )
                DigestRun.objects.update_or_create(user_id=uid, frequency=frequency, defaults={"last_run": now})
                if chosen:
                    _send(user=user, frequency=frequency, sections=chosen)
        except Exception as exc:  # one reader's bad address must not stop everyone else's digest
            logger.warning("digest for reader %s not sent: %s", uid, exc)
            summary.failures.append(f"reader {uid}: {exc}")
            continue
        if chosen:
            summary.emails += 1
            summary.papers += sum(len(s.papers) for s in chosen)
    logger.info("%s digests: %d emails, %d papers, %d rankings for %d readers", frequency, summary.emails, summary.papers, summary.rankings, summary.readers)
    return summary


def _send(*, user: object, frequency: str, sections: list[Section]) -> None:
    context = {"sections": sections, "frequency": frequency, "site_url": settings.SITE_URL.rstrip("/"),
               "library_url": _absolute(reverse("library:home"))}
    text = render_to_string("library/email/digest.txt", context)
    html = render_to_string("library/email/digest.html", context)
    count = sum(len(s.papers) for s in sections)
    message = EmailMultiAlternatives(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{count} new paper{'s' if count != 1 else ''} for you ({frequency})",
        body=text, to=[user.email],  # type: ignore[attr-defined]
        headers={
            # RFC 8058 one-click unsubscribe: mail clients POST to the first section's signed link.
            "List-Unsubscribe": f"<{sections[0].unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    message.send()
