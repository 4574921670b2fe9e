"""Loaded builds map their vectors from the build file instead of copying them into the process.

Pages of a shared file mapping are counted once in the page cache however many web processes
serve the build; anonymous memory (``RssAnon``) would be a private copy per process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search.vector_index import FaissIndex, load_index, make_index

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


def _rss_anon_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise AssertionError("no RssAnon in /proc/self/status")


@pytest.mark.parametrize("kind", ["IDMap,Flat", "IVF{n},Flat", "IVF{n},SQ8", "HNSW{M}"])
def test_a_loaded_build_maps_its_file_and_copies_no_vectors(kind: str, tmp_path: Path) -> None:
    n, dim = 12_000, 384  # 18 MB of vectors
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    built = make_index(dim, kind, params={"M": 8, "efConstruction": 16} if kind == "HNSW{M}" else None)
    built.add(np.arange(n), vectors)
    built.save(tmp_path)
    kind, params = built.kind, built.params
    del built, vectors
    before = _rss_anon_kib()
    loaded = load_index(tmp_path, kind=kind, params=params)
    loaded.search(rng.normal(size=(4, dim)).astype(np.float32), 10)
    grown_mb = (_rss_anon_kib() - before) / 1024
    assert str(tmp_path / FaissIndex.FILENAME) in Path("/proc/self/maps").read_text()
    assert grown_mb < 9, f"{grown_mb:.1f} MB of anonymous memory for 18 MB of vectors"
