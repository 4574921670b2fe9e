"""Without JavaScript every page is a plain form: search, filters, related sorting, /similar."""

from __future__ import annotations

from playwright.sync_api import expect

QUERY = "reward models for aligning language models with human preferences"


def test_search_filters_paper_and_similar_without_javascript(open_page) -> None:  # type: ignore[no-untyped-def]
    page = open_page(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page.goto("/search")

    page.locator("#q").fill(QUERY)
    page.locator("#q").press("Enter")
    expect(page.locator("#results ol.results > li")).to_have_count(10)

    page.locator("#filters-box > summary").click()  # closed without JavaScript, like on a phone
    page.locator("#year_from").fill("2026")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#results ol.results > li")).to_have_count(2)
    assert "year_from=2026" in page.url

    page.locator("#results .result-title a").first.click()
    expect(page.get_by_role("button", name="Copy BibTeX")).to_be_hidden()  # it needs JavaScript
    expect(page.get_by_role("link", name="Download .bib")).to_be_visible()
    page.locator("#related-sort").select_option("newest")
    page.locator(".related-controls").get_by_role("button", name="Apply").click()
    assert "sort=newest" in page.url
    expect(page.locator("#related-list ol.results > li")).to_have_count(10)

    page.goto("/similar")
    page.locator("#text").fill("process reward models that verify each reasoning step")
    page.get_by_role("button", name="Find similar papers").click()  # a POST with its CSRF token
    expect(page.locator("#similar-results ol.results > li")).to_have_count(20)
