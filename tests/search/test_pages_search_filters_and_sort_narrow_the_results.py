"""Filters (year range, category, author) and sort on the search page are exact."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from papers.models import Paper

QUERY = "reward models for aligning language models with human preferences"


def _result_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'class="result-title"><a href="/papers/(\d+)/"', html)]


@pytest.mark.django_db
def test_a_year_range_keeps_only_papers_from_those_years(client: Client, reader_collection: dict[str, int]) -> None:
    ids = _result_ids(client.get("/search", {"q": QUERY, "year_from": 2026}).content.decode())

    assert sorted(ids) == sorted([reader_collection["2602.06795"], reader_collection["2606.30116"]])


@pytest.mark.django_db
def test_a_category_keeps_only_papers_in_it(client: Client, reader_collection: dict[str, int]) -> None:
    ids = _result_ids(client.get("/search", {"q": QUERY, "category": "cs.CV"}).content.decode())

    assert sorted(ids) == sorted([reader_collection["2503.19523"], reader_collection["2505.17352"]])


@pytest.mark.django_db
def test_an_author_keeps_only_their_papers(client: Client, reader_collection: dict[str, int]) -> None:
    ids = _result_ids(client.get("/search", {"q": QUERY, "author": "Kate Sanders"}).content.decode())

    assert ids == [reader_collection["2602.06795"]]


@pytest.mark.django_db
def test_newest_first_orders_the_matches_by_date(client: Client, reader_collection: dict[str, int]) -> None:
    ids = _result_ids(client.get("/search", {"q": QUERY, "sort": "newest", "year_from": 2025}).content.decode())
    dates = [Paper.objects.get(pk=pk).published for pk in ids]

    assert len(ids) == 6
    assert dates == sorted(dates, reverse=True)


@pytest.mark.django_db
def test_a_category_tag_in_a_result_adds_that_filter(client: Client, reader_collection: dict[str, int]) -> None:
    html = client.get("/search", {"q": QUERY, "year_from": 2025}).content.decode()

    tag_link = re.search(r'<a class="tag" href="([^"]*category=cs.CV[^"]*)"', html)
    assert tag_link is not None
    narrowed = client.get("/search" + tag_link.group(1).replace("&amp;", "&")).content.decode()
    assert sorted(_result_ids(narrowed)) == sorted([reader_collection["2503.19523"], reader_collection["2505.17352"]])
