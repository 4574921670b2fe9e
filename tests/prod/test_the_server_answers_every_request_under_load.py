"""The CI version of the loopback load test (tests/prod/loadtest.py; `make load` is the long one):
a real gunicorn on PostgreSQL answers every request while index builds are published under it."""

from __future__ import annotations

import shutil

import pytest
from django.db import connection

from tests.prod import loadtest


@pytest.mark.slow
def test_concurrent_clients_get_no_errors_while_builds_are_published() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the load test runs once, against PostgreSQL (the production database)")
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (.ci/run installs Debian's)")
    stats = loadtest.run(
        clients=10, duration=15, build_every=3.0, samples=loadtest.SAMPLES[:1], queries=loadtest.QUERIES[:4]
    )
    print(stats)
    assert stats["requests"] > 0
    assert stats["errors"] == 0, stats
    assert stats["builds_published"] >= 1 and stats["build_failures"] == 0, stats
    assert stats["served_new_build"], stats
