"""With JavaScript on, refused input (a 400) shows its message inside the page region that was
updating, styled like the rest of the page; the form stays usable for another try."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageProblems


def test_a_paste_over_the_limit_on_similar_says_so_in_place(page: Page, page_problems: PageProblems) -> None:
    page_problems.allow("status of 400 (Bad Request)")
    page.goto("/similar")

    page.locator("#text").fill("word " * 4_100)  # 20,500 characters
    page.get_by_role("button", name="Find similar papers").click()

    alert = page.locator("#similar-results [role=alert]")
    expect(alert).to_contain_text("at most 20000 characters")
    expect(page.locator("h1")).to_have_text("Find papers like…")  # the page is still there
    expect(page.locator("#text")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != ""


def test_an_unknown_arxiv_id_on_similar_says_so_in_place(page: Page, page_problems: PageProblems) -> None:
    page_problems.allow("status of 400 (Bad Request)")
    page.goto("/similar")

    page.locator("#text").fill("2401.99999")
    page.get_by_role("button", name="Find similar papers").click()

    expect(page.locator("#similar-results [role=alert]")).to_contain_text("arXiv:2401.99999 is not in this collection")
    expect(page.locator("h1")).to_have_text("Find papers like…")


def test_a_bad_year_on_the_search_page_says_so_in_the_results(page: Page, page_problems: PageProblems) -> None:
    page_problems.allow("status of 400 (Bad Request)")
    # Each changed filter starts a search that replaces the one before (hx-sync): htmx logs those.
    page_problems.allow("htmx:sendAbort")
    page_problems.allow("htmx:afterRequest")
    page.goto("/search?q=reward+models")

    page.locator("#year_from").fill("2026")
    page.locator("#year_to").fill("2020")
    page.locator("#year_to").press("Enter")

    expect(page.locator("#results [role=alert]")).to_contain_text("is after")
    expect(page.locator("#q")).to_have_value("reward models")


def test_a_server_error_in_an_htmx_region_is_reported_there(page: Page, page_problems: PageProblems) -> None:
    for logged in ("status of 500", "Response Status Error Code 500", "htmx:sendAbort", "htmx:afterRequest"):
        page_problems.allow(logged)  # what the browser and htmx log about the failed request
    page.goto("/search?q=reward+models")
    expect(page.locator("#results ol.results > li").first).to_be_visible()
    # The next region update fails on the server side.
    page.route("**/search?*", lambda route: route.fulfill(status=500, body="boom")
               if route.request.headers.get("hx-request") else route.continue_())

    page.locator("#q").fill("reward models for language")
    page.locator("#q").press("Enter")

    expect(page.locator("#results [role=alert]")).to_contain_text("could not answer this request (status 500)")
    expect(page.locator("#q")).to_have_value("reward models for language")
