"""A web worker's malloc settings keep a search's large temporaries (10 MB score arrays at 2.6M
papers) for the next search: after the first request, allocating and freeing them again takes
almost no page faults, in gunicorn's request threads too. Without the trim threshold (glibc's
128 KB default once the mmap threshold is set) every free handed their pages back and every
search faulted them in again, ~2,500 faults a 10 MB array (docs/scale.md, "Run 5"). And the idle
trim (``malloc_trim``) still hands them all back, those a request thread used included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.prod.helpers import ROOT

CONF = ROOT / "config" / "gunicorn.conf.py"

# A search's temporaries at 2.6M papers: BM25 and coverage (float32), a mask, a selection.
_PROBE = r"""
import ctypes, json, resource, runpy, sys, threading
import numpy as np

conf = runpy.run_path(sys.argv[1])
if sys.argv[2] == "worker":
    conf["_bound_malloc"]()
else:  # the settings before the trim threshold: the mmap threshold alone
    ctypes.CDLL("libc.so.6").mallopt(-3, conf["_MMAP_THRESHOLD"])

def search():
    scores, coverage = np.zeros(2_600_000, np.float32), np.zeros(2_600_000, np.float32)
    scores[::5] += 1.5
    coverage[::3] += 0.5
    passing = coverage >= 0.5
    return float(scores[passing].max())

def faults_per_search(in_thread):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        if in_thread:
            t = threading.Thread(target=search)
            t.start()
            t.join()
        else:
            search()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10

def resident_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20

baseline = resident_mb()
search()  # the first request faults them in
t = threading.Thread(target=search); t.start(); t.join()
faults = {"main": faults_per_search(False), "threads": faults_per_search(True)}
held = resident_mb()
ctypes.CDLL("libc.so.6").malloc_trim(0)  # what the worker does once idle
print(json.dumps({**faults, "held_mb": held - baseline, "after_trim_mb": resident_mb() - baseline}))
"""

PAGES_PER_ARRAY = 2_600_000 * 4 // 4096  # 2,539


def _probe(settings: str) -> dict[str, float]:
    """Page faults a search (main thread, request threads), and memory held and left after the trim."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", _PROBE, str(CONF), settings], env=env, capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


def test_a_workers_searches_reuse_their_large_temporaries_without_page_faults() -> None:
    faults = _probe("worker")
    assert faults["main"] < 0.05 * PAGES_PER_ARRAY, faults
    assert faults["threads"] < 0.05 * PAGES_PER_ARRAY, faults


def test_the_idle_trim_hands_a_workers_temporaries_back() -> None:
    memory = _probe("worker")
    assert memory["held_mb"] > 15, memory  # kept between searches: two 10 MB arrays at least
    assert memory["after_trim_mb"] < 5, memory  # all of it back, the request thread's too


def test_without_the_trim_threshold_every_search_faults_its_temporaries_in_again() -> None:
    faults = _probe("mmap threshold alone")
    assert faults["main"] > PAGES_PER_ARRAY, faults  # at least one whole array faulted in per search
