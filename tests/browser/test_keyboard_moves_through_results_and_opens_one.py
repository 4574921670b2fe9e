"""Keyboard: "/" focuses the search box, j/k move through results, Enter opens one."""

from __future__ import annotations

from playwright.sync_api import Page, expect

QUERY = "reward models for aligning language models with human preferences"


def test_slash_j_k_and_enter(page: Page) -> None:
    page.goto(f"/search?q={QUERY}")
    titles = page.locator("#results .result-title a")
    expect(titles).to_have_count(10)
    page.locator("body").click(position={"x": 5, "y": 300})  # nothing focused

    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()

    page.keyboard.press("Escape")
    page.keyboard.press("j")
    expect(titles.nth(0)).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(titles.nth(2)).to_be_focused()
    expect(page.locator("#results ol.results > li.current")).to_have_count(1)
    page.keyboard.press("k")
    expect(titles.nth(1)).to_be_focused()
    second = titles.nth(1).inner_text()

    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text(second)
    page.wait_for_load_state()  # the keyboard script is deferred: wait until it has run
    page.keyboard.press("/")
    expect(page.locator("#header-q")).to_be_focused()  # every page has a search box for "/"


def test_the_down_arrow_leaves_the_search_box_for_the_first_result(page: Page) -> None:
    page.goto("/search")
    page.locator("#q").press_sequentially("process reward", delay=20)
    expect(page.locator("#results .result-title a")).to_have_count(10)

    page.locator("#q").press("ArrowDown")

    expect(page.locator("#results .result-title a").first).to_be_focused()


def test_tab_order_goes_from_the_search_box_through_the_filters_to_the_results(page: Page) -> None:
    page.goto(f"/search?q={QUERY}")
    page.locator("#q").focus()

    order = []
    for _ in range(10):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim().slice(0, 20)"))

    assert order[:10] == ["Search", "Filters and sort", "year_from", "year_to", "category", "author", "sort", "mode", "weight", "Apply"]
