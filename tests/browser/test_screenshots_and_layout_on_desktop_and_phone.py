"""Screenshots of the search page, a paper page and /similar on a desktop and a phone (light and
dark), saved to test-artifacts/screenshots/; the phone layout never scrolls sideways, and every
form control has a label and every page its landmarks."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, MOBILE, screenshot

QUERY = "reward models for aligning language models with human preferences"

UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
  .map(el => el.outerHTML.slice(0, 80))"""
LANDMARKS = "() => ['header', 'main', 'footer', 'nav', '[role=search], form'].filter(s => !document.querySelector(s))"
SIDEWAYS = "() => document.documentElement.scrollWidth - window.innerWidth"


def _visit_all(page: Page, paper_id: int, abstract: str, name: str) -> None:
    page.goto(f"/search?q={QUERY}")
    expect(page.locator("#results ol.results > li")).to_have_count(10)
    _check(page)
    screenshot(page, f"search-{name}")

    page.goto(f"/papers/{paper_id}/")
    expect(page.locator("#related-list ol.results > li")).to_have_count(10)
    _check(page)
    screenshot(page, f"paper-{name}")

    page.goto("/similar")
    page.locator("#text").fill(abstract)
    page.get_by_role("button", name="Find similar papers").click()
    expect(page.locator("#similar-results ol.results > li")).to_have_count(20)
    _check(page)
    screenshot(page, f"similar-{name}")


def _check(page: Page) -> None:
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(LANDMARKS) == []
    assert page.evaluate(SIDEWAYS) <= 0


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("desktop", DESKTOP),
        ("mobile", MOBILE),
        ("desktop-dark", {**DESKTOP, "color_scheme": "dark"}),
        ("mobile-dark", {**MOBILE, "color_scheme": "dark"}),
    ],
)
def test_pages_on_a_desktop_and_a_phone(open_page, reader_collection: dict[str, int], name: str, options: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    from papers.models import Paper

    paper = Paper.objects.get(pk=reader_collection["2602.06795"])
    page = open_page(**options)

    _visit_all(page, paper.pk, Paper.objects.get(pk=reader_collection["2509.24159"]).abstract, name)

    if "dark" in name:  # the page follows the system setting
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(17, 20, 24)"
