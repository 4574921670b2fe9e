"""Hostile input to every page and API endpoint: never a 5xx, and no markup of it echoed raw.

Which inputs must be refused, and with what message, is
tests/prod/test_invalid_parameters_get_a_4xx_with_a_message_naming_them.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from django.test import Client

from tests.prod.corpus import RAW_JSON_BODIES, RAW_QUERY_STRINGS, SCRIPT, TEXTS

Request = Callable[[Client, str], object]

PAGE_REQUESTS: dict[str, Request] = {
    "search q": lambda c, t: c.get("/search", {"q": t}),
    "search q htmx": lambda c, t: c.get("/search", {"q": t}, HTTP_HX_REQUEST="true"),
    "search filters": lambda c, t: c.get("/search", {"q": "attention", "category": t, "author": t, "year_from": t, "year_to": t, "page": t, "sort": t, "mode": t, "weight": t}),
    "search feed": lambda c, t: c.get("/search/feed.atom", {"q": t}),
    "search category": lambda c, t: c.get("/search", {"q": "attention", "category": t}),
    "search author": lambda c, t: c.get("/search", {"q": "attention", "author": t}),
    "similar get": lambda c, t: c.get("/similar", {"text": t}),
    "similar post": lambda c, t: c.post("/similar", {"text": t, "category": t, "year_from": t}),
    "paper related": lambda c, t: c.get("/papers/1/", {"q": t, "year_from": t}),
    "admin login": lambda c, t: c.post("/admin/login/", {"username": t, "password": t}),
}
API_REQUESTS: dict[str, Request] = {
    "api search q": lambda c, t: c.get("/api/search", {"q": t}),
    "api search filters": lambda c, t: c.get("/api/search", {"q": "attention", "category": t, "author": t, "year_from": t, "mode": t, "page": t, "page_size": t}),
    # One field at a time too: with every field bad, validation stops at the first one.
    "api search category": lambda c, t: c.get("/api/search", {"q": "attention", "category": t}),
    "api search author": lambda c, t: c.get("/api/search", {"q": "attention", "author": t}),
    "api similar category": lambda c, t: c.post("/api/similar", json.dumps({"text": "attention", "category": t}), content_type="application/json"),
    "api similar text": lambda c, t: c.post("/api/similar", json.dumps({"text": t}), content_type="application/json"),
    "api similar arxiv": lambda c, t: c.post("/api/similar", json.dumps({"arxiv_id": t, "category": t}), content_type="application/json"),
    "api related": lambda c, t: c.get("/api/papers/1/related", {"year_from": t, "category": t}),
    "api paper id": lambda c, t: c.get(f"/api/papers/{t[:50]}"),
}


def _tags(text: str) -> list[str]:
    """The pieces of markup in ``text`` that only an unescaped echo could put in a page: each tag
    with attributes, and each tag with the text after it (a bare ``</script>`` is in every page)."""
    pieces = []
    for match in re.finditer(r"(</?[a-zA-Z][^<>]*>?)([^<>]*)", text):
        tag, after = match.groups()
        if " " in tag or "=" in tag or after.strip():
            pieces.append(tag + after if after.strip() else tag)
    return pieces


def _run(client: Client, requests: dict[str, Request], *, html: bool) -> list[str]:
    problems = []
    for request_name, send in requests.items():
        for text_name, text in TEXTS.items():
            response = send(client, text)
            label = f"{request_name} / {text_name}: {response.status_code}"  # type: ignore[attr-defined]
            if response.status_code >= 500:  # type: ignore[attr-defined]
                problems.append(label)
                continue
            body = response.content.decode("utf-8", "replace")  # type: ignore[attr-defined]
            # Any input holding markup: not one of its tags may come back as it was sent.
            if html and any(tag in body for tag in _tags(text)):
                problems.append(f"{label} echoed markup unescaped")
    return problems


def test_pages_answer_every_hostile_input_without_a_server_error_or_raw_markup(listing_index: list[int]) -> None:
    client = Client()
    client.get("/")  # a CSRF cookie for the form posts (the test client does not enforce it anyway)
    assert _run(client, PAGE_REQUESTS, html=True) == []


def test_the_api_answers_every_hostile_input_without_a_server_error(listing_index: list[int]) -> None:
    problems = _run(Client(), API_REQUESTS, html=False)
    assert problems == []


def test_raw_query_strings_never_break_the_search_page_or_api(listing_index: list[int]) -> None:
    client = Client()
    problems = []
    for path in ("/search", "/api/search", "/similar", "/search/feed.atom"):
        for name, query in RAW_QUERY_STRINGS.items():
            response = client.get(path, QUERY_STRING=query)
            if response.status_code >= 500:
                problems.append(f"{path}?{query} ({name}): {response.status_code}")
    assert problems == []


def test_raw_json_bodies_get_a_4xx_or_a_result_never_a_5xx(listing_index: list[int]) -> None:
    client = Client()
    problems = []
    for name, body in RAW_JSON_BODIES.items():
        response = client.generic("POST", "/api/similar", body, content_type="application/json")
        if response.status_code >= 500:
            problems.append(f"{name}: {response.status_code}")
        elif response.status_code >= 400:
            assert response["Content-Type"].startswith("application/json"), name
            assert response.json()["detail"], name
    assert problems == []


@pytest.mark.django_db
def test_a_paper_with_hostile_metadata_renders_escaped(client: Client, paper_factory) -> None:  # type: ignore[no-untyped-def]
    paper = paper_factory(title=f"Title {SCRIPT}", abstract=f'Abstract "><img src=x onerror=alert(1)> {TEXTS["rtl override"]}', authors=[SCRIPT])
    body = client.get(f"/papers/{paper.pk}/").content.decode()
    assert SCRIPT not in body and "<img src=x" not in body
    assert "&lt;script&gt;" in body
