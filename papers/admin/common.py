"""Helpers the papers admin pages share: the admin history and safe redirects."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import models
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def log_actions(request: HttpRequest, objects: Sequence[models.Model], message: str, flag: int = CHANGE) -> None:
    """One admin-history entry per object (bulk insert; actions may touch many papers)."""
    if objects and request.user.pk is not None:
        LogEntry.objects.log_actions(user_id=request.user.pk, queryset=list(objects), action_flag=flag, change_message=message)


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback
