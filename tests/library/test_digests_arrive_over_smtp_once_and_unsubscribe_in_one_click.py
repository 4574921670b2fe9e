"""The daily digest goes through Django's SMTP backend to a real SMTP server (aiosmtpd) started here:
papers above the saved search's floor and a tag's recommendations, each paper once per reader,
with a signed one-click unsubscribe link that works (and a forged one that does not)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from library.digests import digest_run
from library.models import Delivery, DigestRun, SavedSearch, Tag
from library.selectors import saved_search_hits
from library.services import saved_paper_add, saved_search_create
from library.tasks import send_digests
from tests.library.conftest import Mailbox, body_text

pytestmark = pytest.mark.django_db


def test_a_digest_is_sent_once_and_its_link_unsubscribes(
    smtp_server: Mailbox, ada: Any, bob: Any, reader_collection: dict[str, int], settings: Any
) -> None:
    settings.SITE_URL = "http://testserver"
    settings.LIBRARY_DIGEST_MAX_PAPERS = 100
    search = saved_search_create(user=ada, name="Agents", query="language model agents that use tools", floor=-1, digest="daily")
    ranked = saved_search_hits(search=search)
    floor = sorted(score for _, score in ranked)[len(ranked) // 2]  # half the matches are below the floor
    assert len(ranked) >= 4
    search.floor = floor
    search.save()
    above = {p.pk for p, score in ranked if score >= floor}
    saved_search_create(user=bob, name="Same search", query=search.query, floor=floor, digest="daily")  # shares the ranking
    saved_paper_add(user=ada, paper_id=reader_collection["2503.19523"], tags=["reading group"])
    Tag.objects.filter(user=ada).update(digest="daily")

    summary = digest_run(frequency="daily")
    assert summary.rankings == 2  # one ranking for the two identical saved searches, one for the tag
    assert summary.emails == 2 and len(smtp_server.messages) == 2
    to_ada = next(m for m in smtp_server.messages if m["To"] == "ada@example.org")
    text = body_text(to_ada)
    search_section = text.split('== New for your saved search "Agents" ==')[1].split("==")[0]
    import re

    assert {int(pk) for pk in re.findall(r"/papers/(\d+)/", search_section)} == above  # exactly those above the floor
    sent_to_ada = set(Delivery.objects.filter(user=ada).values_list("paper_id", flat=True))
    assert above <= sent_to_ada
    assert 'Recommended for your tag "reading group"' in text
    assert to_ada["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Never the same paper twice: the next day's run (through the Celery task) sends nothing new.
    DigestRun.objects.update(last_run=timezone.now() - dt.timedelta(days=1))
    send_digests.delay("daily")
    assert len(smtp_server.messages) == 2

    # The search section's one-click link turns that digest off, without signing in.
    link = next(line.split(": ", 1)[1].strip() for line in text.splitlines() if line.startswith("Unsubscribe from this search"))
    path = link.removeprefix("http://testserver")
    response = Client().get(path)
    assert response.status_code == 200 and "Unsubscribed" in response.content.decode()
    assert SavedSearch.objects.get(pk=search.pk).digest == "never"
    assert SavedSearch.objects.get(user=bob).digest == "daily"  # Bob's own digest is untouched
    forged = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    assert Client().get(forged).status_code == 400


def test_a_failed_send_is_retried_with_the_same_papers(ada: Any, reader_collection: dict[str, int], settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens there
    saved_search_create(user=ada, query="language model agents", floor=-1, digest="daily")
    summary = digest_run(frequency="daily")
    assert summary.emails == 0 and summary.failures
    assert not Delivery.objects.exists() and not DigestRun.objects.exists()  # nothing marked as sent
