"""One small vector-index contract; index kinds described by FAISS factory strings.

Ids are Paper primary keys (int64), never positions; scores are inner products of
L2-normalised vectors (cosine). Missing hits (FAISS's -1) are dropped. No pickle: FAISS's
native format, or ``.npy`` files loaded with ``allow_pickle=False``.

An index kind is a FAISS factory string (INDEX_KIND accepts the aliases on the left)::

    flat -> IDMap,Flat     exact inner product
    ivf  -> IVF{n},Flat    inverted lists; {n} lists chosen at build time, nprobe scanned
    hnsw -> HNSW{M}        graph of degree {M} (INDEX_HNSW_M); efSearch candidates explored
            IVF{n},SQ8     inverted lists of 8-bit scalar-quantised codes (4x smaller)

A placeholder (``{n}``, ``{M}``) is filled at build time; a number fixes it (``IVF1024,Flat``).
``parse_kind`` reads the string once into its family: one small class per family, only where
behaviour differs. A build's manifest records the kind, the concrete factory string and the
parameters; loading reads them back (``load_index``) and never guesses from the file.
Adding a kind is a class below, its entry in FAMILIES, and its test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import numpy as np

from search.files import atomic_path

Results = list[list[tuple[int, float]]]


class VectorIndex(Protocol):
    dim: int
    EXACT_VECTORS: ClassVar[bool]  # False: compressed codes, no exact search within a subset
    kind: str  # what was asked for: "numpy", or a canonical kind such as "IVF{n},Flat"
    params: dict[str, int]

    @property
    def factory(self) -> str: ...  # the concrete structure, e.g. "IVF678,Flat" ("numpy" for NumPy)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def add_rows(self, ids: np.ndarray, rows: RowFile) -> None: ...  # fill an empty index from a spool file

    def remove(self, ids: np.ndarray) -> int: ...

    def search(self, queries: np.ndarray, k: int, *, subset: np.ndarray | None = None) -> Results: ...

    def ids(self) -> np.ndarray: ...

    def __len__(self) -> int: ...

    def save(self, directory: Path) -> list[str]: ...


class ExactSearchUnavailable(ValueError):
    """A subset search asked of a kind that cannot reconstruct its vectors (compressed codes).

    Refused rather than answered from approximate scores: a filter's results would silently
    differ from exact search of the same papers.
    """


def _as_ids(ids: np.ndarray | list[int]) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def _as_vectors(vectors: np.ndarray, dim: int) -> np.ndarray:
    vectors = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if vectors.ndim == 1:
        vectors = vectors.reshape(1, -1)
    if vectors.shape[1] != dim:
        raise ValueError(f"vectors have dimension {vectors.shape[1]}, index has {dim}")
    return vectors


class RowFile:
    """Float32 vectors of one dimension in a raw file, row ``i`` at byte ``i * dim * 4``.

    A full build spools the collection's vectors here as it reads them from the database, then
    builds its index from the file a chunk at a time (``save_rows``): the whole matrix (4 GB at
    2.6M papers) is never in the builder's memory, and an IVF index is written straight to its
    file, so neither is the index.
    Chunks are read with ``np.fromfile``, not a memory map, so the rows read stay out of the
    builder's resident memory too; the file itself is only page cache.
    """

    def __init__(self, path: Path, dim: int = 0) -> None:
        self.path, self.dim, self._count = path, dim, 0
        path.write_bytes(b"")

    def __len__(self) -> int:
        return self._count

    def append(self, block: np.ndarray) -> None:
        """Add rows at the end (the first block fixes the dimension)."""
        block = np.ascontiguousarray(block, dtype=np.float32)
        if not len(block):
            return
        if not self.dim:
            self.dim = int(block.shape[1])
        if block.ndim != 2 or block.shape[1] != self.dim:
            raise ValueError(f"vectors have dimension {block.shape[-1]}, the file holds {self.dim}")
        with open(self.path, "ab") as handle:
            block.tofile(handle)
        self._count += len(block)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start`` to ``stop`` (exclusive) as a new array."""
        stop = min(stop, self._count)
        if stop <= start:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.fromfile(self.path, dtype=np.float32, count=(stop - start) * self.dim, offset=start * self.dim * 4).reshape(-1, self.dim)

    def take(self, positions: np.ndarray, *, chunk: int = 20_000) -> np.ndarray:
        """The rows at ascending ``positions``, in one pass over the file."""
        positions = np.asarray(positions, dtype=np.int64)
        taken = np.empty((len(positions), self.dim), dtype=np.float32)
        done = 0
        for start in range(0, self._count, chunk):
            wanted = positions[done : int(np.searchsorted(positions, start + chunk))]
            if len(wanted):
                taken[done : done + len(wanted)] = self.read(start, start + chunk)[wanted - start]
                done += len(wanted)
        return taken


def _training_sample(vectors: np.ndarray | RowFile, size: int) -> np.ndarray:
    """``size`` rows drawn with a fixed seed (so builds are reproducible), in row order; all of
    them where there are no more."""
    count = len(vectors)
    if count <= size:
        return vectors.read(0, count) if isinstance(vectors, RowFile) else vectors
    positions = np.sort(np.random.default_rng(0).choice(count, size, replace=False))
    return vectors.take(positions) if isinstance(vectors, RowFile) else vectors[positions]


def _no_hits(queries: np.ndarray) -> Results:
    return [[] for _ in range(len(queries))]


# Subsets up to this size are scored exactly from the stored vectors (a gather and one matrix
# product) rather than by a filtered index scan: this is the "score these few papers" path.
SUBSET_EXACT_MAX = 50_000


