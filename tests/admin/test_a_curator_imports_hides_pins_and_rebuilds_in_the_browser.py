"""A curator in a real browser: imports a file with a bad line, hides a paper, pins a related
paper, rebuilds the index from the dashboard, and merges a duplicate from the review queue. Debian Chromium through Playwright, against
the live server over the real model and FAISS build of the listing. Screenshots go to
test-artifacts/screenshots/admin-*.png.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from papers.models import ImportJob, Paper, RelatedLink
from search.index_store import current_build_id
from tests.admin.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UPLOAD = "\n".join([
    json.dumps({"title": "Retrieval heads in long-context language models", "abstract": "We find attention heads that copy from far context.", "arxiv_id": "2404.15574"}),
    '{"title": "A line cut short by a bad export", "abstract": ',
    json.dumps({"title": "Speculative decoding with draft trees", "abstract": "Tree-structured drafts speed up decoding.", "doi": "10.1234/spec"}),
]) + "\n"


def test_a_curator_imports_hides_pins_and_rebuilds(admin_page: tuple[Any, list[str]], listing_index: list[int], tmp_path: Any) -> None:
    page, console_errors = admin_page
    User.objects.create_superuser("curator", "curator@example.org", "a long curator password")

    page.goto("/admin/login/")
    page.fill("#id_username", "curator")
    page.fill("#id_password", "a long curator password")
    page.click("input[type=submit]")
    assert page.locator("#paperscope-shortcuts").is_visible()
    screenshot(page, "home")

    # 1. Import a file with a bad line: the job page lists the rejected line and why.
    upload = tmp_path / "new-papers.jsonl"
    upload.write_text(UPLOAD, encoding="utf-8")
    page.click("text=Import papers from a file")
    page.set_input_files("#id_file", str(upload))
    page.click("text=Upload and import")
    page.wait_for_selector("#rejected-lines")
    assert page.locator("#import-status").inner_text().strip().startswith("done")
    counts = page.locator("#import-counts").inner_text()
    assert "2\nCREATED" in counts.upper() and "1\nREJECTED" in counts.upper()
    assert "new-papers.jsonl:2" in page.locator("#rejected-lines").inner_text()
    job = ImportJob.objects.get()
    assert job.errors[0]["reason"] in page.locator("#rejected-lines").inner_text()
    screenshot(page, "import")

    # 2. Hide a paper from the papers list; the reader's page for it is gone at once.
    target = Paper.objects.get(title="Grammar-Aligned Decoding")
    page.goto("/admin/papers/paper/?q=Grammar-Aligned")
    page.check(f"input[name=_selected_action][value='{target.pk}']")
    page.select_option("select[name=action]", "hide")
    page.click("button[name=index]")
    assert "1 paper(s) hidden." in page.locator("ul.messagelist").inner_text()
    screenshot(page, "hide")
    assert Paper.objects.get(pk=target.pk).hidden
    reader = page.context.new_page()
    assert reader.goto(f"/papers/{target.pk}/").status == 404
    reader.goto("/search?q=grammar+aligned+decoding")
    assert "Grammar-Aligned Decoding" not in reader.locator("main").inner_text()

    # 3. Pin a related paper through the inline, with the autocomplete picker.
    paper = Paper.objects.get(title__startswith="Transformers Can Do Bayesian Inference")
    pinned = Paper.objects.get(title__startswith="Planck 2018 results. V.")
    page.goto(f"/admin/papers/paper/{paper.pk}/change/")
    row = page.locator("#related_links-0")
    row.locator("select[name='related_links-0-kind']").select_option("pin")
    row.locator(".select2-selection").click()
    page.locator(".select2-search__field").fill("Planck 2018")
    page.locator(".select2-results__option", has_text="Planck 2018 results. V.").click()
    row.locator("input[name='related_links-0-position']").fill("1")
    screenshot(page, "pin-form")
    page.click("input[name=_continue]")
    assert "was changed successfully" in page.locator("ul.messagelist").inner_text()
    assert RelatedLink.objects.filter(paper=paper, related=pinned, kind="pin").exists()
    screenshot(page, "pin")
    reader.goto(f"/papers/{paper.pk}/")
    first_related = reader.locator("#related-list .result-title, .related .result-title").first.inner_text()
    assert first_related.startswith("Planck 2018 results. V.")
    reader.locator("#related-h").scroll_into_view_if_needed()
    screenshot(reader, "pin-paper-page")
    reader.close()

    # 4. The dashboard: with tasks in-process the hide and the import already rebuilt the index,
    #    so it is in step; the rebuild button still publishes a fresh full build.
    page.goto("/admin/")
    page.click("text=Index dashboard")
    counts = " ".join(page.locator("#index-counts").inner_text().split())
    assert "63 PAPERS 62 visible · 1 hidden · 0 merged" in counts.replace("papers", "PAPERS")
    assert page.locator("#drift").inner_text().startswith("None")
    before = current_build_id()
    page.click("#rebuild-button")
    assert "Published index build" in page.locator("ul.messagelist").inner_text()
    assert current_build_id() != before
    assert page.locator("#drift").inner_text().startswith("None")
    assert "serving" in page.locator("#build-history").inner_text()
    screenshot(page, "dashboard")

    # 5. The duplicate queue: a near-identical record is proposed, compared and merged.
    original = Paper.objects.get(title__startswith="Calibrated Language Models Must Hallucinate")
    copy = Paper.objects.create(title="Calibrated language models must hallucinate.", abstract=original.abstract[:300],
                                arxiv_id="2311.14648", authors=["Adam Tauman Kalai", "Santosh S. Vempala"])
    page.goto("/admin/papers/duplicatecandidate/")
    page.click("text=Find duplicates now")
    assert "Scan finished" in page.locator("ul.messagelist").inner_text()
    screenshot(page, "duplicates")
    page.locator("tr", has_text="Calibrated language models must hallucinate.").get_by_role("link", name=re.compile(r"Compare\W+merge")).click()
    assert page.locator(f"input[name=keep][value='{original.pk}']").is_checked()
    screenshot(page, "merge")
    page.click("text=Yes, merge")
    assert f"Merged #{copy.pk} into #{original.pk}" in page.locator("ul.messagelist").inner_text()
    assert page.goto(f"/papers/{copy.pk}/").url.endswith(f"/papers/{original.pk}/")

    assert not console_errors, console_errors
