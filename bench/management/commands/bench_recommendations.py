"""Measure recommendation methods offline on pseudo-libraries from the real arXiv corpus (docs/benchmarks.md)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from bench.measure import cpu_model


class Command(BaseCommand):
    help = "hit@10 / recall@10 of centroid, ridge, SVM and hybrid recommendations vs 'most recent' and BM25 more-like-this."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--authors", type=int, default=400, help="pseudo-libraries (authors with 6-30 papers)")
        parser.add_argument("--total", type=int, default=15000, help="papers in the subset (authors' papers + random distractors)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--json", type=Path, default=None, help="also write the result here")

    def handle(self, *args: Any, **options: Any) -> None:
        from bench.corpus import ARXIV_115K, bench_dir
        from bench.recommendations import build_subset, evaluate, subset_vectors

        started = time.perf_counter()
        subset = build_subset(path=ARXIV_115K, authors=options["authors"], total=options["total"], seed=options["seed"])
        cache = bench_dir() / f"recommend-{options['total']}-seed{options['seed']}.npy"
        vectors = subset_vectors(subset, cache=cache, backend=settings.EMBEDDING_BACKEND)
        scores = evaluate(subset, vectors, k=options["k"], seed=options["seed"])
        k = options["k"]
        result = {
            "corpus": str(ARXIV_115K.name), "subset_papers": len(subset.ids), "pseudo_libraries": len(subset.libraries),
            "held_out_papers": sum(len(lib.held_out) for lib in subset.libraries),
            "library_size": 5, "k": k, "seed": options["seed"], "model": settings.EMBEDDING_MODEL_NAME,
            "cpu": cpu_model(), "cores": len(os.sched_getaffinity(0)), "methods": scores,
            "best": max(scores, key=lambda m: (scores[m][f"recall@{k}"], scores[m][f"hit@{k}"])),
            "seconds": round(time.perf_counter() - started, 1),
        }
        text = json.dumps(result, indent=2)
        self.stdout.write(text)
        if options["json"]:
            options["json"].write_text(text + "\n")
        self.stdout.write(f"\n| method | hit@{k} | recall@{k} | median ms per library |\n|---|---|---|---|")
        for method, row in scores.items():
            self.stdout.write(f"| {method} | {row[f'hit@{k}']:.3f} | {row[f'recall@{k}']:.3f} | {row['median_ms']} |")
