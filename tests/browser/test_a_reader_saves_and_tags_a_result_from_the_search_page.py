"""In Chromium: a reader signs in, saves a search result and tags it in place (htmx, no page load),
finds it on their library's tag page, and the same works with JavaScript off. Screenshots under
test-artifacts/screenshots/library-*.png."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, screenshot
from tests.library.conftest import PASSWORD, ada, make_reader  # noqa: F401 - reader fixtures

QUERY = "GenPRM generative process reward models"


def _sign_in(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator("h1")).to_have_text("Your library")


def test_save_and_tag_from_the_results_then_find_it_by_tag(page: Page, ada: Any) -> None:  # noqa: F811
    _sign_in(page)
    page.goto(f"/search?q={QUERY}")
    first = page.locator("#results .result").first
    title = first.locator(".result-title").inner_text()
    page.evaluate("window.__noReload = true")

    first.get_by_role("button", name=f"Save “{title[:59]}").click() if len(title) <= 60 else first.locator(".save-button").click()
    control = first.locator(".save-control")
    expect(control.locator(".saved-mark")).to_have_text("Saved")
    control.locator("input[name=tags]").fill("reward models, to read")
    control.get_by_role("button", name="Tag").click()
    expect(control.locator(".library-tag")).to_have_text(["reward models", "to read"])
    assert page.evaluate("window.__noReload === true")  # swapped in place, no page load
    screenshot(page, "library-search-saved-and-tagged")

    page.get_by_role("link", name="Library").click()
    page.get_by_role("link", name="reward models").first.click()
    expect(page.locator("h1")).to_have_text("Tag: reward models")
    expect(page.locator(".library-main .result-title")).to_have_text([title])
    screenshot(page, "library-tag-page")

    # Remove it again from the tag page's control.
    page.locator(".library-main .save-control").get_by_role("button", name="Remove").click()
    expect(page.locator(".library-main .save-control .save-button")).to_be_visible()


def test_saving_works_with_javascript_off(open_page: Any, ada: Any) -> None:  # noqa: F811
    page = open_page(java_script_enabled=False, **DESKTOP)
    _sign_in(page)
    page.goto(f"/search?q={QUERY}")
    first = page.locator("#results .result").first
    first.locator(".save-button").click()
    expect(page).to_have_url(re.compile(r"/search\?q=GenPRM"))  # back on the results it was saved from
    expect(page.locator(".messages")).to_contain_text("Saved to your library.")
    page.locator("#results .result").first.locator("input[name=tags]").fill("offline")
    page.locator("#results .result").first.get_by_role("button", name="Tag").click()
    expect(page.locator("#results .result").first.locator(".library-tag")).to_have_text(["offline"])
    screenshot(page, "library-search-saved-without-javascript")
