"""/api/docs renders Swagger UI from this site's own files, under the site's CSP."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def test_the_interactive_docs_list_every_endpoint(page: Page) -> None:
    page.goto("/api/docs")

    operations = page.locator(".swagger-ui .opblock-summary-path")
    spec = page.request.get("/api/openapi.json").json()
    methods = {"get", "post", "put", "patch", "delete", "head"}
    operations_in_spec = [(path, m) for path, item in spec["paths"].items() for m in item if m in methods]
    expect(operations).to_have_count(len(operations_in_spec))  # one block per operation, none missing
    shown = {p.replace("\u200b", "") for p in operations.all_inner_texts()}
    assert shown == set(spec["paths"])
    assert {
        "/api/index/status",
        "/api/papers/{paper_id}",
        "/api/papers/{paper_id}/related",
        "/api/search",
        "/api/similar",
    } <= shown
