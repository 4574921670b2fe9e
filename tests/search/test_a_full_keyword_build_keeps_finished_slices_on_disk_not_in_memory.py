"""A full build writes each keyword segment into the build as soon as its slice is indexed and
maps it back from there (``keyword._written``): while it analyses the next slices the builder
holds none of the earlier slices' postings in its own memory. Before, every slice's postings
stayed in memory until the end, ~0.4 GB a slice of 250,000 papers (docs/scale.md, run 8)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

from search import keyword

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]

# Each way in a fresh interpreter: memory one way freed and the other reused would blur both.
# Made-up papers of 150 words each from a 20,000-word vocabulary (the slicing needs no database).
_BUILD = """
import gc, json, sys
from pathlib import Path
import django
django.setup()
import numpy as np
from search import keyword, memory

WORDS = [f"w{i:05d}" for i in range(20_000)]

def fields(ids, *, chunk_size):
    rng = np.random.default_rng(int(ids[0]))
    texts = [" ".join(WORDS[i] for i in row) for row in rng.integers(0, len(WORDS), size=(len(ids), 150))]
    return keyword._Fields(ids=ids, texts=texts, names=[["ada", "lovelace"]] * len(ids), titles=[(int(i), int(i)) for i in ids], plain=texts)

def anon_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:"))

way, directory = sys.argv[1], Path(sys.argv[2])
keyword._read_papers = fields
keyword.FULL_BUILD_SEGMENT = 8_000
if way == "before":
    keyword._written = lambda segment, target: segment
ids = np.arange(1, 40_001, dtype=np.int64)
gc.collect(); memory.release_freed_memory()
start = anon_kb()
index, authors, counts, titles = keyword._full_index(ids, name="s-0", k1=1.2, b=0.75, chunk_size=5_000, directory=directory)
gc.collect(); memory.release_freed_memory()
held = anon_kb() - start
files = index.save(directory)
print(json.dumps({
    "held_kb": held,
    "postings_kb": sum(s.docs.nbytes + s.tfs.nbytes for s in index.segments) // 1024,
    "segments": len(index.segments),
    "mapped": all(isinstance(s.docs, np.memmap) for s in index.segments + authors.segments),
    "saved": all((directory / name).is_file() for name in files),
}))
"""


def _build(way: str, directory: Path) -> dict[str, object]:
    directory.mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PAPERSCOPE_IGNORE_DOTENV": "1"}
    env.pop("DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", _BUILD, way, str(directory)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_finished_slices_wait_in_their_files_not_in_the_builders_memory(tmp_path: Path) -> None:
    now = _build("now", tmp_path / "now")
    before = _build("before", tmp_path / "before")
    seen = f"held after the build: now {now}, before {before}"
    assert now["segments"] == before["segments"] == 5, seen
    assert now["mapped"] and now["saved"] and before["saved"], seen
    postings_kb = int(now["postings_kb"])  # type: ignore[call-overload]
    assert postings_kb > 40_000, seen  # ~6M postings: enough to see
    held_now, held_before = int(now["held_kb"]), int(before["held_kb"])  # type: ignore[call-overload]
    # What the build still holds besides the postings is the same both ways (the title lookup's
    # entries, the word counts, the heap's leftovers from analysis): the difference is the postings.
    assert held_before - held_now > 0.9 * postings_kb, seen
    assert held_now < 0.5 * postings_kb, seen


def test_a_dropped_segment_goes_at_once_without_waiting_for_the_cycle_collector(tmp_path: Path) -> None:
    """A builder's finished index must not linger: its vocabulary's lookup cache once held the
    vocabulary itself (a bound method), a cycle only the cyclic collector frees."""
    segment = keyword._written(keyword.build_segment("s-0", ids=np.arange(3), texts=["tidal turbines", "coral reefs", "graph networks"]), tmp_path / "s-0")
    assert segment.vocab.get(keyword.analyze("turbines")[0]) is not None  # the cache is in use
    gone = weakref.ref(segment.vocab)
    gc.disable()
    try:
        del segment
        assert gone() is None
    finally:
        gc.enable()
