"""Search pages, the API and the other database-backed pages (home, paper pages, their .bib,
authors, browse) are limited per client IP: 429 + Retry-After. A flood of 429s is summed up in
one log line per minute, not one line each.

Logins (admin and readers) are throttled per username + IP by django-axes:
tests/accounts/test_logins_are_throttled_per_username_and_ip.py.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest
from django.core.cache import cache
from django.test import Client

from tests.prod.helpers import ROOT, clean_env, read_env_file


@pytest.fixture(autouse=True)
def _limits_on(settings) -> None:  # type: ignore[no-untyped-def]
    settings.RATELIMIT_ENABLE = True
    # Hourly windows: a fixed window that rolled over mid-test would reset the count (flaky).
    settings.RATELIMIT_API = "3/h"
    settings.RATELIMIT_SEARCH = "2/h"
    settings.RATELIMIT_PAGES = "4/h"
    cache.clear()


def _assert_limited(response, *, json_body: bool) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    if json_body:
        assert "Too many requests" in response.json()["detail"]
    else:
        assert "Too many requests" in response.content.decode()


@pytest.mark.django_db
def test_the_api_answers_429_with_retry_after_past_the_limit(client: Client) -> None:
    for _ in range(3):
        assert client.get("/api/index/status").status_code == 200
    _assert_limited(client.get("/api/index/status"), json_body=True)


@pytest.mark.django_db
def test_the_search_page_answers_429_with_a_page_past_the_limit(client: Client) -> None:
    for _ in range(2):
        assert client.get("/search").status_code != 429
    response = client.get("/search")
    _assert_limited(response, json_body=False)
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_each_client_ip_has_its_own_budget(client: Client) -> None:
    for _ in range(3):
        client.get("/api/index/status", REMOTE_ADDR="192.0.2.1")
    assert client.get("/api/index/status", REMOTE_ADDR="192.0.2.1").status_code == 429
    assert client.get("/api/index/status", REMOTE_ADDR="192.0.2.2").status_code == 200


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_client_is_limited_not_the_proxy(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(3):
        client.get("/api/index/status", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
    assert client.get("/api/index/status", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy).status_code == 429
    # A client cannot escape by prepending its own X-Forwarded-For entries.
    spoofed = client.get("/api/index/status", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7", **proxy)
    assert spoofed.status_code == 429
    assert client.get("/api/index/status", HTTP_X_FORWARDED_FOR="198.51.100.8", **proxy).status_code == 200


@pytest.mark.django_db
def test_home_paper_pages_and_their_bibtex_share_the_pages_limit(client: Client, paper_factory) -> None:  # type: ignore[no-untyped-def]
    paper = paper_factory()
    for path in ("/", f"/papers/{paper.pk}/", f"/papers/{paper.pk}/bibtex.bib", "/"):
        assert client.get(path).status_code == 200
    for path in ("/", f"/papers/{paper.pk}/", f"/papers/{paper.pk}/bibtex.bib"):
        response = client.get(path)
        _assert_limited(response, json_body=False)
    # Another client still has its whole budget.
    assert client.get(f"/papers/{paper.pk}/", REMOTE_ADDR="192.0.2.44").status_code == 200


@pytest.mark.django_db
def test_the_spec_docs_and_probes_are_never_throttled(client: Client) -> None:
    for _ in range(8):
        assert client.get("/api/openapi.json").status_code == 200
        assert client.get("/api/docs").status_code == 200
        assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_without_a_proxy_x_forwarded_for_cannot_buy_a_new_budget(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    """As shipped (.env.example, and the settings default) no proxy is trusted: a client writing
    a new X-Forwarded-For on every request stays one client."""
    settings.TRUSTED_PROXY_COUNT = int(read_env_file()["TRUSTED_PROXY_COUNT"])
    assert settings.TRUSTED_PROXY_COUNT == 0
    statuses = [client.get("/api/index/status", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429]


@pytest.mark.django_db
def test_a_flood_of_429s_is_logged_as_one_warning_with_its_count(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    from config import middleware

    middleware._refusals = middleware._RefusalLog()  # a fresh reporting interval
    with caplog.at_level(logging.INFO, logger="paperscope.request"):
        statuses = [client.get("/api/index/status").status_code for _ in range(3 + 200)]
    assert statuses.count(429) == 200
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # the first refusal, reported at once; the rest wait for the next report
    assert "rate limited 1 request(s) from 1 client(s)" in warnings[0].getMessage()
    # The next report, an interval later, counts everything refused in between.
    middleware._refusals._last -= 61
    with caplog.at_level(logging.INFO, logger="paperscope.request"):
        caplog.clear()
        client.get("/api/index/status")
    (report,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "rate limited 200 request(s) from 1 client(s)" in report.getMessage()
    assert report.limit_refused == 200  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_an_unreachable_cache_fails_open(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    for _ in range(5):
        assert client.get("/api/index/status").status_code == 200


@pytest.mark.django_db
def test_the_limit_is_shared_between_processes_through_redis(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    # As config/settings.py builds it from REDIS_CACHE_URL; hourly windows so no boundary falls in between.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": "paperscope"}}
    settings.RATELIMIT_API = "3/h"
    # Another process (another gunicorn worker, another container) spends the budget...
    other = textwrap.dedent(
        """
        import django; django.setup()
        from django.test import Client
        from django.test.utils import setup_test_environment
        setup_test_environment()
        statuses = [Client().get("/api/openapi.json").status_code]
        from config.middleware import RateLimitMiddleware
        from django.test import RequestFactory
        mw = RateLimitMiddleware(lambda request: __import__("django.http").http.HttpResponse("ok"))
        for _ in range(3):
            statuses.append(mw(RequestFactory().get("/api/search", REMOTE_ADDR="127.0.0.1")).status_code)
        print(statuses)
        """
    )
    env = clean_env(REDIS_URL="redis://127.0.0.1:6379/0", REDIS_CACHE_URL=url, RATELIMIT_API="3/h")
    result = subprocess.run([sys.executable, "-c", other], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # noqa: S603
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("[200, 200, 200, 200]")
    # ...so this process is already past it.
    _assert_limited(client.get("/api/index/status", REMOTE_ADDR="127.0.0.1"), json_body=True)
