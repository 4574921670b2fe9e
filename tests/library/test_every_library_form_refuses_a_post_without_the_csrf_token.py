"""Every state-changing library URL refuses a POST without the CSRF token (403), and every form
the library pages render carries the token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from library.services import saved_paper_add, saved_search_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def csrf_client(ada: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_posts_without_the_token_are_refused(csrf_client: Client, ada: Any, reader_collection: dict[str, int]) -> None:
    paper = reader_collection["2503.19523"]
    saved_paper_add(user=ada, paper_id=paper, tags=["t"])
    tag = ada.library_tags.get()
    search = saved_search_create(user=ada, query="q")
    posts = [
        f"/library/papers/{paper}/save", f"/library/papers/{paper}/remove", f"/library/papers/{paper}/edit",
        f"/library/tags/{tag.pk}/update", f"/library/tags/{tag.pk}/delete", f"/library/tags/{tag.pk}/revoke-feed",
        f"/library/searches/{search.pk}/update", f"/library/searches/{search.pk}/delete", f"/library/searches/{search.pk}/revoke-feed",
        "/library/searches", "/library/import", "/library/tokens", "/accounts/logout/", "/accounts/login/", "/accounts/signup/",
        "/accounts/password/reset/",
    ]
    for url in posts:
        assert csrf_client.post(url, {"tags": "x", "name": "x", "query": "x"}).status_code == 403, url
    # htmx requests too: the token travels in X-CSRFToken (base.html), without it they are refused.
    assert csrf_client.post(f"/library/papers/{paper}/save", HTTP_HX_REQUEST="true").status_code == 403
    assert ada.saved_papers.count() == 1


def test_every_rendered_form_carries_the_token(csrf_client: Client, ada: Any, reader_collection: dict[str, int]) -> None:
    paper = reader_collection["2503.19523"]
    saved_paper_add(user=ada, paper_id=paper, tags=["t"])
    tag = ada.library_tags.get()
    saved_search_create(user=ada, query="q")
    pages = ["/library/", f"/library/tags/{tag.pk}/", f"/library/papers/{paper}/edit", "/library/import", "/library/searches",
             "/library/tokens", f"/papers/{paper}/", "/search?q=agents"]
    for url in pages:
        html = csrf_client.get(url).content.decode()
        forms = re.findall(r"<form\b[^>]*method=\"post\"[^>]*>.*?</form>", html, flags=re.S | re.I)
        assert forms, url
        for form in forms:
            assert 'name="csrfmiddlewaretoken"' in form, (url, form[:200])
