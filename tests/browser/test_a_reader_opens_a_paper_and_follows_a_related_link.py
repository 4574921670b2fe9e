"""From a result to its paper page: BibTeX copy, related papers sorted, a related paper opened."""

from __future__ import annotations

from playwright.sync_api import Page, expect

QUERY = "GenPRM generative process reward models"


def test_open_a_paper_copy_its_bibtex_and_follow_a_related_link(page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/search?q={QUERY}")

    page.locator("#results .result-title a").first.click()

    expect(page.locator("h1")).to_have_text("GenPRM: Scaling Test-Time Compute of Process Reward Models via Generative Reasoning")
    expect(page.locator(".facts")).to_contain_text("2 April 2025")
    expect(page.get_by_role("link", name="PDF")).to_have_attribute("href", "https://arxiv.org/pdf/2504.00891")

    page.get_by_role("button", name="Copy BibTeX").click()
    expect(page.locator(".copy-status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()").startswith("@misc{zhao2025genprm,")

    related = page.locator("#related-list ol.results > li")
    expect(related).to_have_count(10)
    page.locator("#related-sort").select_option("newest")
    # The ten most similar, newest first: the only 2026 paper among them leads.
    expect(page.locator("#related-list .result-title").first).to_have_text("Generating Data-Driven Reasoning Rubrics for Domain-Adaptive Reward Modeling")
    dates = [d for d in page.locator("#related-list time").evaluate_all("els => els.map(e => e.dateTime)")]
    assert dates and dates == sorted(dates, reverse=True)
    assert "sort=newest" in page.url

    target = page.locator("#related-list .result-title a").nth(1)
    title = target.inner_text()
    target.click()

    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator("#related-list ol.results > li")).to_have_count(10)


def test_search_papers_like_this_one(page: Page) -> None:
    page.goto("/search?q=GenPRM")
    page.locator("#results .result-title a").first.click()
    expect(page.locator("h1")).to_contain_text("GenPRM")

    page.get_by_role("link", name="Search papers like this one").click()

    expect(page.locator("#results .result-title").first).to_contain_text("GenPRM")
    assert page.locator("#q").input_value().startswith("GenPRM: Scaling Test-Time Compute")
