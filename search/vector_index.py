"""One small vector-index contract, two backends (FAISS and brute-force NumPy).

Ids are Paper primary keys (int64), never positions; scores are inner products of
L2-normalised vectors (cosine). Missing hits (FAISS's -1) are dropped. No pickle: FAISS's
native format, or ``.npy`` files loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

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


class FaissIndex:
    """Exact inner-product search: ``IndexIDMap2(IndexFlatIP)`` with Paper pks as ids."""

    FILENAME = "vectors.faiss"

    def __init__(self, dim: int, index: object | None = None) -> None:
        import faiss

        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = _as_ids(ids)
        if len(ids):
            self.remove(ids)  # re-adding an id replaces its vector
            self._index.add_with_ids(_as_vectors(vectors, self.dim), ids)

    def remove(self, ids: np.ndarray) -> int:
        import faiss

        ids = _as_ids(ids)
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids))) if len(ids) else 0

    def search(
        self, queries: np.ndarray, k: int, *, subset: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        import faiss

        queries = _as_vectors(queries, self.dim)
        k = min(k, len(self))
        if k <= 0:
            return [[] for _ in range(len(queries))]
        params = None
        if subset is not None:
            subset = _as_ids(subset)
            if not len(subset):
                return [[] for _ in range(len(queries))]
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(subset))
            k = min(k, len(subset))
        scores, ids = self._index.search(queries, k, params=params)
        return [
            [(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i != -1]
            for row_ids, row_scores in zip(ids, scores, strict=True)
        ]

    def ids(self) -> np.ndarray:
        import faiss

        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def save(self, directory: Path) -> list[str]:
        import faiss

        faiss.write_index(self._index, str(directory / self.FILENAME))
        return [self.FILENAME]

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> FaissIndex:
        import faiss

        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
        try:
            index = faiss.read_index(str(directory / cls.FILENAME), flags)
        except RuntimeError:
            index = faiss.read_index(str(directory / cls.FILENAME))  # kinds that cannot be mmapped
        return cls(index.d, index)


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


BACKENDS: dict[str, type[FaissIndex] | type[NumpyIndex]] = {"faiss": FaissIndex, "numpy": NumpyIndex}
