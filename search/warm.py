"""Warm a loaded build before it serves: one real search through the ordinary code path, and
the build's mapped files entered in this process's page tables.

Mapping a build is not warming it: the first search after a start or a new build still
faults in the mapped vectors and keyword postings, loads the build's spelling dictionary and
the explanation word lists, and pays the libraries' first-call costs. ``warm_up`` runs one
hybrid search (dense + keyword, explanations and best sentences by meaning, a misspelt word so
the corrector loads) on the build ``IndexReader.pinned`` holds for this thread, so the first
request a process answers from it costs what a warm one does. gunicorn's workers run it once
before they take traffic and on every new build before it is swapped in (config/gunicorn.conf.py).

One search touches only the vectors and postings it reads. At 2.6M papers a search reads ~120 MB
of IVF lists and postings, and each page this process has not mapped yet costs a fault (~4.5 us
for 64 KB on these VMs, docs/scale.md "Run 4"): a new worker's first few hundred searches paid
several ms each for it. ``map_in`` asks the kernel to map every page of the build's files at once
(``MADV_POPULATE_READ``, Linux 5.14+; the files' pages are the page cache, shared by every process,
so this adds page tables, not private memory), unless the build is larger than the memory the
system has available, where it would only push other pages out.
"""

from __future__ import annotations

import ctypes
import logging
import time
from pathlib import Path

from search import spelling
from search.index_store import LoadedIndex, builds_dir, current_index, reader
from search.queries import semantic_search

logger = logging.getLogger(__name__)

MADV_POPULATE_READ = 22  # linux/mman.h (5.14+); older kernels answer EINVAL and nothing is mapped ahead

# Common words of research abstracts, one misspelt ("lerning"): dense and keyword sides both
# find something in any collection, and the spelling corrector has a word to correct.
WARM_QUERY = "lerning representations from data with neural network models"


def warm_up(index: LoadedIndex) -> float:
    """Search ``index`` once as a request would; returns the milliseconds it took."""
    started = time.perf_counter()
    with reader.pinned(index):
        semantic_search(query=WARM_QUERY, sentence_by_meaning=True)
        if index.keyword is not None:
            spelling.speller_for(index.keyword)  # a query with no unknown word never loads it
    map_in(builds_dir() / index.build_id)
    return (time.perf_counter() - started) * 1000


def warm_process() -> LoadedIndex | None:
    """Ready this web process before it serves: later builds load and warm in the background, the
    model is loaded, and the current build (if any) is loaded and searched once; returns that
    build. gunicorn's workers (config/gunicorn.conf.py) and ``manage.py serve`` call it; errors
    propagate."""
    from search.embedder import encode_query

    reader.load_in_background(warm_up)
    encode_query("warm up")
    index = current_index()
    if index is not None:
        reader.warm(index)
    return index


def _mappings(directory: Path) -> list[tuple[int, int]]:
    """(start, end) addresses of this process's mappings of files under ``directory``."""
    prefix = f"{directory.resolve()}/"
    found = []
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].rstrip("\n").startswith(prefix):
                start, end = (int(address, 16) for address in fields[0].split("-"))
                found.append((start, end))
    return found


def _available_bytes() -> int:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def map_in(directory: Path) -> int:
    """Map every page of this process's mappings of files under ``directory`` now; returns the
    bytes mapped (0 where the kernel cannot, or where they exceed the available memory)."""
    try:
        regions = _mappings(directory)
    except OSError:  # not Linux
        return 0
    total = sum(end - start for start, end in regions)
    if not total or total > _available_bytes():
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    mapped = 0
    started = time.perf_counter()
    for start, end in regions:
        if libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), MADV_POPULATE_READ) == 0:
            mapped += end - start
    logger.info("mapped in %.0f MB of %s in %.0f ms", mapped / 2**20, directory.name, (time.perf_counter() - started) * 1000)
    return mapped
