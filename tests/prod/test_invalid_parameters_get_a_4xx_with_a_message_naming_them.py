"""A broad, generated set of invalid parameters: each gets a 4xx whose message names the
parameter (JSON ``{"detail"}`` from the API, a 400 page from the site), never a 5xx and never a
silent 200. Every out-of-range, wrong-type, overlong and NUL-bearing value of every parameter of
the search page, /similar, /api/search, /api/papers/{id}/related and /api/similar."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client

from search.forms import MAX_FACET_CHARS, MAX_PAGE

NOT_A_NUMBER = ["x", "1e3", "2020.5", "12abc", "0x10", "NaN", "--1"]
BAD_YEARS = [*NOT_A_NUMBER, "0", "-2020", "1899", "2101", "99999999999999999999"]
BAD_PAGES = [*NOT_A_NUMBER, "0", "-1", str(MAX_PAGE + 1), "99999999999999999999"]
BAD_WEIGHTS = ["-0.01", "1.01", "nan", "inf", "-inf", "x", "1,5"]
BAD_MODES = ["bogus", "HYBRID", "dense ", "<b>x</b>"]
BAD_FACETS = ["x" * (MAX_FACET_CHARS + 1), "cs.\x00AI"]
TOO_LONG_QUERY = "protein " * (settings.SEARCH_MAX_QUERY_CHARS // 8 + 10)


def _cases() -> Iterator[tuple[str, str]]:
    for value in BAD_YEARS:
        yield "year_from", value
        yield "year_to", value
    for value in BAD_PAGES:
        yield "page", value
    for value in BAD_WEIGHTS:
        yield "weight", value
    for value in BAD_MODES:
        yield "mode", value
    for value in BAD_FACETS:
        yield "category", value
        yield "author", value
    yield "q", TOO_LONG_QUERY
    yield "q", "graph\x00 networks"
    yield "sort", "bogus"


CASES = list(_cases())


# How a message may name each parameter: the API by its name, the page by its field label.
LABELS = {"year_from": "from year", "year_to": "to year", "q": "search", "page_size": "page_size"}


def _names(message: str, parameter: str) -> bool:
    lowered = message.lower()
    return parameter in message or LABELS.get(parameter, parameter) in lowered or (parameter == "q" and "query" in lowered)


@pytest.mark.django_db
def test_the_api_search_answers_each_invalid_parameter_with_a_4xx_naming_it(client: Client, listing_index: list[int]) -> None:
    wrong = []
    # A NUL in q is not refused by the API: the query text is only embedded and tokenised.
    api_cases = [(p, v) for p, v in CASES if not (p == "q" and "\x00" in v)]
    for parameter, value in [*api_cases, ("page_size", "0"), ("page_size", "101"), ("page_size", "x")]:
        params = {"q": "attention", parameter: value}
        response = client.get("/api/search", params)
        detail = response.json().get("detail", "") if response["Content-Type"].startswith("application/json") else ""
        if not (400 <= response.status_code < 500 and detail and _names(str(detail), parameter)):
            wrong.append(f"{parameter}={value[:30]!r}: {response.status_code} {str(detail)[:120]!r}")
    assert wrong == []
    assert len(CASES) > 50


@pytest.mark.django_db
def test_related_and_similar_answer_invalid_filters_with_a_4xx_naming_them(client: Client, listing_index: list[int]) -> None:
    wrong = []
    for parameter, value in CASES:
        if parameter in ("year_from", "year_to", "category", "author"):
            related = client.get(f"/api/papers/{listing_index[0]}/related", {parameter: value})
            body = json.dumps({"text": "attention", parameter: value})
            similar = client.post("/api/similar", body, content_type="application/json")
            for name, response in (("related", related), ("similar", similar)):
                detail = str(response.json().get("detail", ""))
                if not (400 <= response.status_code < 500 and _names(detail, parameter)):
                    wrong.append(f"{name} {parameter}={value[:30]!r}: {response.status_code} {detail[:120]!r}")
    for k in ("0", "101", "x"):
        response = client.get(f"/api/papers/{listing_index[0]}/related", {"k": k})
        if not (400 <= response.status_code < 500 and "k" in str(response.json().get("detail", ""))):
            wrong.append(f"related k={k}: {response.status_code}")
    assert wrong == []


@pytest.mark.django_db
def test_the_search_page_answers_each_invalid_parameter_with_a_400_page_saying_what_is_wrong(client: Client, listing_index: list[int]) -> None:
    wrong = []
    for parameter, value in CASES:
        if parameter == "weight":
            continue  # the page has no weight field (the API's knob)
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get("/search", {"q": "attention", parameter: value}, **headers)
            body = response.content.decode()
            alerts = re.findall(r'role="alert">([^<]+)<', body)
            if not (response.status_code == 400 and alerts and any(_names(a, parameter) for a in alerts)):
                wrong.append(f"{parameter}={value[:30]!r} {headers}: {response.status_code}")
            if "<b>x</b>" in body:
                wrong.append(f"{parameter}={value[:30]!r}: echoed markup")
    assert wrong == []
