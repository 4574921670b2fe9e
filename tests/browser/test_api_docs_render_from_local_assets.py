"""/api/docs renders Swagger UI from this site's own files, under the site's CSP."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def test_the_interactive_docs_list_every_endpoint(page: Page) -> None:
    page.goto("/api/docs")

    operations = page.locator(".swagger-ui .opblock-summary-path")
    expect(operations).to_have_count(5)
    paths = sorted(operations.all_inner_texts())
    assert [p.replace("\u200b", "") for p in paths] == [
        "/api/index/status",
        "/api/papers/{paper_id}",
        "/api/papers/{paper_id}/related",
        "/api/search",
        "/api/similar",
    ]
