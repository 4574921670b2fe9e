"""Offline measurement of recommendations on pseudo-libraries built from real arXiv metadata.

A tool, not part of the product (the ``bench_recommendations`` command runs it). Pseudo-library:
an author with 6-30 papers in the 115k arXiv corpus (more than 30 is mostly a common name shared
by several people); their 5 most recent papers before their latest one are the library; every
other paper of theirs is held out, and a method should rank those in its top 10 among all the
papers not in the library. Embedding the whole corpus is slow on a small machine (its time:
docs/benchmarks.md, "Recommendations"), so the measurement runs on a stated subset: every paper of the chosen authors plus random distractors
from the same corpus up to ``total`` papers.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.metrics import recall_at
from library.recommend import METHODS, direction

BASELINES = ("recent", "bm25-mlt")
FUSED = ("ridge+bm25", "svm+bm25", "hybrid+bm25")  # a vector method and the BM25 more-like-this, z-scores averaged
MIN_PAPERS, MAX_PAPERS, LIBRARY_SIZE = 6, 30, 5
NEGATIVES = 2000  # the SVM's sampled "rest", as library.selectors samples it online


@dataclass
class PseudoLibrary:
    author: str
    library: list[int]  # row numbers in the subset
    held_out: list[int]


@dataclass
class Subset:
    ids: list[str]
    texts: list[str]
    published: list[str]
    libraries: list[PseudoLibrary]


def build_subset(*, path: Path, authors: int, total: int, seed: int = 0) -> Subset:
    """Choose ``authors`` pseudo-libraries and fill the subset with distractors up to ``total`` papers."""
    from bench.corpus import read_papers

    papers = list(read_papers(path))
    by_author: dict[str, list[int]] = defaultdict(list)
    for row, paper in enumerate(papers):
        for name in set(paper.authors):
            by_author[name].append(row)
    eligible = sorted(a for a, rows in by_author.items() if MIN_PAPERS <= len(rows) <= MAX_PAPERS)
    rng = random.Random(seed)
    chosen = rng.sample(eligible, min(authors, len(eligible)))
    keep: set[int] = set()
    for name in chosen:
        keep.update(by_author[name])
    others = [row for row in range(len(papers)) if row not in keep]
    keep.update(rng.sample(others, max(0, total - len(keep))))
    rows = sorted(keep)
    position = {row: i for i, row in enumerate(rows)}
    libraries = []
    for name in chosen:
        # File order is by date: the latest paper is always held out, the 5 before it are the library.
        mine = sorted(by_author[name])
        library = mine[-1 - LIBRARY_SIZE : -1]
        held = [row for row in mine if row not in library]
        libraries.append(PseudoLibrary(author=name, library=[position[r] for r in library], held_out=[position[r] for r in held]))
    return Subset(
        ids=[papers[r].arxiv_id for r in rows],
        texts=[papers[r].text for r in rows],
        published=[papers[r].published for r in rows],
        libraries=libraries,
    )


def subset_vectors(subset: Subset, *, cache: Path, backend: str) -> np.ndarray:
    """The subset's unit vectors from the packaged model, cached (embedding is the slow step)."""
    from django.conf import settings

    from search import embedder

    ids_file = cache.with_suffix(".ids.json")
    if cache.is_file() and ids_file.is_file() and json.loads(ids_file.read_text()) == subset.ids:
        return np.load(cache, allow_pickle=False)
    model = embedder.get_model(backend)
    started, chunks, step = time.perf_counter(), [], 1024
    for start in range(0, len(subset.texts), step):
        chunks.append(model.encode(subset.texts[start : start + step], batch_size=settings.EMBEDDING_BATCH_SIZE, bulk=True))
        done = start + len(chunks[-1])
        print(f"embedded {done}/{len(subset.texts)} ({done / (time.perf_counter() - started):.1f}/s)", file=sys.stderr, flush=True)
    matrix = np.vstack(chunks).astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, matrix, allow_pickle=False)
    ids_file.write_text(json.dumps(subset.ids))
    return matrix


