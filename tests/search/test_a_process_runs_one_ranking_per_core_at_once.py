"""A process runs at most as many rankings at once as it has cores to run them on.

Each ranking holds two collection-wide score arrays (10 MB each at 2.6M papers); a web worker
serving eight clients on its threads held one set per request in flight (docs/scale.md "Run 5").
Requests beyond the bound wait for a slot, the way they would wait for the cores.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from search import queries
from search.ranking import AnalysedQuery


class _Stop(Exception):
    pass


def _concurrent_rankings(monkeypatch: pytest.MonkeyPatch, threads: int) -> int:
    """The most rankings inside ``rank`` at once when ``threads`` threads rank together."""
    inside, most, lock = [0], [0], threading.Lock()

    def first_step_of_a_ranking(filters: Any) -> Any:  # rank's first call: count, linger, stop
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        with lock:
            inside[0] -= 1
        raise _Stop

    monkeypatch.setattr(queries, "_matching", first_step_of_a_ranking)
    monkeypatch.setattr(queries, "_ranking_slots", queries._RankingSlots())  # sized from these settings

    def one() -> None:
        with pytest.raises(_Stop):
            queries.rank(index=None, query=AnalysedQuery.of("x"), query_vector=None, mode="hybrid", weight=0.5, filters=None, needed=10)

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return most[0]


@pytest.mark.parametrize(("configured", "cores", "expected"), [(0, 1, 1), (0, 2, 2), (3, 1, 3)])
def test_rankings_at_once_are_bounded_by_the_setting_or_the_processs_cores(
    monkeypatch: pytest.MonkeyPatch, settings: Any, configured: int, cores: int, expected: int
) -> None:
    settings.SEARCH_CONCURRENT_RANKINGS = configured
    settings.EMBEDDING_THREADS = cores  # what gunicorn sets for each worker: its share of the cores
    assert _concurrent_rankings(monkeypatch, threads=8) == expected


def test_without_a_core_count_every_core_may_rank(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    settings.SEARCH_CONCURRENT_RANKINGS = 0
    settings.EMBEDDING_THREADS = 0
    monkeypatch.setattr(queries.os, "cpu_count", lambda: 4)
    assert _concurrent_rankings(monkeypatch, threads=8) == 4
