"""Screenshots (desktop and phone, light and dark) of the pages issue 17 added or changed: home, a search
naming a paper, a corrected search with the filters open, a search with no match, an author
page and a browse page. None scrolls sideways on a phone; every control has a label."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, MOBILE, screenshot
from tests.browser.test_screenshots_and_layout_on_desktop_and_phone import _check


def _visit_all(page: Page, name: str) -> None:
    page.goto("/")
    expect(page.locator("#q")).to_have_attribute("enterkeyhint", "search")
    _check(page)
    screenshot(page, f"home-{name}")

    page.goto("/search?q=2504.00891")
    expect(page.locator("#results .named-label").first).to_have_text("The arXiv id you entered")
    _check(page)
    screenshot(page, f"search-named-{name}")

    page.goto("/search?q=generativ+proces+rewrad+modles&year_from=2025&year_to=2026")
    expect(page.locator("#results .correction")).to_contain_text("Showing results for")
    year = page.locator("#year_from")
    # "2025" fits its box: the text is not wider than the room inside the field.
    assert year.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert page.locator("#q").get_attribute("enterkeyhint") == "search"
    _check(page)
    screenshot(page, f"search-corrected-{name}")

    page.goto("/search?q=zzqxj+flurbleglorp")
    expect(page.locator("#results .no-match")).to_contain_text("No papers matched")
    _check(page)
    screenshot(page, f"search-no-match-{name}")

    page.goto("/authors/Jian Zhao/")
    expect(page.locator("h1")).to_have_text("Jian Zhao")
    _check(page)
    screenshot(page, f"author-{name}")

    page.goto("/browse/cs.CL")
    expect(page.locator("h1")).to_have_text("cs.CL")
    _check(page)
    screenshot(page, f"browse-{name}")


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("desktop", DESKTOP),
        ("mobile", MOBILE),
        ("desktop-dark", {**DESKTOP, "color_scheme": "dark"}),
        ("mobile-dark", {**MOBILE, "color_scheme": "dark"}),
    ],
)
def test_issue_17_pages_on_a_desktop_and_a_phone(open_page, reader_collection: dict[str, int], name: str, options: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    page = open_page(**options)
    _visit_all(page, name)
