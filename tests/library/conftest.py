"""Readers with verified email addresses, signed-in clients, and a local SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from django.test import Client

PASSWORD = "a long passphrase for tests 7"


@pytest.fixture
def make_reader(db: None) -> Callable[[str], Any]:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    def make(email: str) -> Any:
        user = get_user_model().objects.create_user(username=email.split("@")[0], email=email, password=PASSWORD)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user

    return make


@pytest.fixture
def ada(make_reader: Callable[[str], Any]) -> Any:
    return make_reader("ada@example.org")


@pytest.fixture
def bob(make_reader: Callable[[str], Any]) -> Any:
    return make_reader("bob@example.org")


@pytest.fixture
def ada_client(ada: Any) -> Client:
    client = Client()
    client.force_login(ada, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def bob_client(bob: Any) -> Client:
    client = Client()
    client.force_login(bob, backend="django.contrib.auth.backends.ModelBackend")
    return client


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a free local port; Django's SMTP backend sends to it."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox(host="127.0.0.1", port=port)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(message_from_bytes(envelope.original_content or envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield box
    finally:
        controller.stop()


def body_text(message: Message) -> str:
    """The text/plain part of an email, decoded."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            return payload.decode(part.get_content_charset() or "utf-8") if isinstance(payload, bytes) else str(payload)
    return ""
