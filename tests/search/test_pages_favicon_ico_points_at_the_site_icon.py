"""Browsers ask for /favicon.ico wherever a page names no icon (the JSON API): it leads to the site's icon, not a 404."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_favicon_ico_redirects_to_the_icon_the_pages_use(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    icon = response["Location"]
    assert "favicon" in icon and icon.endswith(".svg")
    page = client.get("/")
    assert f'href="{icon}"' in page.content.decode()  # the same file base.html links
    assert client.head("/favicon.ico").status_code == 302
    assert client.post("/favicon.ico").status_code == 405
