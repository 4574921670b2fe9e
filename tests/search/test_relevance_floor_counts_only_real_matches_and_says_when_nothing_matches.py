"""The relevance floor: a search counts and lists only papers that really match it; nonsense
finds nothing and the page says so, with suggestions; newest-first and feeds keep to the floor."""

from __future__ import annotations

import feedparser
import pytest
from django.test import Client

from papers.models import Paper
from search.queries import semantic_search

NONSENSE = "zzqxj flurbleglorp"


@pytest.mark.django_db
def test_nonsense_finds_nothing_and_the_page_and_api_say_so(client: Client, reader_collection: dict[str, int]) -> None:
    page = semantic_search(query=NONSENSE)
    assert page.total == 0 and page.hits == []

    html = client.get("/search", {"q": NONSENSE}).content.decode()
    assert "No papers matched <strong>zzqxj flurbleglorp</strong>" in html
    assert "no paper is close enough in meaning or shares enough of its words" in html
    assert client.get("/api/search", {"q": NONSENSE}).json()["total"] == 0


@pytest.mark.django_db
def test_a_topic_counts_its_matches_not_the_whole_collection(reader_collection: dict[str, int]) -> None:
    collection = Paper.objects.count()
    page = semantic_search(query="reward models for aligning language models with human preferences", page_size=100)

    assert 0 < page.total < collection
    assert page.total == len(page.hits)  # every counted result can be paged to
    # Without the floor every paper is ranked; the floor keeps that order and only leaves papers out.
    unfloored = semantic_search(query="reward models for aligning language models with human preferences", page_size=100, floor=False)
    assert unfloored.total == collection
    kept = {h.paper.pk for h in page.hits}
    assert [h.paper.pk for h in unfloored.hits if h.paper.pk in kept] == [h.paper.pk for h in page.hits]


@pytest.mark.django_db
def test_a_query_with_no_match_offers_the_words_the_collection_holds(client: Client, reader_collection: dict[str, int]) -> None:
    page = semantic_search(query="qzxvjw reward")

    assert page.total == 0
    assert "reward" in page.suggestions
    html = client.get("/search", {"q": "qzxvjw reward"}).content.decode()
    assert 'Try <a href="/search?q=reward">reward</a>' in html


@pytest.mark.django_db
def test_newest_first_orders_only_the_matches(reader_collection: dict[str, int]) -> None:
    query = "process reward models for test-time compute"
    matches = {hit.paper.pk for hit in semantic_search(query=query, page_size=100).hits}
    newest = semantic_search(query=query, sort="newest", page_size=100)

    assert {hit.paper.pk for hit in newest.hits} == matches
    dates = [hit.paper.published for hit in newest.hits if hit.paper.published]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.django_db
def test_a_feed_read_by_a_feed_client_lists_only_matching_papers(client: Client, reader_collection: dict[str, int]) -> None:
    query = "process reward models for test-time compute"
    matches = {hit.paper.get_absolute_url() for hit in semantic_search(query=query, page_size=100).hits}
    for path in ("/search/feed.atom", "/search/feed.rss"):
        parsed = feedparser.parse(client.get(path, {"q": query}).content)
        assert not parsed.bozo, parsed.get("bozo_exception")
        links = {entry.link.replace("http://testserver", "") for entry in parsed.entries}
        assert links and links <= matches
        nothing = feedparser.parse(client.get(path, {"q": NONSENSE}).content)
        assert not nothing.bozo and nothing.entries == []
