"""Dense nDCG@10 on SciFact (BEIR test split) per embedding backend: the relevance check a faster
backend must pass (within 0.002 of torch fp32). Exact search, so only the vectors differ.

Corpus vectors are cached per backend under var/bench/ (5,183 abstracts: minutes per backend).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from bench import beir
from bench.corpus import DATA_DIR, bench_dir
from bench.metrics import ndcg_at
from papers.models import embedding_text
from search import embedder

SCIFACT = DATA_DIR / "beir-scifact"


def _doc_vectors(backend: str, precision: str, texts: list[str]) -> np.ndarray:
    path = bench_dir() / f"scifact-{embedder.model_name()}-{backend}{'' if precision == 'f32' else '-' + precision}.npy"
    if path.is_file():
        cached = np.load(path, allow_pickle=False)
        if len(cached) == len(texts):
            return cached
    started = time.perf_counter()
    vectors = embedder.get_model(backend).encode(texts, batch_size=settings.EMBEDDING_BATCH_SIZE, bulk=True)
    print(f"scifact: {len(texts)} abstracts with {backend} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    np.save(path, vectors.astype(np.float32), allow_pickle=False)
    return vectors


def bench_scifact(*, backends: list[str], path: Path = SCIFACT) -> list[dict[str, Any]]:
    """nDCG@10 (dense, exact) per backend on the SciFact test queries, and the difference to torch."""
    dataset = beir.dataset_load(path=path, split="test")
    docs = list(beir.documents(dataset.corpus))
    doc_ids, doc_texts = [d.doc_id for d in docs], [embedding_text(d.title, d.text) for d in docs]
    queries, qrels = dataset.queries, dataset.qrels
    qids = list(qrels)
    rows: list[dict[str, Any]] = []
    for backend in ["torch", *[b for b in backends if b != "torch"]]:
        precision = embedder.get_model(backend).precision
        doc_vectors = _doc_vectors(backend, precision, doc_texts)
        query_vectors = embedder.get_model(backend).encode([queries[q] for q in qids], batch_size=32)
        scores = query_vectors @ doc_vectors.T
        top = np.argsort(-scores, axis=1)[:, :10]
        value = float(np.mean([ndcg_at([doc_ids[j] for j in row], qrels[q], 10) for q, row in zip(qids, top, strict=True)]))
        rows.append({"backend": backend, "precision": precision, "ndcg_at_10": round(value, 4), "queries": len(qids), "documents": len(doc_ids)})
    reference = float(rows[0]["ndcg_at_10"])
    for row in rows:
        row["delta_vs_torch"] = round(float(row["ndcg_at_10"]) - reference, 4)
    return rows
