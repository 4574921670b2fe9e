"""Run 11 probe (docs/scale.md): whole-array keyword evidence against search/evidence.py (MaxScore over
per-paper term masks), interleaved per query, answers checked equal; prints JSON.

search/evidence.py was not shipped; it lives in commit e2da835. To rerun:
    git worktree add /work/wt-evidence e2da835 && cd /work/wt-evidence && ln -s /work/main/.venv .venv && ln -s /work/main/var var
    PYTHONPATH=. .venv/bin/python /work/main/docs/experiments/keyword_maxscore_evidence.py 200
on the 2.6M benchmark build (bench_scale --steps full). CS / PS in the environment override
COMMON_SHARE / PROMOTE_SHARE.
"""
import gzip, json, os, sys, time, statistics
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings"); os.environ["PAPERSCOPE_IGNORE_DOTENV"] = "1"
sys.path.insert(0, os.getcwd())
import django; django.setup()
import numpy as np
from pathlib import Path
from search import evidence as ev, keyword as kw
from search.keyword import KeywordIndex, analyze
build = sorted(Path("var/bench/scale-2600000.index/builds").iterdir())[-1]
index = KeywordIndex.load(build)
kw.compile_kernels(); ev.compile_kernels()
ev.COMMON_SHARE = float(os.environ.get("CS", ev.COMMON_SHARE)); ev.PROMOTE_SHARE = float(os.environ.get("PS", ev.PROMOTE_SHARE))
titles = []
with gzip.open("../shared/data/arxiv-abstracts-115k/papers.jsonl.gz", "rt") as f:
    for n, line in enumerate(f):
        if n >= 20000 + int(sys.argv[1] if len(sys.argv) > 1 else 200): break
        if n >= 20000: titles.append(json.loads(line)["title"])
rng = np.random.default_rng(3)
A, B, postings, kinds = [], [], [], {"pruned": 0, "completed": 0, "whole": 0}
for rep in range(2):
    for t in titles:
        terms = analyze(t)
        pks = [int(x) for x in rng.choice(index.ids[index.ids >= 0], 100)]
        t0 = time.perf_counter()
        S, C = index.evidence(terms); top_a = index.top(S, 100); pa = (int(np.count_nonzero(C >= 0.2)), float(C.max())); sa = index.scores_at(S, pks); ca = index.scores_at(C, pks)
        t1 = time.perf_counter()
        e = ev.Evidence(index, terms); was = e.complete; top_b = e.top(100); pb = e.passing(0.2); sb = e.scores_at(pks); cb = e.coverage_at(pks)
        t2 = time.perf_counter()
        assert top_a == top_b and pa == pb and sa == sb and ca == cb, t
        if rep:
            A.append((t1 - t0) * 1000); B.append((t2 - t1) * 1000)
            postings.append(sum(df for *_, df in index.plan(terms)[0]))
            kinds["whole" if was else ("completed" if e.complete else "pruned")] += 1
def q(v, p): return float(np.percentile(v, p))
out = {"queries": len(titles), "median_postings": int(np.median(postings)),
       "whole_arrays_ms": {"p50": q(A, 50), "p99": q(A, 99), "mean": statistics.mean(A)},
       "evidence_ms": {"p50": q(B, 50), "p99": q(B, 99), "mean": statistics.mean(B)}, "paths": kinds}
print(json.dumps(out, indent=1))
