"""An incremental IVF build writes the new file list by list from the memory-mapped base build
(search/vector_index.py, ``IVFIndex.save_updated``): what it writes is what FAISS writes for the
same index changed in memory, and the builder's own memory never holds the collection."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from search import vector_index
from tests.private_memory import peak_anon_growth_kb

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)

DIM = 32


def _unit(rng: np.random.Generator, rows: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _saved_base(tmp_path: Path, kind: str, rows: int = 4_000, dim: int = DIM) -> tuple[Path, vector_index.VectorIndex]:
    rng = np.random.default_rng(7)
    base = vector_index.make_index(dim, kind)
    base.add(np.arange(rows, dtype=np.int64) * 3 + 1, _unit(rng, rows, dim))
    directory = tmp_path / "base"
    directory.mkdir()
    base.save(directory)
    return directory, base


def _in_memory(source: Path, base: vector_index.VectorIndex, remove: np.ndarray, ids: np.ndarray, vectors: np.ndarray) -> vector_index.VectorIndex:
    """The same change made the way FAISS makes it: a private copy, changed and kept in memory."""
    copy = vector_index.load_index(source, kind=base.kind, params=base.params, mmap=False)
    copy.remove(remove)
    copy.add(ids, vectors)
    return copy


def _lists(path: Path) -> list[dict[int, bytes]]:
    """Each inverted list of a saved IVF file as {id: code}."""
    index = faiss.read_index(str(path))
    found = []
    for number in range(index.nlist):
        size = index.invlists.list_size(number)
        ids = faiss.rev_swig_ptr(index.invlists.get_ids(number), size) if size else []
        codes = faiss.rev_swig_ptr(index.invlists.get_codes(number), size * index.code_size) if size else b""
        found.append({int(i): bytes(codes[row * index.code_size : (row + 1) * index.code_size]) for row, i in enumerate(ids)})
    return found


@pytest.mark.parametrize("kind", ["IVF{n},Flat", "IVF{n},SQ8"])
def test_adding_papers_writes_byte_for_byte_what_faiss_writes(tmp_path: Path, kind: str) -> None:
    source, base = _saved_base(tmp_path, kind)
    rng = np.random.default_rng(1)
    ids, vectors = np.arange(200, dtype=np.int64) + 100_000, _unit(rng, 200)
    expected = tmp_path / "expected"
    expected.mkdir()
    _in_memory(source, base, np.zeros(0, dtype=np.int64), ids, vectors).save(expected)
    out = tmp_path / "out"
    out.mkdir()

    updated, names = vector_index.save_updated(source, out, kind=base.kind, params=base.params, remove=np.zeros(0, dtype=np.int64), ids=ids, vectors=vectors)

    assert (out / "vectors.faiss").read_bytes() == (expected / "vectors.faiss").read_bytes()
    assert sorted(names) == sorted(p.name for p in expected.iterdir())
    assert len(updated) == len(base) + 200
    if updated.EXACT_VECTORS:  # the id directory of an exact kind, for reading a few papers' vectors
        assert np.array_equal(np.load(out / "ivf_directory.npy"), np.load(expected / "ivf_directory.npy"))


@pytest.mark.parametrize("kind", ["IVF{n},Flat", "IVF{n},SQ8"])
def test_removing_and_replacing_papers_leaves_each_list_as_an_in_memory_update_does(tmp_path: Path, kind: str) -> None:
    source, base = _saved_base(tmp_path, kind)
    rng = np.random.default_rng(2)
    members = base.ids()
    remove = members[::9]  # gone papers
    replaced = members[4:300:5]  # re-embedded papers: new vectors under the same ids
    ids = np.concatenate([replaced, np.arange(50, dtype=np.int64) + 500_000])
    vectors = _unit(rng, len(ids))
    expected = _in_memory(source, base, remove, ids, vectors)
    out = tmp_path / "out"
    out.mkdir()

    updated, _ = vector_index.save_updated(source, out, kind=base.kind, params=base.params, remove=remove, ids=ids, vectors=vectors)

    expected_dir = tmp_path / "expected"
    expected_dir.mkdir()
    expected.save(expected_dir)
    # FAISS removes by moving a list's last entry into the gap, so only the order within a list
    # differs; every list holds the same ids with the same codes.
    assert _lists(out / "vectors.faiss") == _lists(expected_dir / "vectors.faiss")
    assert len(updated) == len(expected) == len((set(members.tolist()) - set(remove.tolist())) | set(ids.tolist()))
    assert sorted(updated.ids()) == sorted(expected.ids())
    queries = _unit(rng, 40)
    assert updated.search(queries, 10) == expected.search(queries, 10)


def test_a_base_left_with_few_lists_in_use_is_written_in_faiss_sparse_layout(tmp_path: Path) -> None:
    source, base = _saved_base(tmp_path, "IVF{n},Flat")
    members = base.ids()
    remove = members[20:]  # 20 papers left: most lists empty, which FAISS writes as (list, size) pairs
    out = tmp_path / "out"
    out.mkdir()

    updated, _ = vector_index.save_updated(source, out, kind=base.kind, params=base.params, remove=remove, ids=np.zeros(0, dtype=np.int64), vectors=np.zeros((0, DIM), dtype=np.float32))

    assert b"sprs" in (out / "vectors.faiss").read_bytes()
    assert sorted(updated.ids()) == sorted(members[:20])
    expected = _in_memory(source, base, remove, np.zeros(0, dtype=np.int64), np.zeros((0, DIM), dtype=np.float32))
    queries = _unit(np.random.default_rng(3), 10)
    assert updated.search(queries, 5) == expected.search(queries, 5)


def test_other_kinds_are_updated_from_a_private_copy_with_the_same_result(tmp_path: Path) -> None:
    for kind in ("IDMap,Flat", "HNSW{M}", "numpy"):
        where = tmp_path / kind.replace(",", "_").replace("{", "").replace("}", "")
        where.mkdir()
        source, base = _saved_base(where, kind, rows=500)
        rng = np.random.default_rng(4)
        ids, vectors = np.array([2, 9_000], dtype=np.int64), _unit(rng, 2)
        out = where / "out"
        out.mkdir()
        updated, names = vector_index.save_updated(source, out, kind=base.kind, params=base.params, remove=np.array([1, 4]), ids=ids, vectors=vectors)
        assert names and all((out / name).is_file() for name in names)
        assert len(updated) == 500 - 2 + 2
        reread = vector_index.load_index(out, kind=base.kind, params=base.params)
        assert sorted(reread.ids()) == sorted(updated.ids())
        assert 1 not in set(reread.ids().tolist()) and 9_000 in set(reread.ids().tolist())


def test_the_builder_holds_a_list_at_a_time_not_the_collection(tmp_path: Path) -> None:
    """The old way (a private copy of the base, changed in memory) is measured beside the new one,
    on a base of 100,000 vectors of 256 dimensions (102 MB). What the stream holds besides a list
    grows with the ids only (the id directory, 16 bytes a paper; a vector is 1,536 bytes at the
    model's 384 dimensions)."""
    rows, dim = 100_000, 256
    rng = np.random.default_rng(5)
    base = faiss.index_factory(dim, "IVF256,Flat", faiss.METRIC_INNER_PRODUCT)
    base.train(_unit(rng, 20_000, dim))
    base.add_with_ids(_unit(rng, rows, dim), np.arange(rows, dtype=np.int64))
    source = tmp_path / "base"
    source.mkdir()
    wrapped = vector_index.IVFIndex(dim, "IVF256,Flat", index=base)
    wrapped.save(source)
    del base, wrapped
    ids, vectors, remove = np.arange(1_000, dtype=np.int64) + rows, _unit(rng, 1_000, dim), np.arange(0, rows, 250, dtype=np.int64)
    params = {"nlist": 256, "nprobe": 0}
    size_kb = rows * dim * 4 // 1024
    streamed_dir, copied_dir = tmp_path / "streamed", tmp_path / "copied"
    streamed_dir.mkdir()
    copied_dir.mkdir()

    def copy_way() -> None:
        copy = vector_index.load_index(source, kind="IVF256,Flat", params=params, mmap=False)
        copy.remove(remove)
        copy.add(ids, vectors)
        copy.save(copied_dir)

    streamed = peak_anon_growth_kb(
        lambda: vector_index.save_updated(source, streamed_dir, kind="IVF256,Flat", params=params, remove=remove, ids=ids, vectors=vectors)
    )
    copied = peak_anon_growth_kb(copy_way)

    seen = f"peak anonymous growth: streamed {streamed} KB, private copy {copied} KB, base vectors {size_kb} KB"
    assert copied > 0.8 * size_kb, seen  # the private copy holds the whole collection
    assert streamed < 0.2 * size_kb, seen  # the stream holds a list (and the few new vectors) at a time
    assert _lists(streamed_dir / "vectors.faiss") == _lists(copied_dir / "vectors.faiss")
