"""The home page (and the query-less feed) list dated papers newest first, undated ones after,
on SQLite and PostgreSQL alike (PostgreSQL sorts NULL first when descending)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from papers.models import Paper


@pytest.mark.django_db
def test_dated_papers_come_first_newest_first(client: Client, reader_collection: dict[str, int]) -> None:
    html = client.get("/").content.decode()

    ids = [int(pk) for pk in re.findall(r'class="result-title"><a href="/papers/(\d+)/"', html)]
    dates = [Paper.objects.get(pk=pk).published for pk in ids]
    assert len(ids) == 20
    assert dates[:6] == sorted(dates[:6], reverse=True) and None not in dates[:6]
    assert dates[6:] == [None] * 14
