"""In a real browser (Debian's Chromium) no page, the admin or /api/docs trips the Content
Security Policy: nothing inline, nothing from another origin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import launched_chromium

# Record violations from the first script on, before any page code runs.
RECORD = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
});
"""


@pytest.fixture
def chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


@pytest.mark.browser
@pytest.mark.slow
def test_pages_admin_and_api_docs_raise_no_csp_violation(chromium: Any, live_server: Any, listing_index: list[int], django_user_model: Any) -> None:
    django_user_model.objects.create_superuser("admin", "admin@example.org", "a-long-test-password-1")
    context = chromium.new_context(base_url=live_server.url)
    context.add_init_script(RECORD)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and console.append(f"{msg.text} @ {page.url}"))
    violations: list[str] = []

    def visit(path: str) -> None:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        violations.extend(f"{path}: {v}" for v in page.evaluate("window.__csp"))

    visit("/")
    visit("/search?q=language+model+reasoning")
    # htmx live search: typing swaps results in (htmx's own code path, and its injected styles).
    page.fill("#q", "diffusion image generation")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(700)
    violations.extend(f"/search (htmx): {v}" for v in page.evaluate("window.__csp"))
    visit(f"/papers/{listing_index[0]}/")
    visit("/similar")
    visit("/api/docs")
    assert page.locator(".swagger-ui").count() > 0, "Swagger UI did not render under the policy"
    visit("/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "a-long-test-password-1")
    page.click("input[type=submit]")
    page.wait_for_load_state("networkidle")
    violations.extend(f"/admin/: {v}" for v in page.evaluate("window.__csp"))
    visit("/admin/papers/paper/")
    # The recorder works: an inline <style> injected now is blocked and reported.
    seen = len(console)
    page.evaluate("() => { const s = document.createElement('style'); s.textContent = 'body{}'; document.head.append(s); }")
    page.wait_for_timeout(300)
    assert any("style-src" in v for v in page.evaluate("window.__csp"))
    del console[seen:]
    context.close()
    assert violations == [] and console == []
