"""/api/library/...: session or personal-token auth, CRUD of saved papers and saved searches, recommendations
with /api/search's item shape; another reader's ids are 404 on every route; all of it in the OpenAPI spec."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from library.models import SavedPaper, SavedSearch
from library.services import api_token_create, saved_paper_add, saved_search_create

pytestmark = pytest.mark.django_db


def _bearer(user: Any) -> dict[str, str]:
    token, _ = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _json(client: Client, method: str, url: str, body: Any = None, **headers: str) -> Any:
    kwargs: dict[str, Any] = {"content_type": "application/json", **headers}
    if body is not None:
        kwargs["data"] = json.dumps(body)
    return getattr(client, method)(url, **kwargs)


def test_a_token_reader_saves_tags_lists_and_removes(ada: Any, reader_collection: dict[str, int]) -> None:
    auth, client, pid = _bearer(ada), Client(), reader_collection["2503.19523"]
    created = _json(client, "post", "/api/library/papers", {"paper_id": pid, "tags": ["agents", "To read"], "note": "n"}, **auth)
    assert created.status_code == 201 and created.json()["tags"] == ["To read", "agents"]
    assert _json(client, "post", "/api/library/papers", {"paper_id": pid}, **auth).status_code == 200  # again: no-op
    listed = _json(client, "get", "/api/library/papers?tag=agents", **auth).json()
    assert [row["paper_id"] for row in listed] == [pid]
    patched = _json(client, "patch", f"/api/library/papers/{pid}", {"tags": ["only"]}, **auth).json()
    assert patched["tags"] == ["only"] and patched["note"] == "n"
    assert _json(client, "get", "/api/library/tags", **auth).json()[0]["papers"] in (0, 1)
    assert _json(client, "delete", f"/api/library/papers/{pid}", **auth).status_code == 204
    assert _json(client, "delete", f"/api/library/papers/{pid}", **auth).status_code == 404
    assert _json(client, "post", "/api/library/papers", {"paper_id": 10**9}, **auth).status_code == 404
    bad = _json(client, "post", "/api/library/papers", {"paper_id": pid, "tags": ["x" * 65]}, **auth)
    assert bad.status_code == 400 and "64 characters" in bad.json()["detail"]


def test_recommendations_have_the_search_item_shape(ada: Any, reader_collection: dict[str, int]) -> None:
    auth, client = _bearer(ada), Client()
    saved_paper_add(user=ada, paper_id=reader_collection["2503.19523"], tags=["t"])
    found = _json(client, "get", "/api/search?q=reward+models+for+aligning+language+models+with+human+preferences", **auth)
    search_item = found.json()["results"][0]
    body = _json(client, "get", "/api/library/recommendations?k=5&tag=t", **auth).json()
    assert body["method"] == "ridge+bm25" and len(body["results"]) == 5
    item = body["results"][0]
    assert set(search_item) <= set(item) and item["closest_saved"][0]["paper_id"] == reader_collection["2503.19523"]
    assert _json(client, "get", "/api/library/recommendations?tag=nope", **auth).status_code == 404


def test_saved_searches_crud(ada: Any) -> None:
    auth, client = _bearer(ada), Client()
    made = _json(client, "post", "/api/library/searches", {"query": "graph neural networks", "digest": "weekly", "categories": ["cs.LG"]}, **auth)
    assert made.status_code == 201 and made.json()["feed_url"].startswith("http://testserver/library/feeds/search/")
    sid = made.json()["id"]
    assert _json(client, "patch", f"/api/library/searches/{sid}", {"floor": 0.5}, **auth).json()["floor"] == 0.5
    assert [s["id"] for s in _json(client, "get", "/api/library/searches", **auth).json()] == [sid]
    assert _json(client, "get", f"/api/library/searches/{sid}", **auth).json()["digest"] == "weekly"
    assert _json(client, "post", "/api/library/searches", {"query": "x", "digest": "hourly"}, **auth).status_code == 422
    assert _json(client, "delete", f"/api/library/searches/{sid}", **auth).status_code == 204
    assert not SavedSearch.objects.exists()


def test_no_route_reaches_another_readers_library(ada: Any, bob: Any, reader_collection: dict[str, int]) -> None:
    pid = reader_collection["2503.19523"]
    saved_paper_add(user=ada, paper_id=pid, tags=["secret"], note="private")
    search = saved_search_create(user=ada, query="ada only")
    bob_auth, client = _bearer(bob), Client()
    calls = [
        ("get", "/api/library/papers", None, 200), ("get", "/api/library/papers?tag=secret", None, 404),
        ("patch", f"/api/library/papers/{pid}", {"note": "pwned"}, 404), ("delete", f"/api/library/papers/{pid}", None, 404),
        ("get", "/api/library/tags", None, 200), ("get", "/api/library/recommendations?tag=secret", None, 404),
        ("get", "/api/library/recommendations", None, 200), ("get", "/api/library/searches", None, 200),
        ("get", f"/api/library/searches/{search.pk}", None, 404), ("patch", f"/api/library/searches/{search.pk}", {"query": "x"}, 404),
        ("delete", f"/api/library/searches/{search.pk}", None, 404),
    ]
    for method, url, body, status in calls:
        response = _json(client, method, url, body, **bob_auth)
        assert response.status_code == status, (method, url, response.status_code)
        text = response.content.decode()
        assert "private" not in text and "secret" not in text.replace("tag=secret", "") and "ada only" not in text, url
    assert _json(client, "get", "/api/library/recommendations", **bob_auth).json()["based_on"] == 0
    assert SavedPaper.objects.get(user=ada).note == "private" and SavedSearch.objects.get(pk=search.pk).query == "ada only"
    # Without credentials, or with a made-up or deleted token: 401 on every route.
    for method, url, body, _status in calls:
        assert _json(client, method, url, body).status_code == 401
        assert _json(client, method, url, body, HTTP_AUTHORIZATION="Bearer ps_madeup").status_code == 401


def test_session_auth_needs_the_csrf_token_for_writes(ada: Any, reader_collection: dict[str, int]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada, backend="django.contrib.auth.backends.ModelBackend")
    assert _json(client, "get", "/api/library/papers").status_code == 200
    response = _json(client, "post", "/api/library/papers", {"paper_id": reader_collection["2503.19523"]})
    assert response.status_code in (401, 403) and not SavedPaper.objects.exists()


def test_every_route_is_in_the_openapi_spec(client: Client) -> None:
    spec = client.get("/api/openapi.json").json()
    paths = {p for p in spec["paths"] if p.startswith("/api/library/")}
    assert paths == {"/api/library/papers", "/api/library/papers/{paper_id}", "/api/library/tags", "/api/library/recommendations",
                     "/api/library/searches", "/api/library/searches/{search_id}"}
    schemes = spec["components"]["securitySchemes"]
    assert {"TokenAuth", "SessionAuth"} <= set(schemes) and schemes["TokenAuth"]["scheme"] == "bearer"
