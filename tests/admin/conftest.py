"""Fixtures for the curation (admin) tests: staff users with exactly the permissions named."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from tests.conftest import launched_chromium


@pytest.fixture
def staff_client(db: None) -> Callable[..., Client]:
    """``staff_client("papers.change_paper", ...)``: a logged-in staff user with only those permissions."""
    counter = iter(range(1, 1000))

    def make(*perms: str) -> Client:
        user = User.objects.create_user(f"curator{next(counter)}", password="x", is_staff=True)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        client = Client()
        client.force_login(user)
        return client

    return make


def change_form_data(response: Any) -> dict[str, Any]:
    """The POST data an unchanged admin change form would send (main form and inlines)."""
    data: dict[str, Any] = {}

    def add(form: Any) -> None:
        for name in form.fields:
            value = form[name].value()  # already as the widget renders it
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for form in formset.forms:
            add(form)
    return data


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """The category filter caches its choices; each test starts without them."""
    from django.core.cache import cache

    cache.clear()


# --- browser (Playwright driving Debian's Chromium; never `playwright install`) ---------------

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def admin_page(chromium: Any, live_server: Any) -> Iterator[tuple[Any, list[str]]]:
    """A desktop page on the live server and the console errors it logs (CSP violations included)."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(f"{msg.text} @ {page.url}"))
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    yield page, errors
    context.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"admin-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
