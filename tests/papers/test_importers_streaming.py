"""Large files stream: the first records arrive at once, whatever the size of the file."""

from __future__ import annotations

import io
import itertools
import json
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from papers.importers import read_records
from papers.records import PaperRecord

BIG = Path(__file__).resolve().parents[3] / "shared" / "data" / "arxiv-abstracts-115k" / "papers.jsonl.gz"


@pytest.mark.skipif(not BIG.is_file(), reason="shared data not checked out")
def test_the_first_1000_of_115k_gzipped_papers_arrive_quickly() -> None:
    started = time.perf_counter()
    first = list(itertools.islice(read_records(BIG), 1000))
    elapsed = time.perf_counter() - started
    assert len(first) == 1000 and all(isinstance(r, PaperRecord) for r in first)
    assert first[0].source == "papers.jsonl.gz:1" and first[-1].source == "papers.jsonl.gz:1000"
    assert elapsed < 2.0  # reading all 191 MB would take far longer


class Unseekable(io.RawIOBase):
    """A pipe-like upload: generated on the fly, cannot seek, never all in memory."""

    def __init__(self, lines: Iterator[bytes]) -> None:
        self._lines = lines
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            self._pending = next(self._lines, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def test_memory_stays_flat_on_a_large_unseekable_stream() -> None:
    abstract = "x" * 4000
    lines = (json.dumps({"title": f"Paper {n}", "abstract": abstract}).encode() + b"\n" for n in range(5_000))
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_records(Unseekable(lines), name="pipe"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 5_000
    assert peak < 2_000_000  # the stream is 20 MB; only a few lines are held at a time
