"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Never `playwright install`: the browser is the system package at /usr/bin/chromium. Every page
fixture fails its test on a console error, an uncaught exception, or a request that leaves the
live server (no CDN, nothing external).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import launched_chromium

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
MOBILE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    with launched_chromium() as chromium:
        yield chromium


class PageProblems:
    """What went wrong in a page while a test drove it."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.console: list[str] = []
        self.external: list[str] = []
        self.allowed: list[str] = []

    def allow(self, fragment: str) -> None:
        """Expect console errors containing ``fragment`` (e.g. the 400 of a refused input)."""
        self.allowed.append(fragment)

    def unexpected(self) -> list[str]:
        return [line for line in self.console if not any(f in line for f in self.allowed)]

    def watch(self, page: object) -> None:
        page.on("console", lambda msg: msg.type == "error" and self.console.append(f"{msg.text} @ {page.url}"))  # type: ignore[attr-defined]
        page.on("pageerror", lambda exc: self.console.append(f"uncaught: {exc}"))  # type: ignore[attr-defined]
        page.on("request", self._request)  # type: ignore[attr-defined]

    def _request(self, request: object) -> None:
        url = request.url  # type: ignore[attr-defined]
        if urlsplit(url).scheme in ("data", "blob", "about"):
            return
        if not url.startswith(self.origin):
            self.external.append(url)


def _open_context(browser: object, live_server: object, problems: PageProblems, **options: object) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url, **options)  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems.watch(page)
    yield page
    context.close()
    assert not problems.unexpected(), problems.unexpected()
    assert not problems.external, problems.external


@pytest.fixture
def page_problems(live_server: object) -> PageProblems:
    return PageProblems(live_server.url)  # type: ignore[attr-defined]


@pytest.fixture
def page(browser: object, live_server: object, reader_collection: dict[str, int], page_problems: PageProblems) -> Iterator[object]:
    """A desktop page on the live server over the listing plus six dated arXiv papers."""
    yield from _open_context(browser, live_server, page_problems, **DESKTOP)


@pytest.fixture
def open_page(browser: object, live_server: object, reader_collection: dict[str, int]):  # type: ignore[no-untyped-def]
    """Opens more pages with other options (mobile, dark, no JavaScript), each checked the same way."""
    contexts: list[Iterator[object]] = []

    def make(**options: object) -> object:
        problems = PageProblems(live_server.url)  # type: ignore[attr-defined]
        gen = _open_context(browser, live_server, problems, **options)
        contexts.append(gen)
        return next(gen)

    yield make
    for gen in contexts:
        for _ in gen:  # runs the teardown (and its assertions)
            pass


def screenshot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
