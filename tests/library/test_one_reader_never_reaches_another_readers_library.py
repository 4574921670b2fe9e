"""Bob tries every library URL with Ada's ids: he never reads, changes or gets recommendations from her
library (404, or his own empty view), and anonymous visitors are sent to sign in. Every route of
library/urls.py is tried (the test fails when a new route is not listed here)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern

from library import urls as library_urls
from library.models import SavedPaper, SavedSearch, Tag
from library.services import api_token_create, saved_paper_add, saved_search_create

pytestmark = pytest.mark.django_db
SECRET_NOTE = "ada's private note"


@pytest.fixture
def adas_library(ada: Any, reader_collection: dict[str, int]) -> dict[str, Any]:
    paper_id = reader_collection["2503.19523"]
    saved, _ = saved_paper_add(user=ada, paper_id=paper_id, tags=["secret-tag"], note=SECRET_NOTE)
    search = saved_search_create(user=ada, query="ada's secret query", digest="daily")
    _token, row = api_token_create(user=ada, name="ada's token")
    return {"paper": paper_id, "tag": Tag.objects.get(user=ada), "search": search, "token": row}


def _routes(ada_lib: dict[str, Any]) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    tag, search, paper = ada_lib["tag"], ada_lib["search"], ada_lib["paper"]
    return {
        "home": [("get", "/library/", {})],
        "tag": [("get", f"/library/tags/{tag.pk}/", {})],
        "tag_update": [("post", f"/library/tags/{tag.pk}/update", {"name": "pwned", "digest": "never"})],
        "tag_delete": [("post", f"/library/tags/{tag.pk}/delete", {})],
        "tag_feed_revoke": [("post", f"/library/tags/{tag.pk}/revoke-feed", {})],
        "search_feed_revoke": [("post", f"/library/searches/{search.pk}/revoke-feed", {})],
        "save": [("post", f"/library/papers/{paper}/save", {"tags": "secret-tag"})],
        "remove": [("post", f"/library/papers/{paper}/remove", {})],
        "edit": [("get", f"/library/papers/{paper}/edit", {}), ("post", f"/library/papers/{paper}/edit", {"note": "pwned"})],
        "export_bib": [("get", "/library/export.bib", {}), ("get", "/library/export.bib", {"tag": tag.pk})],
        "export_csv": [("get", "/library/export.csv", {}), ("get", "/library/export.csv", {"tag": tag.pk})],
        "import": [("get", "/library/import", {})],
        "recommendations": [("get", "/library/recommendations", {"tag": tag.pk})],
        "searches": [("get", "/library/searches", {})],
        "search_update": [("post", f"/library/searches/{search.pk}/update", {"query": "pwned", "digest": "never"})],
        "search_delete": [("post", f"/library/searches/{search.pk}/delete", {})],
        "tokens": [("get", "/library/tokens", {}), ("post", "/library/tokens", {"delete": ada_lib["token"].pk})],
        "unsubscribe": [("get", "/library/unsubscribe/forged-token", {})],
        "search_feed": [("get", "/library/feeds/search/not-the-token.atom", {})],
        "tag_feed": [("get", "/library/feeds/tag/not-the-token.atom", {})],
    }


def test_every_route_is_tried() -> None:
    names = {p.name for p in library_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == set(_routes({"tag": Tag(pk=1), "search": SavedSearch(pk=1), "paper": 1, "token": Tag(pk=1)}))


def test_bob_never_reads_or_changes_adas_library(bob_client: Client, ada: Any, bob: Any, adas_library: dict[str, Any]) -> None:
    for name, calls in _routes(adas_library).items():
        for method, url, data in calls:
            response = getattr(bob_client, method)(url, data)
            body = response.content.decode(errors="replace")
            assert SECRET_NOTE not in body and "secret-tag" not in body and "secret query" not in body, (name, url)
            assert adas_library["tag"].feed_token not in body and adas_library["search"].feed_token not in body, (name, url)
            if any(str(x) in url for x in (adas_library["tag"].pk, adas_library["search"].pk)) and name not in ("save", "remove", "edit"):
                assert response.status_code == 404, (name, url, response.status_code)
    # Ada's library is exactly as it was; Bob's "save" and "remove" touched only his own library.
    saved = SavedPaper.objects.get(user=ada)
    assert saved.note == SECRET_NOTE and [t.name for t in saved.tags.all()] == ["secret-tag"]
    tag = Tag.objects.get(user=ada)
    assert tag.name == "secret-tag" and tag.feed_token == adas_library["tag"].feed_token
    search = SavedSearch.objects.get(user=ada)
    assert search.query == "ada's secret query" and search.digest == "daily" and search.feed_token == adas_library["search"].feed_token
    assert ada.library_api_tokens.count() == 1
    assert not Tag.objects.filter(user=bob).exclude(name="secret-tag").exists()  # Bob's own tag of that name is his


def test_recommendations_come_only_from_the_readers_own_library(bob_client: Client, adas_library: dict[str, Any]) -> None:
    body = bob_client.get("/library/recommendations").content.decode()
    assert "Save a few papers" in body  # Bob has nothing saved: nothing is recommended from Ada's papers
    assert bob_client.get("/library/recommendations", {"tag": adas_library["tag"].pk}).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, adas_library: dict[str, Any]) -> None:
    for name, calls in _routes(adas_library).items():
        for method, url, data in calls:
            response = getattr(client, method)(url, data)
            if name in ("unsubscribe",):
                assert response.status_code == 400
            elif name in ("search_feed", "tag_feed"):
                assert response.status_code == 404
            else:
                assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), (name, url)
