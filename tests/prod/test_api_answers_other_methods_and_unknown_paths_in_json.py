"""Every /api/ answer is the documented JSON: a method an endpoint does not take is a 405
``{"detail"}`` with Allow, HEAD answers like GET (headers, no body), and an unknown path is a
404 ``{"detail"}`` whatever the method. Never django-ninja's plain-text "Method not allowed"."""

from __future__ import annotations

import pytest
from django.test import Client

GET_ENDPOINTS = ["/api/search?q=attention", "/api/index/status", "/api/papers/1", "/api/papers/1/related"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", GET_ENDPOINTS)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_method_an_endpoint_does_not_take_is_a_json_405(client: Client, path: str, method: str) -> None:
    response = getattr(client, method)(path, data="{}", content_type="application/json")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response["Allow"] == "GET"
    assert response.json()["detail"] == f"{method.upper()} is not allowed on {path.split('?')[0]}; it answers GET."


@pytest.mark.django_db
def test_get_on_the_post_only_endpoint_is_a_json_405(client: Client) -> None:
    response = client.get("/api/similar")
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert response.json() == {"detail": "GET is not allowed on /api/similar; it answers POST."}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/index/status", "/api/papers/999999", "/api/search?q="])
def test_head_answers_like_get_without_a_body(client: Client, path: str) -> None:
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code
    assert head["Content-Type"] == get["Content-Type"] == "application/json; charset=utf-8"
    assert head.content == b""


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "head", "options"])
def test_an_unknown_api_path_is_a_json_404_whatever_the_method(client: Client, method: str) -> None:
    response = getattr(client, method)("/api/no/such/thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    if method != "head":
        assert response.json()["detail"] == "No API endpoint at /api/no/such/thing; see /api/docs for the list."
