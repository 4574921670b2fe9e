"""Superseded builds and crashed writers' leftovers go once past the grace period, never the current one."""

from __future__ import annotations

import os
import time

import pytest

from search import index_store
from search.services import index_build


def _age(name: str, seconds: float) -> None:
    path = index_store.builds_dir() / name
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.django_db
def test_old_builds_stay_during_the_grace_period_then_go(listing_index: list[int], settings) -> None:  # type: ignore[no-untyped-def]
    settings.INDEX_KEEP_BUILDS = 1
    settings.INDEX_BUILD_GRACE_SECONDS = 600
    first = index_store.current_build_id()
    assert first
    index_build(full=True)
    index_build(full=True)
    leftover = index_store.builds_dir() / ".staging-20000101T000000000000Z-1"
    leftover.mkdir()
    assert index_store.remove_old_builds() == []  # all young: a web process may be about to load one

    for name in [first, leftover.name]:
        _age(name, 3600)
    removed = index_store.remove_old_builds()
    assert sorted(removed) == sorted([first, leftover.name])
    current = index_store.current_build_id()
    assert current and (index_store.builds_dir() / current).is_dir()


@pytest.mark.django_db
def test_the_current_build_is_never_removed_however_old(listing_index: list[int], settings) -> None:  # type: ignore[no-untyped-def]
    settings.INDEX_KEEP_BUILDS = 0
    current = index_store.current_build_id()
    assert current
    _age(current, 10**6)
    assert index_store.remove_old_builds() == []
    assert index_store.load_build(current)
