"""Sign-up, email verification and password reset with allauth, the emails going over SMTP to a
local aiosmtpd server; SIGNUP_OPEN=False closes sign-up; an unverified reader cannot sign in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.library.conftest import Mailbox, body_text

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "another long passphrase 42"  # noqa: S105 - test only


def _link(message: Any) -> str:
    match = re.search(r"http://testserver(/accounts/\S+)", body_text(message))
    assert match, body_text(message)
    return match.group(1)


def test_sign_up_verify_sign_in_and_reset(smtp_server: Mailbox) -> None:
    client = Client()
    response = client.post("/accounts/signup/", {"email": "eve@example.org", "password1": "a long passphrase 1", "password2": "a long passphrase 1"})
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert len(smtp_server.messages) == 1 and smtp_server.messages[0]["To"] == "eve@example.org"
    # Not verified yet: signing in sends another verification email instead of a session.
    other = Client()
    other.post("/accounts/login/", {"login": "eve@example.org", "password": "a long passphrase 1"})
    assert other.get("/library/").status_code == 302
    confirm = _link(smtp_server.messages[0])
    assert client.post(confirm).status_code == 302
    signed_in = Client()
    assert signed_in.post("/accounts/login/", {"login": "eve@example.org", "password": "a long passphrase 1"}).status_code == 302
    assert signed_in.get("/library/").status_code == 200

    before = len(smtp_server.messages)
    assert Client().post("/accounts/password/reset/", {"email": "eve@example.org"}).status_code == 302
    reset = _link(smtp_server.messages[before])
    page = client.get(reset, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else reset
    done = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert Client().post("/accounts/login/", {"login": "eve@example.org", "password": NEW_PASSWORD}).status_code == 302


def test_a_private_install_closes_sign_up(settings: Any, smtp_server: Mailbox) -> None:
    settings.SIGNUP_OPEN = False
    response = Client().post("/accounts/signup/", {"email": "mallory@example.org", "password1": "a long passphrase 1", "password2": "a long passphrase 1"})
    assert "Sign Up Closed" in response.content.decode() or "closed" in response.content.decode().lower()
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(email="mallory@example.org").exists() and not smtp_server.messages
