"""/similar: paste an abstract (or an arXiv URL) and get the papers like it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from papers.models import Paper
from tests.browser.conftest import PageProblems


def test_a_pasted_abstract_puts_its_paper_first(page: Page, reader_collection: dict[str, int]) -> None:
    paper = Paper.objects.get(pk=reader_collection["2509.24159"])
    page.goto("/similar")

    page.locator("#text").fill(paper.abstract)
    page.get_by_role("button", name="Find similar papers").click()

    expect(page.locator("#similar-results .similar-heading")).to_have_text("Papers like your text")
    expect(page.locator("#similar-results ol.results > li")).to_have_count(20)
    expect(page.locator("#similar-results .result-title").first).to_have_text(paper.title)
    expect(page.locator("#text")).to_have_value(paper.abstract)  # the text stays for another try


def test_an_arxiv_url_finds_papers_like_that_paper(page: Page) -> None:
    page.goto("/similar")

    page.locator("#text").fill("https://arxiv.org/abs/2606.30116v1")
    page.get_by_role("button", name="Find similar papers").click()

    expect(page.locator("#similar-results .similar-heading")).to_contain_text("Papers like Open Problems in Constitutional Preference Reconstruction")
    expect(page.locator("#similar-results ol.results > li")).to_have_count(20)


def test_an_unknown_arxiv_id_says_what_to_do(page: Page, page_problems: PageProblems) -> None:
    page_problems.allow("status of 400 (Bad Request)")  # refused input is a 400, shown in place
    page.goto("/similar")

    page.locator("#text").fill("2401.99999")
    page.get_by_role("button", name="Find similar papers").click()

    expect(page.get_by_role("alert")).to_contain_text("arXiv:2401.99999 is not in this collection. Paste its abstract instead")
