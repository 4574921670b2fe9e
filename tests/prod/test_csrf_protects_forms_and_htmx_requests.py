"""Every POST needs the CSRF token: classic forms carry it as a field, htmx as a header."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def _htmx_headers(html: str) -> dict[str, str]:
    match = re.search(r"<body hx-headers='([^']*)'", html)
    assert match, "base.html must give htmx the CSRF token"
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_a_post_without_the_token_is_refused(csrf_client: Client) -> None:
    assert csrf_client.post("/similar", {"text": "graph neural networks"}).status_code == 403
    assert csrf_client.post("/admin/login/", {"username": "a", "password": "b"}).status_code == 403


def test_an_htmx_post_with_the_pages_header_token_is_accepted(csrf_client: Client, listing_index: list[int]) -> None:
    page = csrf_client.get("/similar")
    token = _htmx_headers(page.content.decode())["X-CSRFToken"]
    assert len(token) == 64
    response = csrf_client.post(
        "/similar", {"text": "attention-based language models"}, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200


def test_an_htmx_post_with_a_forged_token_is_refused(csrf_client: Client, listing_index: list[int]) -> None:
    csrf_client.get("/similar")
    response = csrf_client.post("/similar", {"text": "x"}, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN="f" * 64)
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_admin_login_form_carries_the_token_field(csrf_client: Client) -> None:
    page = csrf_client.get("/admin/login/")
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
