"""One small vector-index contract: FAISS (flat, IVF, HNSW kinds) and brute-force NumPy.

Ids are Paper primary keys (int64), never positions; scores are inner products of
L2-normalised vectors (cosine). Missing hits (FAISS's -1) are dropped. No pickle: FAISS's
native format, or ``.npy`` files loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np


class VectorIndex(Protocol):
    dim: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> int: ...

    def search(
        self, queries: np.ndarray, k: int, *, subset: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]: ...

    def ids(self) -> np.ndarray: ...

    def __len__(self) -> int: ...

    def save(self, directory: Path) -> list[str]: ...


def _as_ids(ids: np.ndarray | list[int]) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def _as_vectors(vectors: np.ndarray, dim: int) -> np.ndarray:
    vectors = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if vectors.ndim == 1:
        vectors = vectors.reshape(1, -1)
    if vectors.shape[1] != dim:
        raise ValueError(f"vectors have dimension {vectors.shape[1]}, index has {dim}")
    return vectors


INDEX_KINDS = ("flat", "ivf", "hnsw")
# Subsets up to this size are scored exactly from the stored vectors (a gather and one matrix
# product) rather than by a filtered index scan: this is the "score these few papers" path.
SUBSET_EXACT_MAX = 50_000


def ivf_reads_directly(subset_size: int, index_size: int) -> bool:
    """Whether an IVF index should read a subset's vectors one by one from its lists (~1.3 us
    each, measured) rather than scan every list through an id filter (~4 ns per vector)."""
    return subset_size <= max(64, index_size // 256)


def sorted_lookup(sorted_ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index into ``sorted_ids``, found mask) of each wanted id, by binary search."""
    where = np.clip(np.searchsorted(sorted_ids, wanted), 0, max(len(sorted_ids) - 1, 0))
    found = sorted_ids[where] == wanted if len(sorted_ids) else np.zeros(len(wanted), dtype=bool)
    return where, found


def default_params(kind: str) -> dict[str, int]:
    """Build and search parameters of an index kind, from settings when Django is configured."""
    defaults = {
        "flat": {},
        "ivf": {"nlist": 0, "nprobe": 64},  # nlist 0: 2 sqrt(n), chosen at build
        "hnsw": {"M": 32, "efConstruction": 80, "efSearch": 128},
    }[kind]
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
    except ImportError:  # the index works without Django (library defaults)
        return defaults
    try:
        configured = {
            "ivf": {"nlist": settings.INDEX_IVF_NLIST, "nprobe": settings.INDEX_IVF_NPROBE},
            "hnsw": {
                "M": settings.INDEX_HNSW_M,
                "efConstruction": settings.INDEX_HNSW_EF_CONSTRUCTION,
                "efSearch": settings.INDEX_HNSW_EF_SEARCH,
            },
        }.get(kind, {})
    except (AttributeError, ImproperlyConfigured):  # settings absent or not configured: defaults
        configured = {}
    return {**defaults, **{k: int(v) for k, v in configured.items()}}


