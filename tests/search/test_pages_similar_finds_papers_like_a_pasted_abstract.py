"""/similar: paste an abstract, an arXiv id or an arXiv URL and get related papers."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from papers.models import Paper


def _result_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'class="result-title"><a href="/papers/(\d+)/"', html)]


@pytest.mark.django_db
def test_an_empty_page_shows_the_form(client: Client, listing_index: list[int]) -> None:
    html = client.get("/similar").content.decode()

    assert '<textarea id="text" name="text"' in html and 'method="post"' in html
    assert 'name="csrfmiddlewaretoken"' in html


@pytest.mark.django_db
def test_a_pasted_abstract_finds_its_own_paper_first(client: Client, reader_collection: dict[str, int]) -> None:
    paper = Paper.objects.get(pk=reader_collection["2509.24159"])

    response = client.post("/similar", {"text": paper.abstract})

    assert response.status_code == 200
    ids = _result_ids(response.content.decode())
    assert ids[0] == paper.pk and len(ids) == 20


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["2509.24159", "arXiv:2509.24159v2", "https://arxiv.org/abs/2509.24159v1", "https://arxiv.org/pdf/2509.24159"])
def test_an_arxiv_id_or_url_finds_papers_like_that_paper(client: Client, reader_collection: dict[str, int], given: str) -> None:
    pk = reader_collection["2509.24159"]

    response = client.get("/similar", {"text": given})

    html = response.content.decode()
    assert response.status_code == 200
    assert f'Papers like <a href="/papers/{pk}/">Robust Preference Optimization' in html
    ids = _result_ids(html)
    assert pk not in ids and len(ids) == 20


@pytest.mark.django_db
def test_filters_narrow_the_similar_papers(client: Client, reader_collection: dict[str, int]) -> None:
    paper = Paper.objects.get(pk=reader_collection["2509.24159"])

    ids = _result_ids(client.post("/similar", {"text": paper.abstract, "year_from": 2026}).content.decode())

    assert sorted(ids) == sorted([reader_collection["2602.06795"], reader_collection["2606.30116"]])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": ""}, "Paste an abstract"),
        ({"text": "2401.99999"}, "arXiv:2401.99999 is not in this collection"),
        ({"text": "x" * 20_001}, "at most 20000 characters"),
        ({"text": "a b c", "year_from": 2030, "year_to": 2020}, "is after"),
    ],
)
def test_bad_input_is_a_400_with_the_reason(client: Client, listing_index: list[int], data: dict[str, object], message: str) -> None:
    response = client.post("/similar", data)

    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.django_db
def test_an_htmx_post_gets_only_the_results(client: Client, reader_collection: dict[str, int]) -> None:
    response = client.post("/similar", {"text": "process reward models"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert "<html" not in html and "<textarea" not in html
    assert html.count('<article class="result">') == 20
