"""The warm-up enters every page of a memory-mapped build in the process's page tables
(``MADV_POPULATE_READ``), not only the pages its one search touched: a new web worker's first
searches at 2.6M papers no longer fault in the IVF lists and postings they read. Real build of
the listing, mapped (as builds above MEMORY_LOAD_MAX_BYTES are), pages counted in /proc/self/smaps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from search import index_store, warm
from search.index_store import builds_dir, current_build_id, load_build

pytestmark = pytest.mark.django_db(transaction=True)


def _resident(directory: Path) -> tuple[int, int]:
    """(mapped size, resident size) in kB of this process's mappings of files under ``directory``."""
    prefix = f"{directory.resolve()}/"
    size = rss = 0
    inside = False
    with open("/proc/self/smaps", encoding="utf-8") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:  # a mapping's header line
                inside = len(fields) == 6 and fields[5].startswith(prefix)
            elif inside and fields[0] == "Size:":
                size += int(fields[1])
            elif inside and fields[0] == "Rss:":
                rss += int(fields[1])
    return size, rss


def test_every_page_of_the_mapped_build_is_resident_after_the_warm_up(
    listing_index: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_store, "MEMORY_LOAD_MAX_BYTES", 0)  # map it, as a large build is
    build_id = current_build_id()
    assert build_id is not None
    directory = builds_dir() / build_id
    index = load_build(build_id)
    size, before = _resident(directory)
    assert size > 100, size  # kB: the vectors and keyword arrays are mapped
    assert before < size, (before, size)  # loading touched only some of it

    warm.warm_up(index)

    size_after, after = _resident(directory)
    assert size_after == size and after == size  # every page of every mapping
    assert index.vectors is not None


def test_a_build_larger_than_the_available_memory_is_left_to_fault_in(
    listing_index: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_store, "MEMORY_LOAD_MAX_BYTES", 0)
    build_id = current_build_id()
    assert build_id is not None
    directory = builds_dir() / build_id
    index = load_build(build_id)
    monkeypatch.setattr(warm, "_available_bytes", lambda: 1)
    assert warm.map_in(directory) == 0
    size, resident = _resident(directory)
    assert resident < size
    assert index.keyword is not None
