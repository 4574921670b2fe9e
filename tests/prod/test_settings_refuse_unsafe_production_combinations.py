"""Settings fail loudly at load time rather than serve an unsafe site."""

from __future__ import annotations

import pytest

from tests.prod.helpers import clean_env, run_python

LOAD = "from django.conf import settings; print(settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE)"
GOOD_KEY = "k3y-" + "x7Qp2" * 12


def test_debug_is_refused_with_a_public_host() -> None:
    result = run_python(LOAD, clean_env(DEBUG="1", ALLOWED_HOSTS="papers.example.org", SECRET_KEY=GOOD_KEY))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DEBUG=True with public ALLOWED_HOSTS" in result.stderr


def test_debug_is_refused_with_a_wildcard_host() -> None:
    result = run_python(LOAD, clean_env(DEBUG="1", ALLOWED_HOSTS="*", SECRET_KEY=GOOD_KEY))
    assert result.returncode != 0 and "DEBUG=True" in result.stderr


def test_debug_is_allowed_on_localhost() -> None:
    result = run_python(LOAD, clean_env(DEBUG="1", ALLOWED_HOSTS="localhost,127.0.0.1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "False"]


def test_a_public_host_needs_a_secret_key() -> None:
    result = run_python(LOAD, clean_env(ALLOWED_HOSTS="papers.example.org"))
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("hosts", ["papers.example.org", "papers.example.org,localhost"])
def test_the_example_placeholder_key_is_refused_with_a_public_host(hosts: str) -> None:
    placeholder = "change-me-generate-one-with-the-command-in-docs-readme-production-md"
    result = run_python(LOAD, clean_env(ALLOWED_HOSTS=hosts, SECRET_KEY=placeholder))
    assert result.returncode != 0 and "placeholder" in result.stderr


def test_a_public_host_switches_on_https_and_secure_cookies_by_default() -> None:
    result = run_python(LOAD, clean_env(ALLOWED_HOSTS="papers.example.org", SECRET_KEY=GOOD_KEY))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True"]
