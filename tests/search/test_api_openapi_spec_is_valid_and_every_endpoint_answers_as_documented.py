"""/api/openapi.json is valid OpenAPI 3, and every documented answer of every endpoint happens,
with a body that matches its documented schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from papers.services import papers_set_hidden

Call = Callable[[Client, dict[str, int]], Any]
QUERY = "reward models for aligning language models with human preferences"


def _get(url: str, **params: object) -> Call:
    return lambda client, ids: client.get(url.format(**ids), params)


def _post(url: str, body: dict[str, object]) -> Call:
    return lambda client, ids: client.post(url, body, content_type="application/json")


# One request for every (path, method, status) the spec documents. A newly documented answer
# without a request here fails the coverage test below.
CALLS: dict[tuple[str, str, str], Call] = {
    ("/api/search", "get", "200"): _get("/api/search", q=QUERY, year_from=2025, category="cs.CL", sort="newest", page_size=5),
    ("/api/search", "get", "400"): _get("/api/search", q="attention", year_from=2026, year_to=2020),
    ("/api/search", "get", "422"): _get("/api/search", q="attention", page_size=1000),
    ("/api/search", "get", "503"): None,  # type: ignore[dict-item]  # needs an empty index: see its own test
    ("/api/papers/{paper_id}", "get", "200"): _get("/api/papers/{paper}"),
    ("/api/papers/{paper_id}", "get", "404"): _get("/api/papers/{hidden}"),
    ("/api/papers/{paper_id}/related", "get", "200"): _get("/api/papers/{paper}/related", k=5, sort="newest"),
    ("/api/papers/{paper_id}/related", "get", "400"): _get("/api/papers/{paper}/related", year_from=2026, year_to=2025),
    ("/api/papers/{paper_id}/related", "get", "404"): _get("/api/papers/999999/related"),
    ("/api/papers/{paper_id}/related", "get", "422"): _get("/api/papers/{paper}/related", k=0),
    ("/api/similar", "post", "200"): _post("/api/similar", {"text": QUERY, "k": 3}),
    ("/api/similar", "post", "400"): _post("/api/similar", {"text": QUERY, "arxiv_id": "2509.24159"}),
    ("/api/similar", "post", "404"): _post("/api/similar", {"arxiv_id": "2401.99999"}),
    ("/api/similar", "post", "422"): _post("/api/similar", {"text": QUERY, "k": "many"}),
    ("/api/similar", "post", "503"): None,  # type: ignore[dict-item]
    ("/api/papers/{paper_id}/related", "get", "503"): None,  # type: ignore[dict-item]
    ("/api/index/status", "get", "200"): _get("/api/index/status"),
}


def _documented(spec: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (path, method, status)
        for path, operations in spec["paths"].items()
        if not path.startswith(LIBRARY)
        for method, operation in operations.items()
        for status in operation["responses"]
    }


# The signed-in library routes are exercised with their own readers and tokens in
# tests/library/test_library_api_is_private_documented_and_shaped_like_search.py.
LIBRARY = "/api/library/"


def _body_validator(spec: dict[str, Any], path: str, method: str, status: str) -> Draft202012Validator:
    registry: Registry = Registry().with_resource("urn:spec", Resource.from_contents(spec, default_specification=DRAFT202012))
    pointer = "/".join(part.replace("~", "~0").replace("/", "~1") for part in ("paths", path, method, "responses", status, "content", "application/json", "schema"))
    return Draft202012Validator({"$ref": f"urn:spec#/{pointer}"}, registry=registry)


@pytest.fixture
def spec(client: Client, db: None) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_the_spec_is_valid_openapi_3(spec: dict[str, Any]) -> None:
    validate(spec)  # raises on any violation

    assert spec["openapi"].startswith("3.")
    assert {p for p in spec["paths"] if not p.startswith(LIBRARY)} == {"/api/search", "/api/papers/{paper_id}", "/api/papers/{paper_id}/related", "/api/similar", "/api/index/status"}


def test_every_documented_answer_has_a_request_here(spec: dict[str, Any]) -> None:
    assert _documented(spec) == set(CALLS)


@pytest.mark.django_db
def test_every_endpoint_answers_as_documented(client: Client, spec: dict[str, Any], reader_collection: dict[str, int]) -> None:
    ids = {"paper": reader_collection["2602.06795"], "hidden": reader_collection["2503.19523"]}
    papers_set_hidden(paper_ids=[ids["hidden"]], hidden=True)

    for (path, method, status), call in CALLS.items():
        if call is None:
            continue
        response = call(client, ids)
        assert str(response.status_code) == status, (path, method, response.content[:300])
        assert response["Content-Type"].startswith("application/json")
        errors = list(_body_validator(spec, path, method, status).iter_errors(response.json()))
        assert not errors, (path, method, status, [e.message for e in errors])
        if status == "200" and "results" in response.json():
            assert response.json()["results"], (path, method)  # a real answer, not an empty list


@pytest.mark.django_db
def test_search_and_similar_answer_503_as_documented_before_any_index_exists(client: Client, spec: dict[str, Any], paper_factory) -> None:  # type: ignore[no-untyped-def]
    paper = paper_factory(title="Attention is all you need")

    for path, method, response in [
        ("/api/search", "get", client.get("/api/search", {"q": "attention"})),
        ("/api/similar", "post", client.post("/api/similar", {"text": "attention"}, content_type="application/json")),
        ("/api/papers/{paper_id}/related", "get", client.get(f"/api/papers/{paper.pk}/related")),
    ]:
        assert response.status_code == 503
        assert not list(_body_validator(spec, path, method, "503").iter_errors(response.json()))
        assert "not been built yet" in response.json()["detail"]
        assert int(response["Retry-After"]) > 0