def ivf_reads_directly(subset_size: int, index_size: int) -> bool:
    """Whether an IVF index should read a subset's vectors one by one from its lists rather than
    scan every list through an id filter: a direct read costs a few hundred times a filtered
    scan's per-vector cost (docs/speed.md)."""
    return subset_size <= max(64, index_size // 256)


def sorted_lookup(sorted_ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index into ``sorted_ids``, found mask) of each wanted id, by binary search."""
    where = np.clip(np.searchsorted(sorted_ids, wanted), 0, max(len(sorted_ids) - 1, 0))
    found = sorted_ids[where] == wanted if len(sorted_ids) else np.zeros(len(wanted), dtype=bool)
    return where, found


def ivf_nlist(count: int, requested: int = 0) -> int:
    """IVF list count: 2 sqrt(n) by default, and at least 39 training points per list.

    FAISS suggests 4-16 sqrt(n) for very large collections; at up to a few million papers on
    2 cores, 2 sqrt(n) trains and assigns several times faster at the same recall for a few
    more probes (docs/benchmarks.md has the nprobe sweep).
    """
    nlist = requested or int(2 * np.sqrt(max(count, 1)))
    return int(max(1, min(nlist, count // 39 if count >= 39 else 1)))


def auto_nprobe(nlist: int) -> int:
    """64 lists, or one list in 32 where a build has more than 2,048 (over ~1M papers).

    Measured dense recall@10 against exact search: 0.9705 at 1M papers (2,000 lists, 64 probes),
    but 0.9485 at 2.6M (3,224 lists, 64 probes: 2% of the lists) and 0.965 / 0.9765 at 96 / 128
    probes (docs/scale.md); probing a fixed share of the lists holds recall as the collection grows.
    """
    return max(64, -(-nlist // 32))


def _configured(names: dict[str, str]) -> dict[str, int]:
    """Parameters from Django settings (param -> setting name); none without configured settings."""
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
    except ImportError:  # the index works without Django (library defaults)
        return {}
    try:
        return {param: int(getattr(settings, name)) for param, name in names.items()}
    except (AttributeError, ImproperlyConfigured):  # settings absent or not configured: defaults
        return {}


class FaissIndex:
    """FAISS inner-product search with Paper pks as ids: what every family shares.

    Loaded builds are memory-mapped read-only (``IO_FLAG_MMAP_IFC``): the vectors stay in the
    page cache, shared by every web process that serves the same build. Subclasses are the
    families; ``make_index`` and ``load_index`` pick one from the kind.
    """

    FILENAME = "vectors.faiss"
    PATTERN: ClassVar[re.Pattern[str]]
    DEFAULTS: ClassVar[dict[str, int]] = {}
    SETTINGS: ClassVar[dict[str, str]] = {}  # parameter -> Django setting
    # Read from settings at load, so they can be tuned without a rebuild; the rest is structure.
    SEARCH_PARAMS: ClassVar[tuple[str, ...]] = ()
    # Whether stored vectors can be read back exactly (exact search within a subset).
    EXACT_VECTORS: ClassVar[bool] = True

    def __init__(self, dim: int, kind: str, *, params: dict[str, int] | None = None, index: Any = None) -> None:
        self.dim = dim
        self.kind = kind
        self.params = {**self.default_params(kind), **(params or {})}
        self._index: Any = index  # created on the first add, when the data is known
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    # --- the kind -----------------------------------------------------------------------------
    @classmethod
    def canonical(cls, match: re.Match[str]) -> str:
        """The one spelling of a kind this family matched (what manifests and settings compare)."""
        raise NotImplementedError

    @classmethod
    def fixed_params(cls, kind: str) -> dict[str, int]:
        """Parameters a kind's string fixes with a number (``IVF1024``: nlist 1024)."""
        return {}

    @classmethod
    def default_params(cls, kind: str) -> dict[str, int]:
        """Library defaults, overridden by settings, overridden by the numbers in the kind."""
        return {**cls.DEFAULTS, **_configured(cls.SETTINGS), **cls.fixed_params(kind)}

    @property
    def factory(self) -> str:
        """The concrete FAISS factory string of this index (placeholders filled from params)."""
        return self.kind

    # --- building -----------------------------------------------------------------------------
    def _create(self, vectors: np.ndarray | RowFile) -> Any:
        """An empty FAISS index of this kind, trained on ``vectors`` where the kind needs it."""
        import faiss

        return faiss.index_factory(self.dim, self.factory, faiss.METRIC_INNER_PRODUCT)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = _as_ids(ids)
        if not len(ids):
            return
        vectors = _as_vectors(vectors, self.dim)
        self.remove(ids)  # re-adding an id replaces its vector
        if self._index is None:
            self._index = self._create(vectors)
        self._index.add_with_ids(vectors, ids)
        self._changed()

    def add_rows(self, ids: np.ndarray, rows: RowFile, *, chunk: int = 20_000) -> None:
        """Fill this empty index with ``rows`` (row ``i`` is paper ``ids[i]``), ``chunk`` rows at a
        time: only the index's own copy of the vectors is ever whole in memory. The same index
        as ``add(ids, rows.read(0, len(rows)))``: FAISS adds rows in order either way."""
        ids = _as_ids(ids)
        if self._index is not None and len(self):
            raise ValueError("add_rows fills an empty index")
        if len(ids) != len(rows):
            raise ValueError(f"{len(ids)} ids for {len(rows)} rows")
        if not len(ids):
            return
        self._index = self._create(rows)
        self._fill(ids, rows, chunk)
        self._changed()

    def _fill(self, ids: np.ndarray, rows: RowFile, chunk: int) -> None:
        for start in range(0, len(ids), chunk):
            self._index.add_with_ids(_as_vectors(rows.read(start, start + chunk), self.dim), ids[start : start + chunk])

    def remove(self, ids: np.ndarray) -> int:
        import faiss

        ids = _as_ids(ids)
        if not len(ids) or self._index is None:
            return 0
        self._changed()
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))

    def _changed(self) -> None:
        self._sorted = None

    # --- searching ----------------------------------------------------------------------------
    def _search_params(self, k: int) -> Any:
        return None

    def _scan_params(self, k: int, selector: Any) -> Any:
        """Parameters of a scan restricted to a subset, exact within it."""
        import faiss

        return faiss.SearchParameters(sel=selector)

    def _stored_vectors(self, positions: np.ndarray) -> np.ndarray:
        return np.asarray(self._index.index.reconstruct_batch(positions.astype(np.int64)), dtype=np.float32).reshape(-1, self.dim)

    def _positions_of(self, ids: np.ndarray) -> np.ndarray:
        """Positions in the flat storage of the given pks (unknown pks skipped)."""
        if self._sorted is None:
            id_map = self.ids()
            order = np.argsort(id_map, kind="stable")
            self._sorted = (id_map[order], order)
        sorted_ids, order = self._sorted
        where, found = sorted_lookup(sorted_ids, ids)
        return order[where[found]]

    def _subset_exactly(self, queries: np.ndarray, k: int, subset: np.ndarray) -> Results | None:
        """Exact top-k of a (sorted, unique) subset from its stored vectors; None: scan instead."""
        if len(subset) > SUBSET_EXACT_MAX:
            return None
        positions = self._positions_of(subset)
        if not len(positions):
            return _no_hits(queries)
        return _exact_top_k(queries, self.ids()[positions], self._stored_vectors(positions), k)

    def search(self, queries: np.ndarray, k: int, *, subset: np.ndarray | None = None) -> Results:
        """Top-k (pk, score) per query, best first; within ``subset`` (pks) the ranking is exact.

        Raises ExactSearchUnavailable for a subset on a kind that cannot reconstruct vectors.
        """
        import faiss

        if not len(self):  # an empty build's dimension is a placeholder: nothing to compare against
            return [[] for _ in range(len(np.atleast_2d(queries)))]

        queries = _as_vectors(queries, self.dim)
        if subset is not None and not self.EXACT_VECTORS:
            raise ExactSearchUnavailable(
                f"a {self.factory} index stores compressed codes and cannot search within a filter "
                "exactly; build an exact-reconstructing kind (IDMap,Flat, IVF{n},Flat or HNSW{M}) to filter"
            )
        k = min(k, len(self))
        if k <= 0:
            return _no_hits(queries)
        if subset is None:
            params = self._search_params(k)
        else:
            subset = np.unique(_as_ids(subset))
            if not len(subset):
                return _no_hits(queries)
            found = self._subset_exactly(queries, k, subset)
            if found is not None:
                return found
            k = min(k, len(subset))
            params = self._scan_params(k, faiss.IDSelectorBatch(subset))
        with _threads_for(len(queries)):
            scores, ids = self._index.search(queries, k, params=params)
        return _rows(ids, scores)

    def ids(self) -> np.ndarray:
        import faiss

        if self._index is None:
            return np.zeros(0, dtype=np.int64)
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def __len__(self) -> int:
        return int(self._index.ntotal) if self._index is not None else 0

    # --- files --------------------------------------------------------------------------------
    def save(self, directory: Path) -> list[str]:
        """Write the index into ``directory`` (each file atomically); returns the file names."""
        import faiss

        index = self._index
        if index is None:  # nothing added yet: an empty exact index holds no structure to train
            index = faiss.IndexIDMap(faiss.IndexFlatIP(self.dim))
        with atomic_path(directory / self.FILENAME) as tmp:
            faiss.write_index(index, str(tmp))
        return [self.FILENAME]

    @classmethod
    def load(cls, directory: Path, *, kind: str, params: dict[str, int], mmap: bool = True, with_family_files: bool = True) -> FaissIndex:
        """A saved build of this family; structure from the manifest's ``params``, search
        parameters (SEARCH_PARAMS) from settings. ``with_family_files``: False reads only the
        FAISS file (the family's other files are still to be written)."""
        import faiss

        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
        index = faiss.read_index(str(directory / cls.FILENAME), flags)
        tunable = {name: value for name, value in cls.default_params(kind).items() if name in cls.SEARCH_PARAMS}
        loaded = cls(int(index.d), kind, params={**params, **tunable}, index=index if index.ntotal else None)
        if with_family_files:
            loaded._loaded(directory, mmap=mmap)
        return loaded

    def _loaded(self, directory: Path, *, mmap: bool) -> None:
        """Family files beside the FAISS file."""

    @classmethod
    def save_updated(
        cls, source: Path, directory: Path, *, kind: str, params: dict[str, int], remove: np.ndarray, ids: np.ndarray, vectors: np.ndarray
    ) -> tuple[FaissIndex, list[str]]:
        """The index saved in ``source`` less ``remove``, plus ``ids``' vectors, saved into
        ``directory``: a private copy changed in memory (families without a streaming update)."""
        index = cls.load(source, kind=kind, params=params, mmap=False)
        index.remove(remove)
        index.add(ids, vectors)
        return index, index.save(directory)

    @classmethod
    def save_rows(cls, directory: Path, *, kind: str, ids: np.ndarray, rows: RowFile) -> tuple[FaissIndex, list[str]]:
        """A new index of ``rows`` (row ``i`` is paper ``ids[i]``) saved into ``directory``: a full
        build. Here filled in memory a chunk at a time (``add_rows``), then written."""
        index = cls(rows.dim, kind)
        index.add_rows(ids, rows)
        return index, index.save(directory)


