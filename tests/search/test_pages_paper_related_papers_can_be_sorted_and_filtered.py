"""Related papers on a paper page: newest first, only newer ones, one category."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from papers.models import Paper


def _related_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'class="result-title"><a href="/papers/(\d+)/"', html)]


@pytest.mark.django_db
def test_only_newer_keeps_papers_from_the_papers_year_on(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2602.06795"]

    ids = _related_ids(client.get(f"/papers/{pk}/", {"year_from": 2026}).content.decode())

    assert ids == [reader_collection["2606.30116"]]


@pytest.mark.django_db
def test_a_category_keeps_related_papers_in_it(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2602.06795"]

    ids = _related_ids(client.get(f"/papers/{pk}/", {"category": "cs.CL"}).content.decode())

    assert ids == [reader_collection["2504.00891"]]


@pytest.mark.django_db
def test_newest_first_orders_related_papers_by_date(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2505.17352"]

    ids = _related_ids(client.get(f"/papers/{pk}/", {"sort": "newest", "year_from": 2025}).content.decode())
    dates = [Paper.objects.get(pk=i).published for i in ids]

    assert len(ids) == 5
    assert dates == sorted(dates, reverse=True)


@pytest.mark.django_db
def test_an_htmx_request_gets_only_the_related_list(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2602.06795"]

    fragment = client.get(f"/papers/{pk}/", {"sort": "newest"}, headers={"HX-Request": "true"}).content.decode()

    assert "<html" not in fragment and "<h1" not in fragment
    assert fragment.count('<article class="result">') == 10


@pytest.mark.django_db
def test_filters_that_leave_nothing_say_so(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2602.06795"]

    response = client.get(f"/papers/{pk}/", {"category": "q-bio.NC"})

    assert "No related papers match these filters" in response.content.decode()


@pytest.mark.django_db
def test_bad_filters_are_a_400_with_the_reason(client: Client, reader_collection: dict[str, int]) -> None:
    pk = reader_collection["2602.06795"]

    response = client.get(f"/papers/{pk}/", {"sort": "sideways"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
