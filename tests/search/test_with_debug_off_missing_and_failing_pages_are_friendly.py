"""DEBUG off (the demo and production): a missing page and a server error get Paperscope's own
pages that say what happened and where to go, never Django's bare "Not Found" or a traceback."""

from __future__ import annotations

from django.test import Client, RequestFactory
from django.views.defaults import server_error


def test_a_missing_page_is_a_friendly_404_with_the_way_back(client: Client, settings: object, db: None) -> None:
    settings.DEBUG = False  # type: ignore[attr-defined]
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "That page isn’t here" in html
    assert "<code>/no/such/page/</code>" in html
    for link in ('href="/search"', 'href="/similar"', 'href="/"'):
        assert link in html, link
    assert "Traceback" not in html and "Page not found at" not in html  # not Django's debug page


def test_a_missing_paper_is_the_same_friendly_404(client: Client, settings: object, db: None) -> None:
    settings.DEBUG = False  # type: ignore[attr-defined]
    response = client.get("/papers/999999/")
    assert response.status_code == 404 and "That page isn’t here" in response.content.decode()


def test_a_server_error_is_a_friendly_500_that_needs_no_request_context(settings: object) -> None:
    settings.DEBUG = False  # type: ignore[attr-defined]
    # Django renders 500.html with an empty context (the failure may be the context itself).
    response = server_error(RequestFactory().get("/search"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and 'href="/"' in html
    assert "css/base.css" in html
