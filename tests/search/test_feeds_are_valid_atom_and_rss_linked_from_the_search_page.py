"""Every search links its Atom and RSS feeds; both are well-formed and describe the papers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from django.test import Client

ATOM = "{http://www.w3.org/2005/Atom}"
QUERY = "reward models for aligning language models with human preferences"


@pytest.mark.django_db
def test_the_search_page_links_both_feeds_with_its_query_and_filters(client: Client, reader_collection: dict[str, int]) -> None:
    html = client.get("/search", {"q": QUERY, "category": "cs.CL", "page": 2}).content.decode()

    alternates = re.findall(r'<link rel="alternate" type="application/(atom|rss)\+xml" title="[^"]+" href="([^"]+)">', html)
    assert {kind for kind, _ in alternates} == {"atom", "rss"}
    for _, href in alternates:
        href = unescape(href)
        assert "category=cs.CL" in href and "q=reward+models" in href and "page=" not in href
        assert client.get(href).status_code == 200
    assert 'type="application/atom+xml">Atom</a>' in html  # visible to people too


@pytest.mark.django_db
def test_the_atom_feed_describes_each_paper(client: Client, reader_collection: dict[str, int]) -> None:
    response = client.get("/search/feed.atom", {"q": QUERY, "year_from": 2025})

    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert "reward models for aligning" in (root.findtext(f"{ATOM}title") or "")
    entries = list(root.iter(f"{ATOM}entry"))
    assert len(entries) == 6
    first = entries[0]
    assert first.findtext(f"{ATOM}published", "").startswith("2026-06-30")  # newest first
    assert first.find(f"{ATOM}link").get("href", "").startswith("http://testserver/papers/")  # type: ignore[union-attr]
    assert first.findtext(f"{ATOM}author/{ATOM}name", "").startswith("Eleanor Clifford")
    assert [c.get("term") for c in first.iter(f"{ATOM}category")] == ["cs.AI"]
    assert "Pairwise preference data" in first.findtext(f"{ATOM}summary", "")


@pytest.mark.django_db
def test_the_rss_feed_is_well_formed(client: Client, reader_collection: dict[str, int]) -> None:
    response = client.get("/search/feed.rss", {"q": QUERY})

    assert response["Content-Type"].startswith("application/rss+xml")
    channel = ET.fromstring(response.content).find("channel")
    assert channel is not None
    items = channel.findall("item")
    assert 1 <= len(items) <= 20
    assert all(item.findtext("link", "").startswith("http://testserver/papers/") for item in items)
