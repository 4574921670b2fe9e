"""Small measuring helpers: percentiles, wall-clock timers, a process's private memory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50/p99/mean in milliseconds of samples given in seconds."""
    if not samples_s:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "mean_ms": float("nan"), "n": 0}
    ms = np.asarray(samples_s) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "n": len(ms),
    }


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)


def process_memory(pid: int | str = "self") -> dict[str, float]:
    """USS (private), PSS and RSS from /proc/<pid>/smaps_rollup, plus anonymous RSS, in MB.

    USS counts pages only this process maps; pages of a memory-mapped index that several web
    processes map are shared (and PSS splits them between the processes).
    """
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            fields[parts[0].rstrip(":")] = int(parts[1])
    anon = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            anon = int(line.split()[1])
    mb = 1024.0
    return {
        "uss_mb": round((fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)) / mb, 1),
        "pss_mb": round(fields.get("Pss", 0) / mb, 1),
        "rss_mb": round(fields.get("Rss", 0) / mb, 1),
        "anon_mb": round(anon / mb, 1),
    }
