"""Fixtures for the curation (admin) tests: staff users with exactly the permissions named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client


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
