"""Typing in the search box updates the results in place (htmx), and the URL follows."""

from __future__ import annotations

from playwright.sync_api import Page, expect

RESULTS = "#results ol.results > li"


def test_results_appear_and_change_as_you_type(page: Page) -> None:
    page.goto("/search")
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("#results")).to_contain_text("Search by meaning")

    page.locator("#q").press_sequentially("process reward models", delay=20)

    expect(page.locator(RESULTS)).to_have_count(10)
    expect(page.locator("#results .summary")).to_contain_text("results")
    expect(page.locator("#results .summary")).to_contain_text("ms")
    expect(page.locator(f"{RESULTS} mark").first).to_be_visible()
    expect(page.locator(f"{RESULTS} .why").first).to_contain_text("Why:")
    assert "q=process+reward+models" in page.url
    first = page.locator(f"{RESULTS} .result-title").first.inner_text()

    page.locator("#q").fill("")
    page.locator("#q").press_sequentially("video generation with diffusion", delay=20)

    expect(page.locator(f"{RESULTS} .result-title").first).not_to_have_text(first)
    assert "q=video+generation+with+diffusion" in page.url
    assert page.evaluate("window.stillTheSamePage") is True  # no full page load happened
    expect(page).to_have_title("video generation with diffusion · Search · Paperscope")
