"""bench_speed's HTTP part reports each route and concurrency by its median run, with every run kept."""

from __future__ import annotations

from bench.http import summarise


def _run(route: str, connections: int, p50: float, p99: float, rate: float, bad: int = 0) -> dict:
    return {"route": route, "connections": connections, "p50_ms": p50, "p99_ms": p99, "requests_per_s": rate, "non_2xx": bad, "tool": "wrk", "seconds": 15}


def test_one_disturbed_run_moves_neither_the_median_nor_hides_from_the_record() -> None:
    runs = []
    for p50, p99, rate in ((13.1, 19.0, 70.0), (22.4, 60.2, 41.0), (13.9, 21.5, 68.0)):  # run 2: a neighbour's burst
        runs += [_run("api", 1, p50, p99, rate), _run("api", 8, p50 * 4, p99 * 3, rate * 2, bad=1)]
    runs.append(_run("page", 1, 30.0, 50.0, 33.0))
    summary = {(r["route"], r["connections"]): r for r in summarise(runs)}
    assert list(summary) == [("api", 1), ("api", 8), ("page", 1)]
    api = summary[("api", 1)]
    assert (api["runs"], api["p50_ms"], api["p99_ms"], api["requests_per_s"]) == (3, 13.9, 21.5, 68.0)
    assert api["p50_ms_runs"] == [13.1, 22.4, 13.9] and api["p99_ms_runs"] == [19.0, 60.2, 21.5]
    assert summary[("api", 8)]["non_2xx"] == 3  # failures are summed, never medianed away
    assert summary[("page", 1)]["runs"] == 1 and summary[("page", 1)]["p50_ms"] == 30.0


def test_an_even_number_of_runs_takes_the_middle_two_and_a_missing_percentile_is_skipped() -> None:
    runs = [_run("api", 1, 10.0, 20.0, 50.0), _run("api", 1, 14.0, 30.0, 40.0)]
    runs[1]["p99_ms"] = None  # a run whose tool printed no p99
    (row,) = summarise(runs)
    assert row["p50_ms"] == 12.0 and row["p99_ms"] == 20.0 and row["requests_per_s"] == 45.0
