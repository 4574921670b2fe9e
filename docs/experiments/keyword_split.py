"""Run 15 probe (docs/scale.md): one query's keyword pass (BM25 + coverage) on the ranking's
thread alone, against the same pass cut into parts that a helper thread takes too
(search/keyword.py ``_run_parts``), each with and without the floor's dense search running on that
helper first, as ``search.queries.rank`` runs it. Interleaved per query over held-out real
titles, every answer checked bit-equal. Prints JSON.

The dense search is the app's own: ``search.vector_index`` IVF over the cached real vectors
(``bench.corpus.cached_vectors``), as many as the keyword side's papers, each real vector repeated with a little noise (so recall
is not the point here, only the work), searched 1,000 deep (MAX_RESULTS) with FAISS on one thread,
as a web worker runs it.

    PYTHONPATH=. .venv/bin/python docs/experiments/keyword_split.py --copies 23   # 115k real papers served 23 times (2.6M)
"""
import argparse, gzip, json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings"); os.environ["PAPERSCOPE_IGNORE_DOTENV"] = "1"
sys.path.insert(0, os.getcwd())
import django; django.setup()
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
import faiss
import numpy as np
from bench import corpus
from bench.measure import cpu_model
from search import embedder
from search.keyword import KeywordIndex, analyze, build_segment, keyword_text
from search.queries import MAX_RESULTS
from search.vector_index import make_index

parser = argparse.ArgumentParser()
parser.add_argument("--copies", type=int, default=23)
parser.add_argument("--queries", type=int, default=200)
parser.add_argument("--vectors", type=int, default=0, help="real vectors per copy (0: every cached one)")
options = parser.parse_args()
faiss.omp_set_num_threads(1)  # a web worker's dense search: one thread (search/vector_index.py)
with gzip.open("../shared/data/arxiv-abstracts-115k/papers.jsonl.gz", "rt") as f:
    rows = [json.loads(line) for line in f]
started = time.perf_counter()
texts = [keyword_text(r["title"], r["abstract"], title_weight=2) for r in rows[:-options.queries]]
segment = build_segment("s", ids=np.arange(1, len(texts) + 1, dtype=np.int64), texts=texts)
segments = [replace(segment, name=f"s-{n}", ids=np.asarray(segment.ids) + n * 10**6) for n in range(options.copies)]
index = KeywordIndex(ids=np.concatenate([s.ids for s in segments]), segments=segments, k1=1.2, b=0.75)
keyword_build_s = time.perf_counter() - started

real = corpus.real_vectors_available(backend="openvino")
real = np.asarray(real[: options.vectors or len(real)], dtype=np.float32)
rng = np.random.default_rng(0)
vectors = np.empty((int(index.live), real.shape[1]), dtype=np.float32)  # as many as the keyword side's papers
for low in range(0, len(vectors), len(real)):
    part = real[: len(vectors) - low] + rng.normal(0, 0.02, real[: len(vectors) - low].shape).astype(np.float32)
    vectors[low : low + len(part)] = part / np.linalg.norm(part, axis=1, keepdims=True)
started = time.perf_counter()
dense = make_index(vectors.shape[1], "ivf")
dense.add(np.arange(1, len(vectors) + 1, dtype=np.int64), vectors)
dense_build_s = time.perf_counter() - started
del vectors

titles = [r["title"] for r in rows[-options.queries:]]
queries = [analyze(t) for t in titles]
query_vectors = [embedder.encode_query(t) for t in titles]
pool = ThreadPoolExecutor(max_workers=1)  # a ranking slot's one helper thread (search/queries.py)


def run(terms, vector, *, split, with_dense):
    started = time.perf_counter()
    pending = pool.submit(dense.search, vector, MAX_RESULTS) if with_dense else None
    answer = index.evidence(terms, beside=pool.submit if split else None)
    if pending is not None:
        wait([pending])
    return answer, time.perf_counter() - started


variants = {"alone": (False, False), "split": (True, False), "alone_with_dense": (False, True), "split_with_dense": (True, True)}
for terms, vector in zip(queries[:3], query_vectors[:3]):  # compile, warm
    for split, with_dense in variants.values():
        run(terms, vector, split=split, with_dense=with_dense)
dense_alone = []
for vector in query_vectors:
    t0 = time.perf_counter(); dense.search(vector, MAX_RESULTS); dense_alone.append(time.perf_counter() - t0)
times = {name: [] for name in variants}
for rep in range(2):
    for terms, vector in zip(queries, query_vectors):
        reference = None
        for name, (split, with_dense) in variants.items():
            answer, seconds = run(terms, vector, split=split, with_dense=with_dense)
            if reference is None:
                reference = answer
            assert np.array_equal(answer[0], reference[0]) and np.array_equal(answer[1], reference[1]), terms
            if rep:
                times[name].append(seconds)
# Under load: two rankings at once, as two web workers of one slot each serve 8 clients on 2
# cores; each caller has its own helper thread. Both variants with the dense search, alternated.
pools = [ThreadPoolExecutor(max_workers=1) for _ in range(2)]


def serve(worker, names, out):
    helper = pools[worker]
    for terms, vector in list(zip(queries, query_vectors))[worker::2]:
        started = time.perf_counter()
        pending = helper.submit(dense.search, vector, MAX_RESULTS)
        index.evidence(terms, beside=helper.submit if names == "split_with_dense" else None)
        wait([pending])
        out.append(time.perf_counter() - started)


loaded = {"alone_with_dense": [], "split_with_dense": []}
loaded_s = {name: 0.0 for name in loaded}
for rep in range(2):
    for name in loaded:
        out = []
        started = time.perf_counter()
        callers = [ThreadPoolExecutor(max_workers=1) for _ in range(2)]
        wait([c.submit(serve, n, name, out) for n, c in enumerate(callers)])
        loaded_s[name] += time.perf_counter() - started
        loaded[name] += out
pct = lambda xs, q: round(float(np.percentile(xs, q)) * 1000, 2)
summary = lambda xs: {"p50": pct(xs, 50), "p90": pct(xs, 90), "p99": pct(xs, 99), "mean": round(float(np.mean(xs)) * 1000, 2)}
print(json.dumps({
    "cpu": cpu_model(), "cores": os.cpu_count(), "papers": int(index.live), "segments": len(index.segments), "queries": len(queries),
    "identical": True, "keyword_build_s": round(keyword_build_s, 1), "dense": {"kind": dense.factory, "params": dict(dense.params),
    "vectors": int(len(dense)), "build_s": round(dense_build_s, 1), "depth": MAX_RESULTS, "ms": summary(dense_alone)},
    "ms": {name: summary(v) for name, v in times.items()},
    "two_at_once": {name: {"ms": summary(v), "searches_per_s": round(len(v) / loaded_s[name], 1)} for name, v in loaded.items()},
}, indent=1))
