"""Changing a filter or the order updates the results at once."""

from __future__ import annotations

from playwright.sync_api import Page, expect

QUERY = "reward models for aligning language models with human preferences"
RESULTS = "#results ol.results > li"


def test_a_year_filter_and_newest_first(page: Page, reader_collection: dict[str, int]) -> None:
    page.goto(f"/search?q={QUERY}")
    expect(page.locator(RESULTS)).to_have_count(10)
    page.evaluate("window.stillTheSamePage = true")

    page.locator("#year_from").fill("2026")
    page.locator("#year_from").press("Tab")  # a change event: filters apply at once

    expect(page.locator(RESULTS)).to_have_count(2)
    titles = page.locator(f"{RESULTS} .result-title").all_inner_texts()
    assert sorted(titles) == ["Generating Data-Driven Reasoning Rubrics for Domain-Adaptive Reward Modeling", "Open Problems in Constitutional Preference Reconstruction"]
    assert "year_from=2026" in page.url

    page.locator("#sort").select_option("newest")

    expect(page.locator(f"{RESULTS} .result-title").first).to_have_text("Open Problems in Constitutional Preference Reconstruction")
    assert "sort=newest" in page.url
    assert page.evaluate("window.stillTheSamePage") is True


def test_a_category_tag_narrows_to_that_category(page: Page) -> None:
    page.goto(f"/search?q={QUERY}&year_from=2025")
    expect(page.locator(RESULTS)).to_have_count(6)

    page.locator(f"{RESULTS} a.tag", has_text="cs.CV").first.click()

    expect(page.locator(RESULTS)).to_have_count(2)
    expect(page.locator("#category")).to_have_value("cs.CV")
