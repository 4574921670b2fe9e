"""Run 11 probe (docs/scale.md): KeywordIndex.scores_for of 10 papers at 2.6M, as the whole pass plus a
lookup (before) and by binary search in the posting lists (now), answers checked equal; prints JSON.
    PYTHONPATH=. .venv/bin/python docs/experiments/keyword_scores_for.py   (on the bench_scale 2.6M build)
"""
import gzip, json, os, sys, time, statistics
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings"); os.environ["PAPERSCOPE_IGNORE_DOTENV"] = "1"
sys.path.insert(0, os.getcwd())
import django; django.setup()
import numpy as np
from pathlib import Path
from search import keyword as kw
from search.keyword import KeywordIndex, analyze
build = sorted(Path("var/bench/scale-2600000.index/builds").iterdir())[-1]
index = KeywordIndex.load(build)
kw.compile_kernels()
titles = []
with gzip.open("../shared/data/arxiv-abstracts-115k/papers.jsonl.gz", "rt") as f:
    for n, line in enumerate(f):
        if n >= 20200: break
        if n >= 20000: titles.append(json.loads(line)["title"])
rng = np.random.default_rng(5)
A, B = [], []
live = index.ids[index.ids >= 0]
for rep in range(2):
    for t in titles:
        terms = analyze(t)
        pks = [int(x) for x in rng.choice(live, 10)]
        t0 = time.perf_counter(); a = index.scores_at(index.scores(terms), pks); t1 = time.perf_counter()
        b = index.scores_for(terms, pks); t2 = time.perf_counter()
        assert a == b, t
        if rep: A.append((t1 - t0) * 1000); B.append((t2 - t1) * 1000)
print(json.dumps({"queries": len(titles), "papers_per_query": 10,
  "whole_pass_ms": {"p50": float(np.percentile(A, 50)), "p99": float(np.percentile(A, 99))},
  "binary_search_ms": {"p50": float(np.percentile(B, 50)), "p99": float(np.percentile(B, 99))}}))
