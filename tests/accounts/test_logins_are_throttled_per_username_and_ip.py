"""django-axes locks a username from one IP after AXES_FAILURE_LIMIT failures, on the reader login
(allauth, by email) and the admin login (by username) alike; other IPs and other names still log in."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.library.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limit(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3


def _reader_login(client: Client, email: str, password: str, ip: str) -> Any:
    return client.post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip)


def test_reader_login_is_locked_per_email_and_ip(ada: Any) -> None:
    client = Client()
    for _ in range(2):
        assert _reader_login(client, "ada@example.org", "wrong", "198.51.100.1").status_code == 200
    locked = _reader_login(client, "ADA@example.org", "wrong", "198.51.100.1")  # the same name in another case
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
    # Even the right password is refused from that IP for that name now...
    assert _reader_login(client, "ada@example.org", PASSWORD, "198.51.100.1").status_code == 429
    # ...while the owner elsewhere, and another name from the same IP, are not punished.
    assert _reader_login(Client(), "ada@example.org", PASSWORD, "203.0.113.5").status_code == 302
    assert _reader_login(Client(), "bob@example.org", "wrong", "198.51.100.1").status_code == 200


def test_admin_login_is_locked_per_username_and_ip(django_user_model: Any) -> None:
    django_user_model.objects.create_superuser("curator", "curator@example.org", PASSWORD)
    client = Client()
    for _ in range(2):
        response = client.post("/admin/login/", {"username": "curator", "password": "guess"}, REMOTE_ADDR="198.51.100.2")
        assert response.status_code == 200
    assert client.post("/admin/login/", {"username": "curator", "password": "guess"}, REMOTE_ADDR="198.51.100.2").status_code == 429
    assert client.post("/admin/login/", {"username": "curator", "password": PASSWORD}, REMOTE_ADDR="198.51.100.2").status_code == 429
    # Viewing the form is not an attempt; the curator from another address logs in.
    assert Client().get("/admin/login/", REMOTE_ADDR="198.51.100.2").status_code == 200
    ok = Client().post("/admin/login/", {"username": "curator", "password": PASSWORD, "next": "/admin/"}, REMOTE_ADDR="203.0.113.6")
    assert ok.status_code == 302 and ok["Location"] == "/admin/"


def test_the_lockout_follows_the_trusted_proxy_rule(ada: Any, settings: Any) -> None:
    """Behind one trusted proxy, the forwarded client is counted, and prepending spoofed hops does not escape."""
    settings.TRUSTED_PROXY_COUNT = 1
    client = Client()
    for spoof in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        client.post("/accounts/login/", {"login": "ada@example.org", "password": "wrong"},
                    REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"{spoof}, 198.51.100.9")
    response = client.post("/accounts/login/", {"login": "ada@example.org", "password": PASSWORD},
                           REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.9")
    assert response.status_code == 429