class FlatIndex(FaissIndex):
    """``IDMap,Flat``: exact inner product over every vector."""

    PATTERN = re.compile(r"(?:IDMap,)?Flat")

    @classmethod
    def canonical(cls, match: re.Match[str]) -> str:
        return "IDMap,Flat"


class HNSWIndex(FaissIndex):
    """``HNSW{M}``: a graph searched with ``efSearch`` candidates.

    HNSW graphs cannot delete: removing (or replacing) ids rebuilds the graph from the kept
    vectors, which the flat storage under the graph reconstructs exactly.
    """

    PATTERN = re.compile(r"(?:IDMap,)?HNSW(\{M\}|[1-9]\d*)(?:,Flat)?")
    DEFAULTS: ClassVar[dict[str, int]] = {"M": 32, "efConstruction": 80, "efSearch": 128}
    SETTINGS: ClassVar[dict[str, str]] = {"M": "INDEX_HNSW_M", "efConstruction": "INDEX_HNSW_EF_CONSTRUCTION", "efSearch": "INDEX_HNSW_EF_SEARCH"}
    SEARCH_PARAMS = ("efSearch",)

    @classmethod
    def canonical(cls, match: re.Match[str]) -> str:
        return f"HNSW{match.group(1)}"

    @classmethod
    def fixed_params(cls, kind: str) -> dict[str, int]:
        degree = kind.removeprefix("HNSW")
        return {"M": int(degree)} if degree.isdigit() else {}

    @property
    def factory(self) -> str:
        return f"IDMap,HNSW{self.params['M']}"

    def _create(self, vectors: np.ndarray | RowFile) -> Any:
        import faiss

        index = super()._create(vectors)
        faiss.downcast_index(index.index).hnsw.efConstruction = self.params["efConstruction"]
        return index

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = _as_ids(ids)
        if len(ids) and len(self) and not np.isin(self.ids(), ids).any():
            # Nothing to replace: skip remove(), which would rebuild the graph.
            vectors = _as_vectors(vectors, self.dim)
            self._index.add_with_ids(vectors, ids)
            self._changed()
            return
        super().add(ids, vectors)

    def remove(self, ids: np.ndarray) -> int:
        ids = _as_ids(ids)
        if not len(ids) or self._index is None:
            return 0
        current = self.ids()
        keep = ~np.isin(current, ids)
        removed = int((~keep).sum())
        if removed:
            kept_ids, kept = current[keep], self._stored_vectors(np.flatnonzero(keep))
            self._index = None
            if len(kept_ids):
                self._index = self._create(kept)
                self._index.add_with_ids(kept, kept_ids)
            self._changed()
        return removed

    def _stored_vectors(self, positions: np.ndarray) -> np.ndarray:
        import faiss

        storage = faiss.downcast_index(self._index.index).storage
        return np.asarray(storage.reconstruct_batch(positions.astype(np.int64)), dtype=np.float32).reshape(-1, self.dim)

    def _search_params(self, k: int) -> Any:
        import faiss

        return faiss.SearchParametersHNSW(efSearch=max(self.params["efSearch"], k))

    def _scan_params(self, k: int, selector: Any) -> Any:
        import faiss

        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.params["efSearch"], 2 * k))


