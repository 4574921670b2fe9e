"""Dense nDCG@10 on SciFact (BEIR test split) per embedding backend: the relevance check a faster
backend must pass (within 0.002 of torch fp32). Exact search, so only the vectors differ.

Corpus vectors are cached per backend under var/bench/ (5,183 abstracts: minutes per backend).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from papers.models import embedding_text
from search import embedder
from search.bench.corpus import bench_dir

SCIFACT = Path(settings.BASE_DIR).parent / "shared" / "data" / "beir-scifact"


def _load(path: Path) -> tuple[list[str], list[str], dict[str, str], dict[str, dict[str, int]]]:
    doc_ids, doc_texts = [], []
    with open(path / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            doc_ids.append(str(row["_id"]))
            doc_texts.append(embedding_text(row.get("title", ""), row.get("text", "")))
    queries = {}
    with open(path / "queries.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            queries[str(row["_id"])] = row["text"]
    qrels: dict[str, dict[str, int]] = {}
    with open(path / "qrels" / "test.tsv", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            qid, did, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    return doc_ids, doc_texts, queries, qrels


def ndcg_at_10(ranked: list[str], relevant: dict[str, int]) -> float:
    gains = [relevant.get(d, 0) for d in ranked[:10]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


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
    doc_ids, doc_texts, queries, qrels = _load(path)
    qids = [q for q in qrels if q in queries]
    rows = []
    for backend in ["torch", *[b for b in backends if b != "torch"]]:
        precision = embedder.get_model(backend).precision
        docs = _doc_vectors(backend, precision, doc_texts)
        query_vectors = embedder.get_model(backend).encode([queries[q] for q in qids], batch_size=32)
        scores = query_vectors @ docs.T
        top = np.argsort(-scores, axis=1)[:, :10]
        value = float(np.mean([ndcg_at_10([doc_ids[j] for j in row], qrels[q]) for q, row in zip(qids, top, strict=True)]))
        rows.append({"backend": backend, "precision": precision, "ndcg_at_10": round(value, 4), "queries": len(qids), "documents": len(doc_ids)})
    for row in rows:
        row["delta_vs_torch"] = round(row["ndcg_at_10"] - rows[0]["ndcg_at_10"], 4)
    return rows
