"""A full build spools the collection's vectors to a file as it reads them from the database and
builds its index from that file a chunk at a time (``RowFile``, ``save_rows``): the same index
file as one ``add`` of the whole matrix, without the matrix in the builder's memory, and for IVF
without the index either (its lists are written straight into the file)."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from search import index_store, services, vector_index
from search.vector_index import RowFile
from tests.private_memory import peak_anon_growth_kb
from tests.prod.helpers import clean_env, run_python


def _unit(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _spooled(path: Path, vectors: np.ndarray, block: int = 700) -> RowFile:
    rows = RowFile(path)
    for start in range(0, len(vectors), block):
        rows.append(vectors[start : start + block])
    return rows


def test_a_row_file_reads_back_what_was_appended_and_refuses_another_dimension(tmp_path: Path) -> None:
    vectors = _unit(np.random.default_rng(0), 2_345, 12)
    rows = _spooled(tmp_path / "rows", vectors)
    assert len(rows) == 2_345 and rows.dim == 12
    assert (tmp_path / "rows").stat().st_size == 2_345 * 12 * 4
    np.testing.assert_array_equal(rows.read(0, len(rows)), vectors)
    np.testing.assert_array_equal(rows.read(1_000, 1_010), vectors[1_000:1_010])
    assert rows.read(2_340, 9_999).shape == (5, 12)  # clipped at the end
    positions = np.array([0, 1, 699, 700, 1_999, 2_344])
    np.testing.assert_array_equal(rows.take(positions, chunk=500), vectors[positions])
    with pytest.raises(ValueError, match="dimension 13"):
        rows.append(np.zeros((2, 13), dtype=np.float32))
    assert len(rows) == 2_345  # nothing of the refused block was written


@pytest.mark.parametrize("kind", ["IDMap,Flat", "IVF16,Flat", "IVF16,SQ8", "IVF{n},Flat"])
def test_adding_rows_a_chunk_at_a_time_writes_byte_for_byte_what_one_add_writes(tmp_path: Path, kind: str) -> None:
    # 2,000 rows: more than IVF16's 800 training points, so both ways draw the same sample.
    vectors = _unit(np.random.default_rng(3), 2_000, 24)
    ids = np.arange(2_000, dtype=np.int64) * 7 + 5
    whole = vector_index.make_index(24, kind)
    whole.add(ids, vectors)
    chunked = vector_index.make_index(24, kind)
    assert isinstance(chunked, vector_index.FaissIndex)
    chunked.add_rows(ids, _spooled(tmp_path / "rows", vectors), chunk=300)
    assert chunked.factory == whole.factory
    for name, index in (("whole", whole), ("chunked", chunked)):
        (tmp_path / name).mkdir()
        index.save(tmp_path / name)
    assert (tmp_path / "chunked" / "vectors.faiss").read_bytes() == (tmp_path / "whole" / "vectors.faiss").read_bytes()


@pytest.mark.parametrize("kind", ["IDMap,Flat", "IVF16,Flat", "IVF16,SQ8", "IVF{n},Flat"])
def test_a_full_build_saves_byte_for_byte_what_one_add_and_save_write(tmp_path: Path, kind: str) -> None:
    """``save_rows`` (what a full build calls): an IVF file written list by list from the spool,
    chunks smaller than a list and larger, is the file FAISS writes for the index held whole."""
    vectors = _unit(np.random.default_rng(5), 2_000, 24)
    ids = (np.arange(2_000, dtype=np.int64) * 7 + 5)[::-1].copy()  # ids in no order: lists keep row order
    whole = vector_index.make_index(24, kind)
    whole.add(ids, vectors)
    (tmp_path / "whole").mkdir()
    whole.save(tmp_path / "whole")
    rows = _spooled(tmp_path / "rows", vectors)
    for chunk in (7, 300, 5_000):
        directory = tmp_path / f"streamed-{chunk}"
        directory.mkdir()
        if vector_index.family_of(kind) in (vector_index.IVFIndex, vector_index.IVFSQ8Index):
            index, names = vector_index.family_of(kind).save_rows(directory, kind=kind, ids=ids, rows=rows, chunk=chunk)  # type: ignore[call-arg]
        else:
            index, names = vector_index.save_rows(directory, kind=kind, ids=ids, rows=rows)
        assert (directory / "vectors.faiss").read_bytes() == (tmp_path / "whole" / "vectors.faiss").read_bytes(), chunk
        assert index.factory == whole.factory and len(index) == 2_000
        assert sorted(names) == sorted(p.name for p in directory.iterdir())
        # What was written is what is searched: each row finds itself first.
        found = index.search(vectors[:50], 1)
        assert [hits[0][0] for hits in found] == ids[:50].tolist() or not index.EXACT_VECTORS
    if whole.EXACT_VECTORS and isinstance(whole, vector_index.IVFIndex):
        np.testing.assert_array_equal(np.load(directory / "ivf_directory.npy"), whole._ivf_directory())


def test_lists_that_do_not_add_up_are_refused_not_written_short(tmp_path: Path) -> None:
    import faiss

    header = faiss.index_factory(8, "IVF4,Flat", faiss.METRIC_INNER_PRODUCT)
    header.train(_unit(np.random.default_rng(9), 200, 8))
    codes = np.zeros((3, header.code_size), dtype=np.uint8)
    chunk = (np.array([0, 1, 1]), codes, np.array([10, 11, 12]))
    with pytest.raises(ValueError, match="3 rows written for lists of 4"):
        vector_index._write_lists(header, np.array([1, 2, 1, 0]), iter([chunk]), tmp_path / "short")
    with pytest.raises(ValueError, match="do not fit"):
        vector_index._write_lists(header, np.array([1, 1, 0, 0]), iter([chunk]), tmp_path / "over")


def test_adding_rows_fills_only_an_empty_index_with_one_id_a_row(tmp_path: Path) -> None:
    vectors = _unit(np.random.default_rng(4), 50, 8)
    rows = _spooled(tmp_path / "rows", vectors)
    index = vector_index.make_index(8, "IDMap,Flat")
    assert isinstance(index, vector_index.FaissIndex)
    with pytest.raises(ValueError, match="49 ids for 50 rows"):
        index.add_rows(np.arange(49), rows)
    index.add_rows(np.arange(50), rows)
    with pytest.raises(ValueError, match="empty index"):
        index.add_rows(np.arange(50) + 100, rows)


def _both_ways(directory: str) -> tuple[int, int, int]:
    """Peak anonymous growth (kB) of a streamed and of an at-once IVF build of the same 200,000
    spooled vectors under ``directory``, and the vectors' size (kB): run by the test below in a
    fresh process, so nothing an earlier test left in the process (threads, heap, BLAS buffers)
    counts against either way."""
    tmp_path = Path(directory)
    count, dim = 200_000, 256
    rows = _spooled(tmp_path / "rows", _unit(np.random.default_rng(6), count, dim), block=20_000)
    ids = np.arange(count, dtype=np.int64)
    faiss.omp_set_num_threads(1)  # the same threads both ways; IVF training's scratch stays small

    def at_once() -> None:
        index = vector_index.make_index(dim, "IVF256,Flat")
        index.add(ids, rows.read(0, count))
        (tmp_path / "at-once").mkdir()
        index.save(tmp_path / "at-once")

    def streamed() -> None:
        (tmp_path / "streamed").mkdir()
        vector_index.IVFIndex.save_rows(tmp_path / "streamed", kind="IVF256,Flat", ids=ids, rows=rows, chunk=10_000)

    return peak_anon_growth_kb(streamed), peak_anon_growth_kb(at_once), count * dim * 4 // 1024


def test_a_full_ivf_build_writes_its_file_without_holding_the_vectors(tmp_path: Path) -> None:
    """Both ways measured side by side on 200,000 vectors of 256 dimensions (205 MB), in a fresh
    process: the whole matrix read, added and saved (before), and ``save_rows`` (a full build
    now): the quantizer trained on a sample, the rows assigned, then written from the spool into
    their lists' places in the file a chunk at a time. Besides the file (page cache) it holds a
    chunk (10,000 rows here, 10 MB, read and sorted by list, and their codes), the list numbers
    (8 bytes a row), the training sample (12,800 rows, 13 MB) and k-means' scratch: a fixed amount
    (~35-45 MB here), whatever the collection's size. Before, it held the matrix and the index's
    copy of it. (Measured in the test run's own process it once read 60 MB after ~800 other
    tests: what they left behind, not the build's.)"""
    probe = f"import django; django.setup(); from {__name__} import _both_ways; print(*_both_ways({str(tmp_path)!r}))"
    result = run_python(probe, clean_env(), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    streamed_kb, at_once_kb, size_kb = (int(n) for n in result.stdout.split()[-3:])
    seen = f"peak anonymous growth: streamed {streamed_kb} KB, at once {at_once_kb} KB, vectors {size_kb} KB"
    assert at_once_kb > 1.8 * size_kb, seen  # the matrix and the index's copy
    assert streamed_kb < 0.3 * size_kb, seen  # a chunk, its codes, the list numbers, the training sample
    assert (tmp_path / "streamed" / "vectors.faiss").read_bytes() == (tmp_path / "at-once" / "vectors.faiss").read_bytes()


@pytest.mark.django_db
def test_a_full_build_publishes_every_stored_vector_and_leaves_no_spool_file(listing_index: list[int]) -> None:
    build = services.index_build(full=True)
    assert build is not None and build.kind == "full"
    directory = index_store.builds_dir() / build.build_id
    assert not (directory / services.SPOOL_FILE).exists()
    manifest = json.loads((directory / "manifest.json").read_text())
    assert services.SPOOL_FILE not in manifest["files"]
    loaded = index_store.load_build(build.build_id)
    assert sorted(int(i) for i in loaded.vectors.ids()) == sorted(listing_index)
    # Each paper is found at the top by its own stored vector: every row went to its own id.
    stored = dict(services._indexable(str(loaded.manifest["model"])).values_list("paper_id", "vector"))
    for paper_id in listing_index[:10]:
        query = np.frombuffer(bytes(stored[paper_id]), dtype=np.float32).reshape(1, -1)
        assert loaded.vectors.search(query, 1)[0][0][0] == paper_id