def ivf_nlist(count: int, requested: int = 0) -> int:
    """IVF list count: 2 sqrt(n) by default, and at least 39 training points per list.

    FAISS suggests 4-16 sqrt(n) for very large collections; at up to a few million papers on
    2 cores, 2 sqrt(n) trains and assigns several times faster at the same recall for a few
    more probes (docs/benchmarks.md has the nprobe sweep).
    """
    nlist = requested or int(2 * np.sqrt(max(count, 1)))
    return int(max(1, min(nlist, count // 39 if count >= 39 else 1)))


class FaissIndex:
    """FAISS inner-product search with Paper pks as ids; ``kind`` picks the structure.

    - ``flat``: exact (``IndexIDMap(IndexFlatIP)``), the default up to INDEX_AUTO_EXACT_MAX papers.
    - ``ivf``: ``IndexIVFFlat`` (ids stored in the inverted lists); ``nprobe`` lists scanned.
    - ``hnsw``: ``IndexIDMap(IndexHNSWFlat)``; ``efSearch`` candidates explored.

    Loaded builds are memory-mapped read-only (``IO_FLAG_MMAP_IFC``): the vectors stay in the
    page cache, shared by every web process that serves the same build. An IVF build also
    stores where each id sits in its inverted lists (``ivf_directory.npy``, memory-mapped), so
    the vectors of a few given papers are read directly instead of scanning every list.
    """

    FILENAME = "vectors.faiss"
    IVF_DIRECTORY = "ivf_directory.npy"  # (2, n) int64: sorted ids; list number << 32 | offset

    def __init__(self, dim: int, index: object | None = None, *, kind: str = "flat", params: dict[str, int] | None = None) -> None:
        import faiss

        if kind not in INDEX_KINDS:
            raise ValueError(f"unknown index kind {kind!r}; choose one of {INDEX_KINDS}")
        self.dim = dim
        self.kind = kind
        self.params = {**default_params(kind), **(params or {})}
        if index is None and kind == "flat":
            index = faiss.IndexIDMap(faiss.IndexFlatIP(dim))
        self._index = index  # ivf/hnsw: created on the first add, when the data is known
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None
        self._directory: np.ndarray | None = None  # ivf: see IVF_DIRECTORY

    # --- building -----------------------------------------------------------------------------
    def _create(self, vectors: np.ndarray) -> object:
        import faiss

        if self.kind == "ivf":
            nlist = ivf_nlist(len(vectors), self.params.get("nlist", 0))
            self.params["nlist"] = nlist
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            # 50 points per list train well; a fixed-seed sample keeps builds reproducible.
            sample = vectors
            if len(vectors) > nlist * 50:
                rows = np.random.default_rng(0).choice(len(vectors), nlist * 50, replace=False)
                sample = vectors[np.sort(rows)]
            index.train(np.ascontiguousarray(sample))
            return index
        hnsw = faiss.IndexHNSWFlat(self.dim, self.params["M"], faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = self.params["efConstruction"]
        return faiss.IndexIDMap(hnsw)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = _as_ids(ids)
        if not len(ids):
            return
        vectors = _as_vectors(vectors, self.dim)
        if self._index is None:
            self._index = self._create(vectors)
        elif self.kind == "hnsw" and len(self):
            # HNSW graphs cannot delete: replacing ids means rebuilding from the kept vectors.
            if np.isin(self.ids(), ids).any():
                self.remove(ids)
        else:
            self.remove(ids)  # re-adding an id replaces its vector
        if self._index is None:  # everything was removed
            self._index = self._create(vectors)
        self._index.add_with_ids(vectors, ids)
        self._sorted = self._directory = None

    def remove(self, ids: np.ndarray) -> int:
        import faiss

        ids = _as_ids(ids)
        if not len(ids) or self._index is None:
            return 0
        self._sorted = self._directory = None
        if self.kind != "hnsw":
            return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
        current = self.ids()
        keep = ~np.isin(current, ids)
        removed = int((~keep).sum())
        if removed:
            kept_ids, kept = current[keep], self._stored_vectors(np.flatnonzero(keep))
            self._index = None
            if len(kept_ids):
                self._index = self._create(kept)
                self._index.add_with_ids(kept, kept_ids)
        return removed

    # --- searching ----------------------------------------------------------------------------
    def _stored_vectors(self, positions: np.ndarray) -> np.ndarray:
        storage = self._index.index
        if self.kind == "hnsw":
            import faiss

            storage = faiss.downcast_index(storage).storage
        return np.asarray(storage.reconstruct_batch(positions.astype(np.int64)), dtype=np.float32).reshape(-1, self.dim)

    def _positions_of(self, ids: np.ndarray) -> np.ndarray:
        """Positions in the flat storage of the given pks (unknown pks skipped)."""
        if self._sorted is None:
            id_map = self.ids()
            order = np.argsort(id_map, kind="stable")
            self._sorted = (id_map[order], order)
        sorted_ids, order = self._sorted
        where, found = sorted_lookup(sorted_ids, ids)
        return order[where[found]]

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

    def _search_subset(self, queries: np.ndarray, k: int, subset: np.ndarray) -> list[list[tuple[int, float]]]:
        import faiss

        subset = np.unique(subset)
        if self.kind == "ivf" and ivf_reads_directly(len(subset), len(self)):
            ids, vectors = self._ivf_vectors(subset)
            return _exact_top_k(queries, ids, vectors, k) if len(ids) else [[] for _ in range(len(queries))]
        if self.kind != "ivf" and len(subset) <= SUBSET_EXACT_MAX:
            positions = self._positions_of(subset)
            if not len(positions):
                return [[] for _ in range(len(queries))]
            ids = self.ids()[positions]
            return _exact_top_k(queries, ids, self._stored_vectors(positions), k)
        selector = faiss.IDSelectorBatch(subset)
        k = min(k, len(subset))
        if self.kind == "ivf":
            # Every list, filtered: exact within the subset, however few of its members a probe would reach.
            params = faiss.SearchParametersIVF(sel=selector, nprobe=self._index.nlist)
        elif self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.params["efSearch"], 2 * k))
        else:
            params = faiss.SearchParameters(sel=selector)
        with _threads_for(len(queries)):
            scores, ids = self._index.search(queries, k, params=params)
        return _rows(ids, scores)

    def search(
        self, queries: np.ndarray, k: int, *, subset: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        import faiss

        if not len(self):  # an empty build's dimension is a placeholder: nothing to compare against
            return [[] for _ in range(len(np.atleast_2d(queries)))]
        queries = _as_vectors(queries, self.dim)
        k = min(k, len(self))
        if k <= 0:
            return [[] for _ in range(len(queries))]
        if subset is not None:
            subset = _as_ids(subset)
            if not len(subset):
                return [[] for _ in range(len(queries))]
            return self._search_subset(queries, k, subset)
        params = None
        if self.kind == "ivf":
            params = faiss.SearchParametersIVF(nprobe=min(self.params["nprobe"], self._index.nlist))
        elif self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.params["efSearch"], k))
        with _threads_for(len(queries)):
            scores, ids = self._index.search(queries, k, params=params)
        return _rows(ids, scores)

    def ids(self) -> np.ndarray:
        import faiss

        if self._index is None:
            return np.zeros(0, dtype=np.int64)
        if self.kind == "ivf":
            invlists = self._index.invlists
            parts = [
                faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
                for i in range(self._index.nlist)
                if invlists.list_size(i)
            ]
            return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def __len__(self) -> int:
        return int(self._index.ntotal) if self._index is not None else 0

    def save(self, directory: Path) -> list[str]:
        import faiss

        index = self._index
        if index is None:  # an empty ivf/hnsw build is stored as an empty flat index
            index = faiss.IndexIDMap(faiss.IndexFlatIP(self.dim))
        faiss.write_index(index, str(directory / self.FILENAME))
        if self.kind == "ivf" and self._index is not None:
            np.save(directory / self.IVF_DIRECTORY, self._ivf_directory(), allow_pickle=False)
            return [self.FILENAME, self.IVF_DIRECTORY]
        return [self.FILENAME]

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> FaissIndex:
        import faiss

        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
        try:
            index = faiss.read_index(str(directory / cls.FILENAME), flags)
        except RuntimeError:
            index = faiss.read_index(str(directory / cls.FILENAME))  # kinds that cannot be mmapped
        kind = _kind_of(index)
        # Structure comes from the file; search parameters (nprobe, efSearch) from settings, so
        # they can be tuned without a rebuild.
        params: dict[str, int] = {}
        if kind == "ivf":
            params["nlist"] = int(index.nlist)
        elif kind == "hnsw":
            hnsw = faiss.downcast_index(index.index).hnsw
            params.update(M=int(hnsw.nb_neighbors(1)), efConstruction=int(hnsw.efConstruction))
        loaded = cls(index.d, index, kind=kind, params=params)
        if kind == "ivf" and (directory / cls.IVF_DIRECTORY).is_file():
            # Shared page cache like the lists; builds written before it existed compute it on first use.
            loaded._directory = np.load(directory / cls.IVF_DIRECTORY, mmap_mode="r" if mmap else None, allow_pickle=False)
        return loaded


_process_threads: int | None = None


@contextmanager
def _threads_for(queries: int) -> Iterator[None]:
    """One OpenMP thread for a handful of queries, the process default for batches.

    A web process answers one query per request thread; an OpenMP team for a single query only
    spins against the other threads on 2 cores (measured under load on a 10k flat index: p50
    62 ms with 2 threads, 0.44 ms with 1). Batches (evaluation, benchmarks) keep every core.
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


def _kind_of(index: object) -> str:
    import faiss

    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
    return "hnsw" if isinstance(inner, faiss.IndexHNSW) else "flat"


def _rows(ids: np.ndarray, scores: np.ndarray) -> list[list[tuple[int, float]]]:
    return [
        [(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i != -1]
        for row_ids, row_scores in zip(ids, scores, strict=True)
    ]


def _exact_top_k(queries: np.ndarray, ids: np.ndarray, vectors: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    k = min(k, len(ids))
    results = []
    for row in queries @ vectors.T:
        top = np.argpartition(-row, k - 1)[:k] if k < len(row) else np.arange(len(row))
        # Ties broken by id so every kind agrees on order.
        top = sorted(top, key=lambda j: (-row[j], ids[j]))
        results.append([(int(ids[j]), float(row[j])) for j in top])
    return results


class FaissIVFIndex(FaissIndex):
    """``FaissIndex(kind="ivf")`` under its own backend name (contract tests, explicit builds)."""

    def __init__(self, dim: int, index: object | None = None, *, kind: str = "ivf", params: dict[str, int] | None = None) -> None:
        super().__init__(dim, index, kind=kind, params=params)


class FaissHNSWIndex(FaissIndex):
    """``FaissIndex(kind="hnsw")`` under its own backend name (contract tests, explicit builds)."""

    def __init__(self, dim: int, index: object | None = None, *, kind: str = "hnsw", params: dict[str, int] | None = None) -> None:
        super().__init__(dim, index, kind=kind, params=params)


def choose_kind(count: int) -> str:
    """The configured INDEX_KIND, or for ``auto`` exact flat up to INDEX_AUTO_EXACT_MAX papers, IVF above."""
    from django.conf import settings

    kind = str(settings.INDEX_KIND)
    if kind == "auto":
        return "flat" if count <= settings.INDEX_AUTO_EXACT_MAX else "ivf"
    return kind


class NumpyIndex:
    """Brute-force reference backend with the same contract (tests, tiny collections)."""

    FILENAMES = ("ids.npy", "vectors.npy")

    def __init__(self, dim: int, ids: np.ndarray | None = None, vectors: np.ndarray | None = None) -> None:
        self.dim = dim
        self._ids = _as_ids(ids if ids is not None else [])
        self._vectors = vectors if vectors is not None else np.zeros((0, dim), dtype=np.float32)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = _as_ids(ids)
        if len(ids):
            self.remove(ids)
            self._ids = np.concatenate([self._ids, ids])
            self._vectors = np.vstack([self._vectors, _as_vectors(vectors, self.dim)])

    def remove(self, ids: np.ndarray) -> int:
        keep = ~np.isin(self._ids, _as_ids(ids))
        removed = int((~keep).sum())
        self._ids, self._vectors = self._ids[keep], self._vectors[keep]
        return removed

    def search(
        self, queries: np.ndarray, k: int, *, subset: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        if not len(self):  # an empty build's dimension is a placeholder: nothing to compare against
            return [[] for _ in range(len(np.atleast_2d(queries)))]
        queries = _as_vectors(queries, self.dim)
        ids, vectors = self._ids, self._vectors
        if subset is not None:
            mask = np.isin(ids, _as_ids(subset))
            ids, vectors = ids[mask], vectors[mask]
        k = min(k, len(ids))
        if k <= 0:
            return [[] for _ in range(len(queries))]
        scores = queries @ vectors.T
        results = []
        for row in scores:
            top = np.argpartition(-row, k - 1)[:k]
            # Ties broken by id so both backends agree on order.
            top = sorted(top, key=lambda j: (-row[j], ids[j]))
            results.append([(int(ids[j]), float(row[j])) for j in top])
        return results

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def __len__(self) -> int:
        return len(self._ids)

    def save(self, directory: Path) -> list[str]:
        np.save(directory / "ids.npy", self._ids, allow_pickle=False)
        np.save(directory / "vectors.npy", self._vectors, allow_pickle=False)
        return list(self.FILENAMES)

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> NumpyIndex:
        mode = "r" if mmap else None
        ids = np.load(directory / "ids.npy", mmap_mode=mode, allow_pickle=False)
        vectors = np.load(directory / "vectors.npy", mmap_mode=mode, allow_pickle=False)
        return cls(int(vectors.shape[1]), np.asarray(ids), vectors)


# "faiss" builds whichever kind it is given (index_store passes the configured one); the
# kind-named entries exist so the contract test runs every kind.
BACKENDS: dict[str, type[FaissIndex | NumpyIndex]] = {
    "faiss": FaissIndex,
    "faiss-ivf": FaissIVFIndex,
    "faiss-hnsw": FaissHNSWIndex,
    "numpy": NumpyIndex,
}
