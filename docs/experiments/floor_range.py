"""Run 16 probe (docs/scale.md): where the dense side's time goes at 2.6M. One query on one FAISS
thread (as a web worker searches), the app's IVF shape (3,224 lists, 101 probes), three ways:

- ``Flat`` lists (what the app builds): k-NN 10, 100 and 1,000 deep (the relevance floor's
  search, ``search.queries._floor_dense_search``), and a range search (every vector above a
  cosine: the floor's count and passing papers from one scan) at radii giving ~100, ~1,000 and
  10,000+ papers;
- ``SQ8`` and ``SQfp16`` lists (a quarter and half of the bytes per vector) over the same
  quantizer and vectors, 1,000 deep, then the top ``--refine`` x 1,000 re-scored exactly from
  the float vectors (as an exact re-rank from a mapped float file would), with their top-10 and
  top-1,000 overlap with Flat's (same probes) to show what the codes lose.

Vectors are generated (no embedding needed, so it runs on a bare machine): unit vectors around
random cluster centres, queries near random members. Only the work is the point: the bytes a
probe reads are the same as for real vectors of this size. Interleaved per query. Prints JSON.

    PYTHONPATH=. .venv/bin/python docs/experiments/floor_range.py --size 2600000
"""
import argparse
import json
import sys
import time

import faiss
import numpy as np

from bench.measure import cpu_model  # run from the checkout's root with PYTHONPATH=.
from bench.metrics import percentile

parser = argparse.ArgumentParser()
parser.add_argument("--size", type=int, default=2_600_000)
parser.add_argument("--lists", type=int, default=3224, help="IVF lists (the app's at 2.6M, 2*sqrt(n))")
parser.add_argument("--probes", type=int, default=101, help="nprobe (the app's auto_nprobe at 3,224 lists)")
parser.add_argument("--queries", type=int, default=300)
parser.add_argument("--centres", type=int, default=20_000)
parser.add_argument("--refine", type=int, default=2, help="codes' candidates per result re-scored exactly")
options = parser.parse_args()
dim, deep = 384, 1000
rng = np.random.default_rng(7)
faiss.omp_set_num_threads(2)
centres = rng.standard_normal((options.centres, dim), dtype=np.float32)
centres /= np.linalg.norm(centres, axis=1, keepdims=True)


def members(n: int) -> np.ndarray:
    x = centres[rng.integers(0, options.centres, n)] + rng.standard_normal((n, dim), dtype=np.float32) * 0.06
    return x / np.linalg.norm(x, axis=1, keepdims=True)


started = time.perf_counter()
quantizer = faiss.IndexFlatIP(dim)
flat = faiss.IndexIVFFlat(quantizer, dim, options.lists, faiss.METRIC_INNER_PRODUCT)
flat.train(members(min(options.size, 50 * options.lists)))
coded = {
    name: faiss.IndexIVFScalarQuantizer(quantizer, dim, options.lists, qtype, faiss.METRIC_INNER_PRODUCT)
    for name, qtype in (("SQ8", faiss.ScalarQuantizer.QT_8bit), ("SQfp16", faiss.ScalarQuantizer.QT_fp16))
}
everything = np.empty((options.size, dim), dtype=np.float32)
sample = members(min(options.size, 50 * options.lists))
for index in coded.values():
    index.train(sample)
step = 200_000
for start in range(0, options.size, step):
    n = min(step, options.size - start)
    block = members(n)
    everything[start : start + n] = block
    ids = np.arange(start, start + n, dtype=np.int64)
    flat.add_with_ids(block, ids)
    for index in coded.values():
        index.add_with_ids(block, ids)
built_s = time.perf_counter() - started
faiss.omp_set_num_threads(1)  # a web worker's dense search: one thread (search/vector_index.py)
for index in (flat, *coded.values()):
    index.nprobe = options.probes
queries = members(options.queries)
asked = time.perf_counter()

ways = ["knn10", "knn100", "knn1000", "range100", "range1000", "range_low", *[f"{c}_1000_refined" for c in coded]]
times: dict[str, list[float]] = {w: [] for w in ways}
found: dict[str, list[int]] = {w: [] for w in ways if w.startswith("range")}
overlap: dict[str, dict[str, list[float]]] = {c: {"top10": [], "top1000": []} for c in coded}
for q in queries:
    q = q.reshape(1, -1)
    scores, truth = flat.search(q, deep)
    radii = {"range100": float(scores[0, 99]), "range1000": float(scores[0, deep - 1]), "range_low": float(scores[0, deep - 1]) - 0.08}
    for way in ways:
        t = time.perf_counter()
        if way.startswith("knn"):
            flat.search(q, int(way[3:]))
        elif way.startswith("range"):
            lims, _, _ = flat.range_search(q, radii[way] - 1e-6)
            found[way].append(int(lims[1]))
        else:
            name = way.split("_")[0]
            _, candidates = coded[name].search(q, options.refine * deep)
            candidates = candidates[0][candidates[0] >= 0]
            exact = everything[candidates] @ q[0]
            best = candidates[np.argsort(-exact, kind="stable")[:deep]]
        times[way].append((time.perf_counter() - t) * 1000)
        if way.endswith("_refined"):
            overlap[name]["top10"].append(len(np.intersect1d(best[:10], truth[0][:10])) / 10)
            overlap[name]["top1000"].append(len(np.intersect1d(best, truth[0])) / deep)


queries_s = time.perf_counter() - asked


def pct(values: list[float], p: float) -> float:
    return round(percentile(values, p / 100), 2)


result = {
    "probe": "floor_range", "cpu": cpu_model(), "faiss": faiss.__version__, "size": options.size, "lists": options.lists,
    "probes": options.probes, "queries": options.queries, "refine": options.refine, "build_s": round(built_s, 1), "queries_s": round(queries_s, 1),
    "ms": {w: {"p50": pct(times[w], 50), "p90": pct(times[w], 90), "p99": pct(times[w], 99)} for w in ways},
    "range_results_p50": {w: int(np.median(v)) for w, v in found.items()},
    "overlap_with_flat": {c: {k: round(float(np.mean(v)), 4) for k, v in o.items()} for c, o in overlap.items()},
}
json.dump(result, sys.stdout, indent=1)
print()
print(f"{'search':<18} {'p50':>7} {'p90':>7} {'p99':>7}  results")
for w in ways:
    print(f"{w:<18} {result['ms'][w]['p50']:>7} {result['ms'][w]['p90']:>7} {result['ms'][w]['p99']:>7}  {result['range_results_p50'].get(w, '')}")