class IVFIndex(FaissIndex):
    """``IVF{n},Flat``: vectors in ``nlist`` inverted lists (ids stored in the lists); ``nprobe``
    lists scanned per query.

    A build also stores where each id sits in the lists (``ivf_directory.npy``, memory-mapped),
    so the vectors of a few given papers are read directly instead of scanning every list.
    """

    PATTERN = re.compile(r"IVF(\{n\}|[1-9]\d*),Flat")
    CODE = "Flat"
    # nlist 0: 2 sqrt(n), chosen at build; nprobe 0: ``auto_nprobe(nlist)``, chosen at load.
    DEFAULTS: ClassVar[dict[str, int]] = {"nlist": 0, "nprobe": 0}
    SETTINGS: ClassVar[dict[str, str]] = {"nlist": "INDEX_IVF_NLIST", "nprobe": "INDEX_IVF_NPROBE"}
    SEARCH_PARAMS = ("nprobe",)
    DIRECTORY = "ivf_directory.npy"  # (2, n) int64: sorted ids; list number << 32 | offset

    def __init__(self, dim: int, kind: str, *, params: dict[str, int] | None = None, index: Any = None) -> None:
        super().__init__(dim, kind, params=params, index=index)
        self._directory: np.ndarray | None = None

    @classmethod
    def canonical(cls, match: re.Match[str]) -> str:
        return f"IVF{match.group(1)},{cls.CODE}"

    @classmethod
    def fixed_params(cls, kind: str) -> dict[str, int]:
        lists = kind.split(",")[0].removeprefix("IVF")
        return {"nlist": int(lists)} if lists.isdigit() else {}

    @property
    def factory(self) -> str:
        return f"IVF{self.params['nlist'] or '{n}'},{self.CODE}"

    def _create(self, vectors: np.ndarray | RowFile) -> Any:
        self.params["nlist"] = ivf_nlist(len(vectors), self.params.get("nlist", 0))
        index = super()._create(vectors)
        # 50 points per list train well.
        index.train(np.ascontiguousarray(_training_sample(vectors, self.params["nlist"] * 50)))
        return index

    @classmethod
    def save_rows(
        cls, directory: Path, *, kind: str, ids: np.ndarray, rows: RowFile, chunk: int = 32_768
    ) -> tuple[FaissIndex, list[str]]:
        """A full build written straight into its file, never held in memory as an index.

        The quantizer is trained on a sample, every row assigned its list (8 bytes a row), then
        the spool is read once more, a chunk at a time, and each chunk's rows written to their
        lists' places in the file (``_write_lists``): the builder holds a chunk and the list
        numbers, not the lists (4 GB at 2.6M papers, the peak of a full build's vector half:
        docs/scale.md, run 9). Byte for byte the file ``faiss.write_index`` writes after one
        ``add`` of the whole matrix: FAISS adds rows to their lists in row order, as here.
        """
        import faiss

        ids = _as_ids(ids)
        if len(ids) != len(rows):
            raise ValueError(f"{len(ids)} ids for {len(rows)} rows")
        if not len(ids):
            return super().save_rows(directory, kind=kind, ids=ids, rows=rows)
        index = cls(rows.dim, kind)
        trained = index._create(rows)  # the quantizer (and codec) trained; no vectors yet
        ivf = faiss.extract_index_ivf(trained)
        assigned = np.empty(len(ids), dtype=np.int64)
        for start in range(0, len(ids), chunk):
            block = _as_vectors(rows.read(start, start + chunk), index.dim)
            assigned[start : start + len(block)] = ivf.quantizer.assign(block, 1).reshape(-1)

        def chunks() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
            for start in range(0, len(ids), chunk):
                stop = min(start + chunk, len(ids))
                order = np.argsort(assigned[start:stop], kind="stable")  # by list, rows in order within one
                block = _as_vectors(rows.read(start, stop)[order], index.dim)
                lists = np.ascontiguousarray(assigned[start:stop][order])
                codes = np.empty((len(block), ivf.code_size), dtype=np.uint8)
                ivf.encode_vectors(len(block), faiss.swig_ptr(block), faiss.swig_ptr(lists), faiss.swig_ptr(codes))
                chunk_rows = (lists, codes, ids[start:stop][order])
                del block, lists, codes  # the writer holds the chunk now; nothing of it stays here
                yield chunk_rows
                del chunk_rows

        with atomic_path(directory / cls.FILENAME) as tmp:
            _write_lists(trained, np.bincount(assigned, minlength=ivf.nlist), chunks(), tmp)
        return cls._read_back(directory, kind=kind, params=index.params)

    def _changed(self) -> None:
        super()._changed()
        self._directory = None

    def _search_params(self, k: int) -> Any:
        import faiss

        return faiss.SearchParametersIVF(nprobe=self.nprobe)

    @property
    def nprobe(self) -> int:
        """Lists scanned per query: INDEX_IVF_NPROBE, or for 0 ``auto_nprobe`` of this build's lists."""
        nlist = int(self._index.nlist)
        return min(self.params["nprobe"] or auto_nprobe(nlist), nlist)

    def _scan_params(self, k: int, selector: Any) -> Any:
        import faiss

        # Every list, filtered: exact within the subset, however few of its members a probe would reach.
        return faiss.SearchParametersIVF(sel=selector, nprobe=self._index.nlist)

    def _subset_exactly(self, queries: np.ndarray, k: int, subset: np.ndarray) -> Results | None:
        if not ivf_reads_directly(len(subset), len(self)):
            return None
        ids, vectors = self._ivf_vectors(subset)
        return _exact_top_k(queries, ids, vectors, k) if len(ids) else _no_hits(queries)

    def _ivf_directory(self) -> np.ndarray:
        """Sorted ids and their places in the inverted lists (``list << 32 | offset``), (2, n)."""
        if self._directory is None:
            ids = self.ids()  # list by list, each in offset order
            sizes = np.array([self._index.invlists.list_size(n) for n in range(self._index.nlist)], dtype=np.int64)
            lists = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
            offsets = np.arange(len(ids), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            order = np.argsort(ids, kind="stable")
            self._directory = np.stack([ids[order], ((lists << 32) | offsets)[order]])
        return self._directory

    def _ivf_vectors(self, subset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of the members of ``subset`` (sorted, unique) read from the IVF lists."""
        import faiss

        directory = self._ivf_directory()
        where, found = sorted_lookup(directory[0], subset)
        places = np.asarray(directory[1][where[found]])
        vectors = np.empty((len(places), self.dim), dtype=np.float32)
        for row, place in enumerate(places.tolist()):
            self._index.reconstruct_from_offset(place >> 32, place & 0xFFFFFFFF, faiss.swig_ptr(vectors[row]))
        return subset[found], vectors

    def ids(self) -> np.ndarray:
        import faiss

        if self._index is None:
            return np.zeros(0, dtype=np.int64)
        invlists = self._index.invlists
        parts = [
            faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
            for i in range(self._index.nlist)
            if invlists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def save(self, directory: Path) -> list[str]:
        names = super().save(directory)
        if self._index is None or not self.EXACT_VECTORS:
            return names
        with atomic_path(directory / self.DIRECTORY) as tmp, open(tmp, "wb") as handle:
            np.save(handle, self._ivf_directory(), allow_pickle=False)
        return [*names, self.DIRECTORY]

    def _loaded(self, directory: Path, *, mmap: bool) -> None:
        if self._index is not None and self.EXACT_VECTORS:
            # Shared page cache like the lists.
            self._directory = np.load(directory / self.DIRECTORY, mmap_mode="r" if mmap else None, allow_pickle=False)

    @classmethod
    def save_updated(
        cls, source: Path, directory: Path, *, kind: str, params: dict[str, int], remove: np.ndarray, ids: np.ndarray, vectors: np.ndarray
    ) -> tuple[FaissIndex, list[str]]:
        """Stream the base build's lists into the new file, list by list, without a private copy.

        The base is memory-mapped (the page cache web processes already share); each list is
        written with the removed and replaced ids left out and the new vectors assigned to it
        appended, so the builder's own memory holds one list at a time and the id directory
        (16 bytes a paper), not the collection (4 GB at 2.6M papers, which made a build the peak
        of the whole stack: docs/scale.md, runs 6 and 7).
        Written by hand in FAISS's own layout (``_write_ivf``) because FAISS can only write an
        index it holds in memory; the result is loaded back with FAISS before it is used.
        """
        import faiss

        base = faiss.read_index(str(source / cls.FILENAME), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
        if not base.ntotal or base.direct_map.type != faiss.DirectMap.NoMap:
            return super().save_updated(source, directory, kind=kind, params=params, remove=remove, ids=ids, vectors=vectors)
        ids = _as_ids(ids)
        added = faiss.deserialize_index(_without_lists(base))  # same trained quantizer and codes, no vectors
        if len(ids):
            added.add_with_ids(_as_vectors(vectors, int(base.d)), ids)
        dropped = np.unique(np.concatenate([_as_ids(remove), ids]))  # re-adding an id replaces its vector
        with atomic_path(directory / cls.FILENAME) as tmp:
            _write_ivf(base, added, dropped, tmp)
        del base, added
        return cls._read_back(directory, kind=kind, params=params)

    @classmethod
    def _read_back(cls, directory: Path, *, kind: str, params: dict[str, int]) -> tuple[FaissIndex, list[str]]:
        """The index file written by hand, read back by FAISS (memory-mapped), and the family's
        id directory written from it."""
        index = cls.load(directory, kind=kind, params=params, with_family_files=False)
        if not isinstance(index, IVFIndex):  # pragma: no cover - load returns its own class
            raise TypeError(f"{cls.__name__}.load returned a {type(index).__name__}")
        names = [cls.FILENAME]
        if index.EXACT_VECTORS:
            with atomic_path(directory / cls.DIRECTORY) as tmp, open(tmp, "wb") as handle:
                np.save(handle, index._ivf_directory(), allow_pickle=False)
            names.append(cls.DIRECTORY)
        return index, names


class IVFSQ8Index(IVFIndex):
    """``IVF{n},SQ8``: the IVF lists hold 8-bit scalar-quantised codes (a quarter of the bytes).

    Codes decode only approximately, so exact search within a subset is refused
    (ExactSearchUnavailable) rather than answered from approximate scores.
    """

    PATTERN = re.compile(r"IVF(\{n\}|[1-9]\d*),SQ8")
    CODE = "SQ8"
    EXACT_VECTORS = False


def _without_lists(index: Any, *, total: int = 0) -> np.ndarray:
    """``index`` serialised with empty inverted lists (its header: quantizer, codec, sizes), its
    header saying it holds ``total`` vectors."""
    import faiss

    lists, owned, own_total = index.invlists, index.own_invlists, index.ntotal
    index.own_invlists = False  # so replacing the lists does not free the mapped ones
    empty = faiss.ArrayInvertedLists(index.nlist, index.code_size)
    index.replace_invlists(empty, False)
    index.ntotal = total
    try:
        return np.asarray(faiss.serialize_index(index))
    finally:
        index.replace_invlists(lists, owned)
        index.ntotal = own_total


def _lists_header(nlist: int, code_size: int, sizes: np.ndarray) -> bytes:
    """FAISS's ``ilar`` section header (faiss/impl/index_write.cpp, write_InvertedLists): list
    sizes in full when over half the lists hold vectors, else (list, size) pairs of the others."""
    sizes = np.asarray(sizes, dtype=np.uint64)
    head = b"ilar" + np.array([nlist, code_size], dtype=np.uint64).tobytes()
    nonempty = np.flatnonzero(sizes)
    if len(nonempty) > nlist // 2:
        return head + b"full" + np.uint64(len(sizes)).tobytes() + sizes.tobytes()
    pairs = np.stack([nonempty.astype(np.uint64), sizes[nonempty]], axis=1).reshape(-1)
    return head + b"sprs" + np.uint64(len(pairs)).tobytes() + pairs.tobytes()


def _ivf_head(index: Any, sizes: np.ndarray) -> bytes:
    """What FAISS writes of IVF ``index`` before its lists' contents, for lists of ``sizes``:
    its header (quantizer, codec, ``sizes.sum()`` vectors) and the lists section's header."""
    nlist, code_size = int(index.nlist), int(index.code_size)
    blank = _without_lists(index, total=int(np.sum(sizes))).tobytes()
    tail = _lists_header(nlist, code_size, np.zeros(nlist, dtype=np.int64))
    if not blank.endswith(tail):
        raise ValueError("this FAISS writes IVF files in a layout the streaming writers do not know")
    return blank[: -len(tail)] + _lists_header(nlist, code_size, sizes)


def _write_ivf(base: Any, added: Any, dropped: np.ndarray, path: Path) -> None:
    """Write ``base``'s lists less the ``dropped`` ids, each followed by ``added``'s same list, to
    ``path`` in FAISS's format: what ``faiss.write_index`` writes for that index held in memory."""
    import faiss

    nlist, code_size = int(base.nlist), int(base.code_size)

    def list_of(index: Any, number: int) -> tuple[np.ndarray, np.ndarray]:
        count = int(index.invlists.list_size(number))
        if not count:
            return np.zeros(0, dtype=np.int64), np.zeros((0, code_size), dtype=np.uint8)
        ids = faiss.rev_swig_ptr(index.invlists.get_ids(number), count)
        codes = faiss.rev_swig_ptr(index.invlists.get_codes(number), count * code_size).reshape(count, code_size)
        return ids, codes

    kept: list[np.ndarray | None] = []  # per list: which base entries stay (None: all of them)
    sizes = np.zeros(nlist, dtype=np.int64)
    for number in range(nlist):
        ids, _ = list_of(base, number)
        keep = ~np.isin(ids, dropped) if len(dropped) and len(ids) else None
        if keep is not None and keep.all():
            keep = None
        kept.append(keep)
        sizes[number] = (len(ids) if keep is None else int(keep.sum())) + int(added.invlists.list_size(number))

    with open(path, "wb") as handle:
        handle.write(_ivf_head(added, sizes))  # the header of the (small) added index
        for number in range(nlist):
            if not sizes[number]:
                continue
            base_ids, base_codes = list_of(base, number)
            new_ids, new_codes = list_of(added, number)
            keep = kept[number]
            if keep is not None:
                base_ids, base_codes = base_ids[keep], base_codes[keep]
            for part in (base_codes, new_codes, base_ids, new_ids):  # a list's codes, then its ids
                if len(part):
                    handle.write(np.ascontiguousarray(part).reshape(-1).view(np.uint8).data)


def _write_lists(header: Any, sizes: np.ndarray, chunks: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], path: Path) -> None:
    """Write to ``path`` the IVF index ``header`` (trained, its lists empty) holding lists of
    ``sizes``, filled from ``chunks`` of (list numbers, codes, ids), each chunk's rows sorted by
    list and appended to their lists in the order given. FAISS's
    format (``_write_ivf``'s layout: a list's codes, then its ids); each chunk's rows are written
    at their lists' places in the file, one run of rows per list."""
    nlist, code_size = int(header.nlist), int(header.code_size)
    sizes = np.asarray(sizes, dtype=np.int64)
    head = _ivf_head(header, sizes)
    ends = len(head) + np.cumsum(sizes * (code_size + 8))
    code_at = ends - sizes * (code_size + 8)  # where each list's codes start; its ids follow them
    id_at = code_at + sizes * code_size
    filled = np.zeros(nlist, dtype=np.int64)
    with open(path, "wb") as handle:
        handle.write(head)
        handle.flush()
        fd = handle.fileno()
        for lists, codes, ids in chunks:
            ids = _as_ids(ids)
            numbers, firsts, counts = np.unique(lists, return_index=True, return_counts=True)
            if len(numbers) and (numbers[0] < 0 or numbers[-1] >= nlist or (filled[numbers] + counts > sizes[numbers]).any()):
                raise ValueError("rows do not fit the list sizes given")
            if (np.diff(lists) < 0).any():
                raise ValueError("a chunk's rows must come sorted by list")
            for number, first, count, offset in zip(numbers.tolist(), firsts.tolist(), counts.tolist(), filled[numbers].tolist()):
                _pwrite_all(fd, codes[first : first + count], int(code_at[number]) + offset * code_size)
                _pwrite_all(fd, ids[first : first + count], int(id_at[number]) + offset * 8)
            filled[numbers] += counts
            del lists, codes, ids  # before the next chunk is read
        if not (filled == sizes).all():
            raise ValueError(f"{int(filled.sum())} rows written for lists of {int(sizes.sum())}")


def _pwrite_all(fd: int, values: np.ndarray, offset: int) -> None:
    """Every byte of ``values`` (contiguous) at ``offset``: a short write is retried for the rest."""
    data = np.ascontiguousarray(values).reshape(-1).view(np.uint8).data
    while len(data):
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written


def save_rows(directory: Path, *, kind: str, ids: np.ndarray, rows: RowFile) -> tuple[VectorIndex, list[str]]:
    """Save into ``directory`` a new index of ``kind`` holding ``rows`` (row ``i`` is paper
    ``ids[i]``, read from the spool file a chunk at a time): a full build. Returns the index and
    the files written."""
    if kind == NumpyIndex.KIND:
        index = NumpyIndex(rows.dim or 1)
        index.add_rows(ids, rows)
        return index, index.save(directory)
    return family_of(kind).save_rows(directory, kind=parse_kind(kind), ids=ids, rows=rows)


def save_updated(
    source: Path, directory: Path, *, kind: str, params: dict[str, int], remove: np.ndarray, ids: np.ndarray, vectors: np.ndarray
) -> tuple[VectorIndex, list[str]]:
    """Save into ``directory`` the index saved in ``source`` with ``remove`` removed and ``ids``'
    ``vectors`` added (re-adding replaces): an incremental build. Returns the new index (read
    back from ``directory``) and the files written."""
    if kind == NumpyIndex.KIND:
        index = NumpyIndex.load(source, mmap=False)
        index.remove(remove)
        index.add(ids, vectors)
        return index, index.save(directory)
    return family_of(kind).save_updated(source, directory, kind=parse_kind(kind), params=params, remove=remove, ids=ids, vectors=vectors)


# Every FAISS family; parse_kind tries them in order.
FAMILIES: tuple[type[FaissIndex], ...] = (FlatIndex, IVFIndex, IVFSQ8Index, HNSWIndex)
KIND_ALIASES = {"flat": "IDMap,Flat", "ivf": "IVF{n},Flat", "hnsw": "HNSW{M}"}


def _family_match(value: str) -> tuple[type[FaissIndex], re.Match[str]]:
    text = str(value).strip()
    text = KIND_ALIASES.get(text.lower(), text.replace(" ", ""))
    for family in FAMILIES:
        match = family.PATTERN.fullmatch(text)
        if match:
            return family, match
    raise ValueError(
        f"{value!r} is not an index kind: use auto, flat, ivf, hnsw or a FAISS factory string "
        "such as IDMap,Flat, IVF{n},Flat, IVF1024,Flat or HNSW32 ({n} and {M} are chosen at build time)"
    )


def parse_kind(value: str) -> str:
    """The canonical spelling of an INDEX_KIND value ("auto" stays "auto"); ValueError names
    what is accepted. Pure: no settings, no FAISS (for system checks and settings)."""
    if str(value).strip().lower() == "auto":
        return "auto"
    family, match = _family_match(value)
    return family.canonical(match)


def family_of(kind: str) -> type[FaissIndex]:
    """The class that builds and loads an index kind."""
    return _family_match(kind)[0]


def filters_exactly(kind: str) -> bool:
    """Whether a kind can search within a filter exactly (False: compressed codes)."""
    return True if parse_kind(kind) == "auto" else family_of(kind).EXACT_VECTORS


def choose_kind(count: int) -> str:
    """The configured INDEX_KIND (canonical), or for ``auto`` exact flat up to
    INDEX_AUTO_EXACT_MAX papers and IVF above."""
    from django.conf import settings

    kind = parse_kind(settings.INDEX_KIND)
    if kind == "auto":
        return "IDMap,Flat" if count <= settings.INDEX_AUTO_EXACT_MAX else "IVF{n},Flat"
    return kind


def make_index(dim: int, kind: str, *, params: dict[str, int] | None = None) -> VectorIndex:
    """An empty index: ``kind`` is "numpy" (brute force) or an index kind (see parse_kind)."""
    if kind == NumpyIndex.KIND:
        return NumpyIndex(dim)
    canonical = parse_kind(kind)
    if canonical == "auto":
        raise ValueError("'auto' is resolved by choose_kind(count) before an index is made")
    return family_of(canonical)(dim, canonical, params=params)


def load_index(directory: Path, *, kind: str, params: dict[str, int], mmap: bool = True) -> VectorIndex:
    """A saved index of the kind its manifest records (never guessed from the files)."""
    if kind == NumpyIndex.KIND:
        return NumpyIndex.load(directory, mmap=mmap)
    return family_of(kind).load(directory, kind=parse_kind(kind), params=params, mmap=mmap)


_process_threads: int | None = None


@contextmanager
def _threads_for(queries: int) -> Iterator[None]:
    """One OpenMP thread for a handful of queries, the process default for batches.

    A web process answers one query per request thread; an OpenMP team for a single query only
    spins against the other threads on 2 cores (docs/speed.md). Batches (evaluation,
    benchmarks) keep every core.
    """
    import faiss

    global _process_threads
    if _process_threads is None:
        _process_threads = int(faiss.omp_get_max_threads())
    if queries >= 16 or _process_threads == 1:
        yield
        return
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        # Restore the process default (not the value read on entry: concurrent searches would
        # otherwise leave the process at one thread for good).
        faiss.omp_set_num_threads(_process_threads)


def _rows(ids: np.ndarray, scores: np.ndarray) -> Results:
    return [
        [(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i != -1]
        for row_ids, row_scores in zip(ids, scores, strict=True)
    ]


def _exact_top_k(queries: np.ndarray, ids: np.ndarray, vectors: np.ndarray, k: int) -> Results:
    k = min(k, len(ids))
    results = []
    for row in queries @ vectors.T:
        top = np.argpartition(-row, k - 1)[:k] if k < len(row) else np.arange(len(row))
        # Ties broken by id so every kind agrees on order.
        ordered = sorted(top, key=lambda j: (-row[j], ids[j]))
        results.append([(int(ids[j]), float(row[j])) for j in ordered])
    return results


class NumpyIndex:
    """Brute-force reference backend with the same contract (tests, tiny collections)."""

    KIND = "numpy"
    FILENAMES = ("ids.npy", "vectors.npy")
    EXACT_VECTORS: ClassVar[bool] = True

    def __init__(self, dim: int, ids: np.ndarray | None = None, vectors: np.ndarray | None = None) -> None:
        self.dim = dim
        self.kind = self.KIND
        self.params: dict[str, int] = {}
        self._ids = _as_ids(ids if ids is not None else [])
        self._vectors = vectors if vectors is not None else np.zeros((0, dim), dtype=np.float32)

    @property
    def factory(self) -> str:
        return self.KIND

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = _as_ids(ids)
        if len(ids):
            self.remove(ids)
            self._ids = np.concatenate([self._ids, ids])
            self._vectors = np.vstack([self._vectors, _as_vectors(vectors, self.dim)])

    def add_rows(self, ids: np.ndarray, rows: RowFile) -> None:
        """The reference reads them all: it holds every vector in memory anyway."""
        self.add(ids, rows.read(0, len(rows)))

    def remove(self, ids: np.ndarray) -> int:
        keep = ~np.isin(self._ids, _as_ids(ids))
        removed = int((~keep).sum())
        self._ids, self._vectors = self._ids[keep], self._vectors[keep]
        return removed

    def search(self, queries: np.ndarray, k: int, *, subset: np.ndarray | None = None) -> Results:
        if not len(self):  # an empty build's dimension is a placeholder: nothing to compare against
            return [[] for _ in range(len(np.atleast_2d(queries)))]
        queries = _as_vectors(queries, self.dim)
        ids, vectors = self._ids, self._vectors
        if subset is not None:
            mask = np.isin(ids, _as_ids(subset))
            ids, vectors = ids[mask], vectors[mask]
        if min(k, len(ids)) <= 0:
            return _no_hits(queries)
        return _exact_top_k(queries, ids, np.asarray(vectors), k)

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def __len__(self) -> int:
        return len(self._ids)

    def save(self, directory: Path) -> list[str]:
        for name, array in zip(self.FILENAMES, (self._ids, np.asarray(self._vectors)), strict=True):
            with atomic_path(directory / name) as tmp, open(tmp, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
        return list(self.FILENAMES)

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> NumpyIndex:
        mode: Literal["r"] | None = "r" if mmap else None
        ids = np.load(directory / "ids.npy", mmap_mode=mode, allow_pickle=False)
        vectors = np.load(directory / "vectors.npy", mmap_mode=mode, allow_pickle=False)
        return cls(int(vectors.shape[1]), np.asarray(ids), vectors)
