"""With background loading on (gunicorn's workers), a new build never makes a request wait.

Real builds of the listing: the request that notices a new build is answered from the old one
while a thread loads the new build and runs the real warm-up search on it; the requests after
the swap get the new build, already searched once.
"""

from __future__ import annotations

import threading
import time

import pytest

from search.index_store import LoadedIndex, current_build_id, current_index, reader
from search.queries import semantic_search
from search.services import index_build
from search.warm import warm_up

pytestmark = pytest.mark.django_db(transaction=True)  # the loading thread reads the database too


def test_the_request_that_notices_a_new_build_is_served_from_the_old_one_until_the_new_one_is_warm(
    listing_index: list[int],
) -> None:
    old = current_index()
    assert old is not None
    release = threading.Event()
    warmed: list[tuple[str, str, int]] = []

    def slow_warm_up(index: LoadedIndex) -> None:
        # The real warm-up, on the build it is given, through the ordinary search path ...
        warm_up(index)
        seen = current_index()
        assert seen is not None
        hits = len(semantic_search(query="diffusion models for video generation").hits)
        warmed.append((index.build_id, seen.build_id, hits))
        release.wait(timeout=60)  # ... then held, as a slow load of a big build would be

    reader.load_in_background(slow_warm_up)
    built = index_build(full=True)
    assert built is not None
    new = current_build_id()
    assert new is not None and new != old.build_id

    started = time.monotonic()
    noticing = semantic_search(query="diffusion models for video generation")
    assert time.monotonic() - started < 30  # it did not wait for the held warm-up
    assert noticing.hits, "the old build answered the request that noticed the new one"
    assert current_index() is old  # still the old build while the new one loads and warms

    deadline = time.monotonic() + 60
    while not warmed:
        assert time.monotonic() < deadline, "the new build was never warmed"
        time.sleep(0.05)
    # The warm-up searched the new build (pinned to its thread), and found papers there.
    assert warmed == [(new, new, len(noticing.hits))]
    for _ in range(3):
        assert current_index() is old, "the new build was served before its warm-up finished"

    release.set()
    deadline = time.monotonic() + 60
    while (served := current_index()) is old:
        assert time.monotonic() < deadline, "the warmed build was never swapped in"
        time.sleep(0.05)
    assert served is not None and served.build_id == new
    assert semantic_search(query="diffusion models for video generation").hits
    assert len(warmed) == 1, "the new build was loaded or warmed more than once"


def test_a_damaged_new_build_is_refused_in_the_background_and_the_old_one_keeps_serving(listing_index: list[int]) -> None:
    from search.index_store import builds_dir

    old = current_index()
    assert old is not None
    reader.load_in_background(warm_up)
    assert index_build(full=True) is not None
    new = current_build_id()
    assert new is not None and new != old.build_id
    for path in (builds_dir() / new).iterdir():
        if path.is_file() and path.name != "manifest.json":
            path.write_bytes(b"damaged")
    assert current_index() is old
    deadline = time.monotonic() + 60
    while new not in reader.refused:
        assert time.monotonic() < deadline, "the damaged build was never refused"
        time.sleep(0.05)
    assert current_index() is old
    assert semantic_search(query="diffusion models for video generation").hits
