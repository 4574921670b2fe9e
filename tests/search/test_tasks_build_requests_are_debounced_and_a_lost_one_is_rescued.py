"""Build requests share one pending build (a Redis flag), and reconcile replaces a pending build
that never started (lost with a killed worker) instead of waiting for its flag to expire."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from search import coordination
from tests.pipeline.harness import RedisServer


@pytest.fixture
def redis_settings(tmp_path: Path, settings) -> Iterator[RedisServer]:  # type: ignore[no-untyped-def]
    server = RedisServer(tmp_path)  # a private redis-server on a free loopback port
    settings.REDIS_URL = server.url
    settings.BUILD_DEBOUNCE_SECONDS = 1.0
    try:
        yield server
    finally:
        server.stop()


def test_only_the_first_of_many_requests_schedules_a_build(redis_settings: RedisServer) -> None:
    assert coordination.build_request_mark() is True
    assert not any(coordination.build_request_mark() for _ in range(10_000))
    coordination.build_request_clear()  # what a build does once it holds the lock
    assert coordination.build_request_mark() is True


def test_a_pending_build_that_never_started_is_replaced_by_reconcile(redis_settings: RedisServer) -> None:
    assert coordination.build_request_mark() is True
    assert coordination.build_request_mark(stale_after=3) is False  # scheduled a moment ago: wait for it
    redis_settings.client().set(coordination.BUILD_PENDING_KEY, str(time.time() - 10))
    assert coordination.build_request_mark(stale_after=3) is True
    assert coordination.build_request_mark(stale_after=3) is False  # and the replacement is pending now


def test_without_redis_every_request_builds_inline(settings) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = ""
    assert coordination.build_request_mark() and coordination.build_request_mark()
