"""Recommendations (real model, real FAISS + BM25 build): never a paper already saved, scoped to a tag
when asked, newest first on request, each naming the saved papers it is closest to; every method
of the benchmark runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from library.models import Tag
from library.recommend import FUSED_METHODS, METHODS
from library.selectors import recommendations
from library.services import saved_paper_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada_saved(ada: Any, reader_collection: dict[str, int]) -> dict[str, int]:
    saved_paper_add(user=ada, paper_id=reader_collection["2503.19523"], tags=["first"])
    saved_paper_add(user=ada, paper_id=reader_collection["2504.00891"], tags=["first"])
    saved_paper_add(user=ada, paper_id=reader_collection["2606.30116"], tags=["second"])
    return reader_collection


@pytest.mark.parametrize("method", [*METHODS, *FUSED_METHODS])
def test_every_method_recommends_unsaved_papers_with_their_reasons(ada: Any, ada_saved: dict[str, int], method: str) -> None:
    result = recommendations(user=ada, k=10, method=method)
    saved = set(ada.saved_papers.values_list("paper_id", flat=True))
    assert result.based_on == 3 and len(result.items) == 10
    assert not saved & {item.paper.pk for item in result.items}
    for item in result.items:
        assert item.because and {p.pk for p, _ in item.because} <= saved
        assert all(-1.0 <= cos <= 1.0 for _, cos in item.because)


def test_a_tag_scopes_the_reasons_and_recent_orders_by_date(ada: Any, ada_saved: dict[str, int]) -> None:
    second = Tag.objects.get(user=ada, name="second")
    result = recommendations(user=ada, tag=second, k=5)
    assert {p.pk for item in result.items for p, _ in item.because} == {ada_saved["2606.30116"]}
    recent = recommendations(user=ada, k=8, recent=True)
    dates = [item.paper.published for item in recent.items if item.paper.published]
    assert dates == sorted(dates, reverse=True)


def test_the_page_shows_why_each_paper_is_recommended(ada_client: Client, ada_saved: dict[str, int]) -> None:
    html = ada_client.get("/library/recommendations").content.decode()
    assert html.count('class="because"') == 20
    assert f'href="/papers/{ada_saved["2503.19523"]}/"' in html
    assert "Ranked by ridge+bm25 over 3 saved papers" in html
