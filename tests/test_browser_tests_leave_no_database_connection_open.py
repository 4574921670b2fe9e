"""A test that drives Chromium leaves no database connection behind. Playwright runs the test in a
context of its own and Django keeps connections per context, so ORM calls made while a browser is
open get a connection of their own; ``launched_chromium`` closes it. Left open, it kept a session
on PostgreSQL's test database to the end of the run, which then could not drop the database."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections

from tests.conftest import launched_chromium


def _other_sessions() -> int:
    """Sessions on this test database other than the outer connection's (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_orm_calls_made_while_chromium_runs_leave_no_connection_open() -> None:
    outer = connections["default"]
    get_user_model().objects.count()
    with launched_chromium():
        inner = connections["default"]
        get_user_model().objects.create_user("reader", "reader@example.org", "a-long-test-password-1")
        assert inner is not outer and inner.connection is not None  # the browser's context has its own
    assert connections["default"] is outer
    assert get_user_model().objects.filter(username="reader").exists()  # its work was committed, not lost
    if connection.vendor == "sqlite" and inner.is_in_memory_db():
        # Django never closes an in-memory SQLite database (closing would lose it); no server session.
        assert inner.connection is not None
    else:
        assert inner.connection is None
    if connection.vendor == "postgresql":
        assert _other_sessions() == 0
