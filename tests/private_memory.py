"""This process's private (anonymous) memory, for tests that compare what two ways of doing the
same work hold. Compare only within one test: the numbers depend on what the process did before."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable

from search import memory


def anon_kb() -> int:
    """RssAnon of this process, in kB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:"))


def peak_anon_growth_kb(work: Callable[[], object]) -> int:
    """The most anonymous (private) memory this process held beyond its start while ``work`` ran.

    Memory freed earlier is handed back first, so ``work`` cannot hide its needs in pages the heap
    kept."""
    gc.collect()
    assert memory.release_freed_memory()
    start, peak, done = anon_kb(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], anon_kb() - start)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    return peak[0]
