"""What django-axes counts failed logins against: one login name, whichever form sent it.

Readers sign in with their email through allauth (which authenticates with ``email=``), curators
with their username through the admin (``username=``); both land here, case-folded, so that
"Ada@Example.org" and "ada@example.org" share one counter.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

_MAX = 254  # an email address's length limit: the counter key stays bounded


def login_name(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    credentials = credentials or {}
    name = credentials.get("email") or credentials.get("username") or credentials.get("login")
    if not name and request is not None and request.method == "POST":
        name = request.POST.get("login") or request.POST.get("username") or request.POST.get("email")
    return str(name or "").strip().casefold()[:_MAX]
