"""Private Atom feeds per saved search and per tag: valid Atom, reachable only with the secret token,
dead the moment the token is revoked; imported markup arrives as text, never as live HTML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.test import Client

from library.models import SavedSearch, Tag
from library.services import saved_paper_add, saved_search_create

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def _entries(response: Any) -> list[ET.Element]:
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content).findall(f"{ATOM}entry")


def test_search_and_tag_feeds_work_with_the_token_only(ada: Any, ada_client: Client, reader_collection: dict[str, int], paper_factory: Any) -> None:
    search = saved_search_create(user=ada, query="reward models for aligning language models with human preferences", floor=-1)
    saved_paper_add(user=ada, paper_id=reader_collection["2503.19523"], tags=["feedtag"])
    tag = Tag.objects.get(user=ada)
    client = Client()  # a feed reader: no session
    assert len(_entries(client.get(f"/library/feeds/search/{search.feed_token}.atom"))) > 0
    tag_entries = _entries(client.get(f"/library/feeds/tag/{tag.feed_token}.atom"))
    assert tag_entries and all(str(reader_collection["2503.19523"]) not in e.find(f"{ATOM}id").text for e in tag_entries)  # type: ignore[union-attr]
    assert client.get("/library/feeds/search/wrong.atom").status_code == 404

    old_search, old_tag = search.feed_token, tag.feed_token
    assert ada_client.post(f"/library/searches/{search.pk}/revoke-feed").status_code == 302
    assert ada_client.post(f"/library/tags/{tag.pk}/revoke-feed").status_code == 302
    assert client.get(f"/library/feeds/search/{old_search}.atom").status_code == 404
    assert client.get(f"/library/feeds/tag/{old_tag}.atom").status_code == 404
    new_token = SavedSearch.objects.get(pk=search.pk).feed_token
    assert new_token != old_search and client.get(f"/library/feeds/search/{new_token}.atom").status_code == 200
    assert new_token in ada_client.get("/library/searches").content.decode()


def test_markup_in_an_abstract_reaches_the_reader_as_text(ada: Any, reader_collection: dict[str, int]) -> None:
    from papers.models import Paper
    from search.services import embeddings_update, index_build

    evil = Paper.objects.create(title="Reward models with markup", abstract='<img src=x onerror="alert(1)"> reward models for aligning language models')
    embeddings_update(paper_ids=[evil.pk])
    index_build()
    search = saved_search_create(user=ada, query="reward models for aligning language models", floor=-1)
    response = Client().get(f"/library/feeds/search/{search.feed_token}.atom")
    summaries = [e.find(f"{ATOM}summary").text or "" for e in _entries(response)]  # type: ignore[union-attr]
    evil_summary = next(s for s in summaries if "onerror" in s)
    # After XML parsing the summary (type="html") is still escaped: a feed reader shows the tag as text.
    assert "<img" not in evil_summary and "&lt;img" in evil_summary
