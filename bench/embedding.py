"""Embedding throughput per backend, and fidelity to torch fp32 on the same texts in the same run."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from search import embedder


def bench_embedding(*, texts: list[str], backends: list[str], batch_size: int, rounds: int = 2) -> list[dict[str, Any]]:
    """abstracts/s of each backend (best of ``rounds`` interleaved rounds) and cosine to torch.

    Rounds are interleaved (torch, onnx, openvino, torch, ...) so a neighbour's load on the
    shared cores hits every backend alike; the best round is the least disturbed.
    """
    backends = ["torch", *[b for b in backends if b != "torch"]]
    models, load_s = {}, {}
    for backend in backends:
        started = time.perf_counter()
        models[backend] = embedder.get_model(backend)
        models[backend].encode(texts[:16], batch_size=8, bulk=True)  # warm-up (first-call allocations)
        load_s[backend] = time.perf_counter() - started
    rates: dict[str, list[float]] = {b: [] for b in backends}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for backend in backends:
            started = time.perf_counter()
            vectors[backend] = models[backend].encode(texts, batch_size=batch_size, bulk=True)
            rates[backend].append(len(texts) / (time.perf_counter() - started))
    reference = vectors["torch"]
    rows = []
    for backend in backends:
        cosine = (vectors[backend] * reference).sum(axis=1)
        best = max(rates[backend])
        rows.append(
            {
                "backend": backend,
                "precision": models[backend].precision,
                "texts": len(texts),
                "batch_size": batch_size,
                "abstracts_per_s": round(best, 1),
                "rounds_per_s": [round(r, 1) for r in rates[backend]],
                "speedup_vs_torch": round(best / max(rates["torch"]), 2),
                "cosine_min": round(float(cosine.min()), 6),
                "cosine_mean": round(float(cosine.mean()), 6),
                "load_s": round(load_s[backend], 2),
            }
        )
    return rows
