"""Graph-index recall against how many generated vectors surround each real one.

Why it exists: at 2.6M papers, bench_speed's collection holds 20,480 real vectors and ~126
generated ones around each (blends of two real vectors, mostly the first, plus a little noise).
pgvector's HNSW reached only recall@10 0.32-0.75 there (docs/scale.md, run 14). This measures
the same HNSW parameters (M=16, efConstruction=64) in FAISS on both generators (bench/corpus.py
and bench/scale.py) at 5 and at 126 generated vectors per real one, so the collapse can be told
apart from pgvector itself: near-duplicate clusters are what graph indexes navigate badly.

    .venv/bin/python -m bench.hnsw_density [--real 2000] [--json OUT]

Needs the corpus vectors bench_speed caches (var/bench/*.parts): at least --real + 200 of them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

EF_SEARCH = (40, 100, 200, 400)


def recall_by_ef(base: np.ndarray, queries: np.ndarray, *, m: int = 16, ef_construction: int = 64) -> dict[str, float]:
    """HNSW (inner product) recall@10 against exact search of ``base``, per efSearch."""
    import faiss

    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    _, exact = flat.search(queries, 10)
    graph = faiss.IndexHNSWFlat(base.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = ef_construction
    graph.add(base)
    out = {}
    for ef in EF_SEARCH:
        graph.hnsw.efSearch = ef
        _, found = graph.search(queries, 10)
        out[f"ef_search={ef}"] = round(float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])), 3)
    return out


def generators(papers: list) -> dict[str, Callable[[np.ndarray, int], np.ndarray]]:
    """name -> (real vectors, count) -> generated vectors, for both benchmark generators."""
    from bench import corpus, scale

    def scale_generator(real: np.ndarray, count: int) -> np.ndarray:
        plan = scale.make_plan(papers[: len(real)], count)
        return scale.generated_vectors(plan, real, start=0, stop=count)

    return {"bench_speed (bench/corpus.py)": lambda real, count: corpus.generated_vectors(real, count, seed=1), "bench_scale (bench/scale.py)": scale_generator}


def run(real_all: np.ndarray, papers: list, *, real: int, densities: tuple[int, ...] = (5, 126)) -> list[dict[str, object]]:
    queries = np.ascontiguousarray(real_all[-200:])  # real vectors outside every base
    rows = []
    for name, generate in generators(papers).items():
        for per_real in densities:
            base = np.vstack([real_all[:real], generate(real_all[:real], real * per_real)])
            rows.append({"generator": name, "generated_per_real": per_real, "papers": len(base), **recall_by_ef(base, queries)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=int, default=2000)
    parser.add_argument("--json", dest="json_out", default="")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import faiss

    from bench import corpus
    from bench.measure import cpu_model

    faiss.omp_set_num_threads(1)
    real_all = np.asarray(corpus.real_vectors_available(backend="openvino"), dtype=np.float32)
    if len(real_all) < args.real + 200:
        raise SystemExit(f"{len(real_all)} corpus vectors cached; embed at least {args.real + 200} first (bench_speed --embed-corpus)")
    papers = list(corpus.read_papers(corpus.ARXIV_115K, limit=args.real))
    rows = run(np.concatenate([real_all[: args.real], real_all[-200:]]), papers, real=args.real)
    result = {"command": "python -m bench.hnsw_density " + " ".join(sys.argv[1:]), "cpu": cpu_model(), "hnsw": "M=16, efConstruction=64", "rows": rows}
    print(json.dumps(result, indent=2))
    print(f"\n| generator | generated per real | papers | {' | '.join(f'ef_search={ef}' for ef in EF_SEARCH)} |")
    print("|---|---|---|" + "---|" * len(EF_SEARCH))
    for row in rows:
        print(f"| {row['generator']} | {row['generated_per_real']} | {row['papers']:,} | " + " | ".join(str(row[f"ef_search={ef}"]) for ef in EF_SEARCH) + " |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
