"""The real arXiv corpus for speed benchmarks, and its vectors cached once per model and backend.

Embedding the whole corpus is the expensive step (its time: docs/benchmarks.md), so vectors
are cached under ``var/bench/`` (never committed) in chunks: an interrupted run resumes where it
stopped, and every later benchmark reuses them.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from django.conf import settings

from papers.models import embedding_text

# The shared data sets beside the checkout (DESIGN.md, "Data for development and tests").
DATA_DIR = Path(settings.BASE_DIR).parent / "shared" / "data"
ARXIV_115K = DATA_DIR / "arxiv-abstracts-115k" / "papers.jsonl.gz"
SAMPLE_1K = DATA_DIR / "arxiv-abstracts-115k" / "sample-1k.jsonl"
CHUNK = 2048


def bench_dir() -> Path:
    path = Path(settings.VAR_DIR) / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class CorpusPaper:
    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published: str

    @property
    def text(self) -> str:
        return embedding_text(self.title, self.abstract)


def read_papers(path: Path = ARXIV_115K, *, limit: int | None = None) -> Iterator[CorpusPaper]:
    """Stream papers from the corpus file (gzip or plain JSON lines), in file order."""
    handle: TextIO = gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")  # noqa: SIM115
    with handle:
        for n, line in enumerate(handle):
            if limit is not None and n >= limit:
                return
            row = json.loads(line)
            yield CorpusPaper(
                arxiv_id=row["id"],
                title=row["title"],
                abstract=row["abstract"],
                authors=list(row.get("authors") or []),
                categories=list(row.get("categories") or []),
                published=row.get("published") or "",
            )


def cached_vectors(
    *, path: Path = ARXIV_115K, backend: str, limit: int | None = None, progress: bool = True
) -> tuple[list[str], np.ndarray]:
    """(arXiv ids, L2-normalised float32 matrix) for the corpus, embedding only what is not cached."""
    from search import embedder

    corpus = path.parent.name if path.name.startswith("papers.") else path.name.split(".")[0]
    name = f"{corpus}-{embedder.model_name()}-{backend}"
    final, ids_file = bench_dir() / f"{name}.npy", bench_dir() / f"{name}.ids.json"
    papers = list(read_papers(path, limit=limit))
    wanted = [p.arxiv_id for p in papers]
    if final.is_file() and ids_file.is_file():
        ids = json.loads(ids_file.read_text())
        if ids[: len(wanted)] == wanted:
            matrix = np.load(final, mmap_mode="r", allow_pickle=False)
            return wanted, matrix[: len(wanted)]
    parts = bench_dir() / f"{name}.parts"
    parts.mkdir(exist_ok=True)
    model = embedder.get_model(backend)
    started, done = time.perf_counter(), 0
    chunks = []
    for number, start in enumerate(range(0, len(papers), CHUNK)):
        part = parts / f"{number:05d}-{CHUNK}.npy"
        batch = papers[start : start + CHUNK]
        if part.is_file():
            chunk = np.load(part, allow_pickle=False)
            if len(chunk) == len(batch):
                chunks.append(chunk)
                continue
        chunk = model.encode([p.text for p in batch], batch_size=settings.EMBEDDING_BATCH_SIZE, bulk=True)
        np.save(part, chunk.astype(np.float32), allow_pickle=False)
        chunks.append(chunk)
        done += len(batch)
        if progress:
            rate = done / (time.perf_counter() - started)
            print(f"embedded {start + len(batch)}/{len(papers)} ({rate:.1f}/s)", file=sys.stderr, flush=True)
    matrix = np.vstack(chunks).astype(np.float32) if chunks else np.zeros((0, 384), dtype=np.float32)
    if limit is None:
        np.save(final, matrix, allow_pickle=False)
        ids_file.write_text(json.dumps(wanted))
    return wanted, matrix


def real_vectors_available(*, path: Path = ARXIV_115K, backend: str) -> np.ndarray:
    """Every corpus vector already cached (complete file, or the contiguous chunks embedded so far)."""
    from search import embedder

    corpus = path.parent.name if path.name.startswith("papers.") else path.name.split(".")[0]
    name = f"{corpus}-{embedder.model_name()}-{backend}"
    final = bench_dir() / f"{name}.npy"
    if final.is_file():
        return np.load(final, mmap_mode="r", allow_pickle=False)
    chunks = []
    for number in range(10**6):
        part = bench_dir() / f"{name}.parts" / f"{number:05d}-{CHUNK}.npy"
        if not part.is_file():
            break
        chunks.append(np.load(part, allow_pickle=False))
    return np.vstack(chunks) if chunks else np.zeros((0, 384), dtype=np.float32)


def _blends(real_count: int, count: int, *, seed: int, dim: int) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The random stream behind generated vectors, a block at a time: (first position, a, b, mix,
    noise draws). One stream for the vectors and their sources, so both always agree."""
    rng = np.random.default_rng(seed)
    for start in range(0, count, 100_000):
        n = min(100_000, count - start)
        a = rng.integers(0, real_count, n)
        b = rng.integers(0, real_count, n)
        mix = rng.uniform(0.0, 0.35, size=(n, 1)).astype(np.float32)
        yield start, a, b, mix, rng.standard_normal((n, dim), dtype=np.float32)


def generated_vectors(real: np.ndarray, count: int, *, seed: int = 0, noise: float = 0.3) -> np.ndarray:
    """``count`` synthetic unit vectors that lie among the real ones (to reach sizes beyond the corpus).

    Each is a blend of two random real vectors plus isotropic noise, renormalised: it keeps the
    real collection's topical clusters, so approximate indexes face a realistic neighbourhood
    structure rather than uniform noise (on which every ANN index looks bad).
    """
    dim = real.shape[1]
    out = np.empty((count, dim), dtype=np.float32)
    for start, a, b, mix, draws in _blends(len(real), count, seed=seed, dim=dim):
        rows = (1 - mix) * real[a] + mix * real[b] + (noise / np.sqrt(dim)) * draws
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        out[start : start + len(a)] = rows
    return out


def generated_sources(real_count: int, count: int, *, seed: int = 0, dim: int = 384) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two real vectors' positions and ``b``'s share behind each of ``generated_vectors``'s
    vectors (same ``seed``): what a generated paper's text is recombined from, so its words agree
    with its vector (bench/scale.py ``generated_fields``)."""
    parts = [(a, b, mix[:, 0]) for _, a, b, mix, _ in _blends(real_count, count, seed=seed, dim=dim)]
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))  # type: ignore[return-value]
