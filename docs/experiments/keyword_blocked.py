"""Run 12 probe (docs/scale.md): the keyword side's BM25 + coverage pass one term at a time over
each segment (before: the compiled loop of b23fd4f, copied here) against the blocked loop that
adds every term's postings a block of papers at a time (search/keyword.py ``_add_blocked``),
interleaved per query over held-out real titles, every answer checked bit-equal. Prints JSON.

    PYTHONPATH=. .venv/bin/python docs/experiments/keyword_blocked.py --build var/bench/scale-2600000.index/builds/<id>
    PYTHONPATH=. .venv/bin/python docs/experiments/keyword_blocked.py --copies 23   # 115k real papers served 23 times
"""
import argparse, gzip, json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings"); os.environ["PAPERSCOPE_IGNORE_DOTENV"] = "1"
sys.path.insert(0, os.getcwd())
import django; django.setup()
from dataclasses import replace
from pathlib import Path
import numba
import numpy as np
from bench.measure import cpu_model
from search import keyword as kw
from search.keyword import KeywordIndex, analyze


@numba.njit(nogil=True, boundscheck=False)
def _add_both(scores, coverage, docs, tfs, lengths, k1, base, b, average, weight, idf):  # b23fd4f's loop
    for i in range(docs.shape[0]):
        doc = docs[i]
        tf = tfs[i]
        norm = k1 * (base + b * np.float32(lengths[doc]) / average)
        scores[doc] += weight * tf / (norm + tf)
        coverage[doc] += idf


def term_at_a_time(index, terms):
    size = len(index.ids)
    result, shares = np.zeros(size, dtype=np.float32), np.zeros(size, dtype=np.float32)
    k1, base, b, average = index._length_norm
    plan, total = index.plan(terms)
    for term, repeats, idf in plan:
        weight, share = np.float32(repeats * idf), np.float32(idf)
        for offset, segment, start, end in index._postings(term):
            end_offset = offset + len(segment)
            _add_both(result[offset:end_offset], shares[offset:end_offset], segment.docs[start:end], segment.tfs[start:end], segment.lengths, k1, base, b, average, weight, share)
    for values in (result, shares):
        if len(index._removed):
            values[index._removed] = 0
    if total > 0:
        shares /= np.float32(total)
    return result, shares


parser = argparse.ArgumentParser()
parser.add_argument("--build", default="")
parser.add_argument("--copies", type=int, default=23)
parser.add_argument("--queries", type=int, default=200)
parser.add_argument("--blocks", default="4096,16384,65536")
options = parser.parse_args()
titles = []
with gzip.open("../shared/data/arxiv-abstracts-115k/papers.jsonl.gz", "rt") as f:
    rows = [json.loads(line) for line in f]
if options.build:
    index = KeywordIndex.load(Path(options.build))
    titles = [r["title"] for r in rows[20000:20000 + options.queries]]  # bench_scale's held-out titles
else:
    from search.keyword import build_segment, keyword_text
    texts = [keyword_text(r["title"], r["abstract"], title_weight=2) for r in rows[:-options.queries]]
    segment = build_segment("s", ids=np.arange(1, len(texts) + 1, dtype=np.int64), texts=texts)
    segments = [replace(segment, name=f"s-{n}", ids=np.asarray(segment.ids) + n * 10**6) for n in range(options.copies)]
    index = KeywordIndex(ids=np.concatenate([s.ids for s in segments]), segments=segments, k1=1.2, b=0.75)
    titles = [r["title"] for r in rows[-options.queries:]]
queries = [analyze(t) for t in titles]
blocks = [int(x) for x in options.blocks.split(",")]
term_at_a_time(index, queries[0]); index.evidence(queries[0])  # compile
times = {"term_at_a_time": []} | {f"blocked_{n}": [] for n in blocks}
for rep in range(2):
    for terms in queries:
        t0 = time.perf_counter(); a = term_at_a_time(index, terms); t1 = time.perf_counter()
        if rep: times["term_at_a_time"].append((t1 - t0) * 1000)
        for n in blocks:
            kw.SCORE_BLOCK = n
            t0 = time.perf_counter(); b = index.evidence(terms); t1 = time.perf_counter()
            assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]), terms
            if rep: times[f"blocked_{n}"].append((t1 - t0) * 1000)
pct = lambda xs, q: round(float(np.percentile(xs, q)), 2)
print(json.dumps({"cpu": cpu_model(), "papers": int(index.live), "segments": [len(s) for s in index.segments],
  "queries": len(queries), "identical": True,
  "ms": {name: {"p50": pct(v, 50), "p90": pct(v, 90), "p99": pct(v, 99), "mean": round(float(np.mean(v)), 2)} for name, v in times.items()}}, indent=1))
