"""A page that answers htmx with a fragment and a browser with the whole page says so in
``Vary: HX-Request``, both ways, so no cache (nor the back button) serves one for the other."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/search?q=attention", "/", "/similar"])
def test_pages_vary_on_hx_request(client: Client, path: str, listing_index: list[int]) -> None:
    whole = client.get(path)
    fragment = client.get(path, HTTP_HX_REQUEST="true")
    for response in (whole, fragment):
        assert response.status_code == 200
        assert "HX-Request" in [v.strip() for v in response.get("Vary", "").split(",")]
    if path.startswith("/search"):
        assert b"<html" in whole.content and b"<html" not in fragment.content  # really two answers


@pytest.mark.django_db
def test_json_answers_do_not_vary_on_it(client: Client) -> None:
    assert "HX-Request" not in client.get("/api/index/status").get("Vary", "")
