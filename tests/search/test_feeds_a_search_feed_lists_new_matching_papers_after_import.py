"""A feed for a query shows a newly imported paper about that query, and not an unrelated one."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.test import Client

from papers.models import Paper
from papers.services import papers_import

ATOM = "{http://www.w3.org/2005/Atom}"
QUERY = "process reward models that verify reasoning steps"
NEW_MATCHING = {
    "id": "2611.00001",
    "title": "Step-Level Verifiers: Training Process Reward Models for Reasoning Without Step Labels",
    "abstract": (
        "Process reward models score each step of a chain of thought, but step-level labels are "
        "expensive. We train process reward models for mathematical reasoning from outcome labels "
        "alone and use them to verify reasoning steps at test time."
    ),
    "authors": ["Ada Lovelace"],
    "categories": ["cs.CL"],
    "published": dt.date.today().isoformat(),
}
NEW_UNRELATED = {
    "id": "2611.00002",
    "title": "Sourdough Starter Microbiology Across Seasons",
    "abstract": "We sample wild yeast and lactic acid bacteria in home sourdough starters over a year.",
    "authors": ["Grace Hopper"],
    "categories": ["q-bio.PE"],
    "published": dt.date.today().isoformat(),
}


def _titles(feed: bytes) -> list[str]:
    return [entry.findtext(f"{ATOM}title") or "" for entry in ET.fromstring(feed).iter(f"{ATOM}entry")]


def _import(tmp_path: Path, django_capture_on_commit_callbacks, *records: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "new-papers.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    # The real path: import -> on commit -> embed task (in-process) -> index build.
    with django_capture_on_commit_callbacks(execute=True):
        assert papers_import(source=source, fmt="jsonl").created == len(records)


@pytest.mark.django_db
def test_a_newly_imported_matching_paper_tops_the_feed(client: Client, reader_collection: dict[str, int], tmp_path: Path, settings, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    # "Matching" is the most relevant SEARCH_NEWEST_POOL papers; 100 would be all of these 67.
    settings.SEARCH_NEWEST_POOL = 10
    before = _titles(client.get("/search/feed.atom", {"q": QUERY}).content)
    assert NEW_MATCHING["title"] not in before

    _import(tmp_path, django_capture_on_commit_callbacks, NEW_MATCHING, NEW_UNRELATED)

    after = _titles(client.get("/search/feed.atom", {"q": QUERY}).content)
    assert after[0] == NEW_MATCHING["title"]
    assert NEW_UNRELATED["title"] not in after
    assert Paper.objects.filter(title=NEW_UNRELATED["title"]).exists()


@pytest.mark.django_db
def test_a_keyword_feed_lists_only_papers_with_the_words(client: Client, reader_collection: dict[str, int], tmp_path: Path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    _import(tmp_path, django_capture_on_commit_callbacks, NEW_MATCHING, NEW_UNRELATED)

    titles = _titles(client.get("/search/feed.atom", {"q": "process reward", "mode": "keyword"}).content)

    assert titles[0] == NEW_MATCHING["title"]
    assert NEW_UNRELATED["title"] not in titles


@pytest.mark.django_db
def test_the_feed_without_a_query_lists_the_newest_papers(client: Client, reader_collection: dict[str, int], tmp_path: Path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    _import(tmp_path, django_capture_on_commit_callbacks, NEW_UNRELATED)

    titles = _titles(client.get("/search/feed.atom").content)

    assert titles[0] == NEW_UNRELATED["title"]
    assert len(titles) == 20