class _MoreLikeThis:
    """BM25 more-like-this: the library's 25 most distinctive terms (tf x idf) as one BM25 query."""

    def __init__(self, texts: list[str]) -> None:
        import bm25s
        import Stemmer

        self._stemmer = Stemmer.Stemmer("english")
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)
        self._vocab = tokens.vocab
        self._retriever = bm25s.BM25()
        self._retriever.index(tokens, show_progress=False)
        df = np.zeros(len(self._vocab), dtype=np.float64)
        for doc in tokens.ids:
            df[list(set(doc))] += 1
        self._idf = np.log((len(texts) + 1) / (df + 1))
        self._tokens = tokens.ids
        self._inverse = {i: t for t, i in self._vocab.items()}

    def scores(self, library: list[int], n_terms: int = 25) -> np.ndarray:
        tf: dict[int, int] = defaultdict(int)
        for row in library:
            for token in self._tokens[row]:
                tf[token] += 1
        best = sorted(tf, key=lambda t: -tf[t] * self._idf[t])[:n_terms]
        return np.asarray(self._retriever.get_scores([self._inverse[t] for t in best]), dtype=np.float32)


def fuse_z(dense: np.ndarray, keyword: np.ndarray, *, exclude: list[int], depth: int = 100) -> np.ndarray:
    """Average of the two scores, each z-normalised over its own top ``depth`` (search's zscore fusion)."""
    out = np.zeros(len(dense), dtype=np.float64)
    for scores in (dense, keyword):
        s = scores.astype(np.float64).copy()
        s[exclude] = -np.inf
        top = s[np.argpartition(-s, depth)[:depth]]
        mean, std = float(top.mean()), float(top.std()) or 1.0
        out += (scores - mean) / std
    return out / 2


def _top(scores: np.ndarray, exclude: list[int], k: int) -> list[int]:
    scores = scores.astype(np.float64).copy()
    scores[exclude] = -np.inf
    top = np.argpartition(-scores, k)[:k]
    return [int(i) for i in top[np.argsort(-scores[top])]]


def evaluate(subset: Subset, vectors: np.ndarray, *, k: int = 10, seed: int = 0) -> dict[str, Any]:
    """hit@k and recall@k per method and baseline, averaged over the pseudo-libraries."""
    rng = np.random.default_rng(seed)
    recency = np.asarray([int(re.sub(r"\D", "", p) or 0) for p in subset.published], dtype=np.float64)
    recency = recency + np.arange(len(recency)) * 1e-9  # file order breaks ties, as "newest first" would
    mlt = _MoreLikeThis(subset.texts)
    results: dict[str, dict[str, list[float]]] = {m: {"hit": [], "recall": [], "ms": []} for m in (*METHODS, *BASELINES, *FUSED)}
    for lib in subset.libraries:
        held = set(lib.held_out)
        negatives_pool = np.setdiff1d(np.arange(len(vectors)), lib.library)
        negatives = vectors[rng.choice(negatives_pool, size=min(NEGATIVES, len(negatives_pool)), replace=False)]
        computed: dict[str, np.ndarray] = {}
        spent: dict[str, float] = {}
        for method in (*METHODS, *BASELINES, *FUSED):
            started = time.perf_counter()
            if method == "recent":
                scores = recency
            elif method == "bm25-mlt":
                scores = mlt.scores(lib.library)
            elif method in FUSED:
                dense, keyword = computed[method.split("+")[0]], computed["bm25-mlt"]
                scores = fuse_z(dense, keyword, exclude=lib.library)
            else:
                scores = vectors @ direction(method, vectors[lib.library], negatives)
            computed[method] = scores
            spent[method] = (time.perf_counter() - started) * 1000
            if method in FUSED:
                spent[method] += spent[method.split("+")[0]] + spent["bm25-mlt"]
            top = _top(scores, lib.library, k)
            results[method]["ms"].append(spent[method])
            recall = recall_at(top, dict.fromkeys(held, 1), k)
            results[method]["hit"].append(1.0 if recall else 0.0)
            results[method]["recall"].append(recall)
    return {
        method: {
            f"hit@{k}": round(float(np.mean(r["hit"])), 4),
            f"recall@{k}": round(float(np.mean(r["recall"])), 4),
            "median_ms": round(float(np.median(r["ms"])), 2),
        }
        for method, r in results.items()
    }
