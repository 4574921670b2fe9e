"""Session 23 probe (docs/benchmarks.md, "Recommendations"): choose library.recommend.RIDGE_ALPHA on
pseudo-libraries of another seed than the reported benchmark's (seed 0). Evaluates the ridge (and,
for comparison, the SVM) at each alpha with bench.recommendations.evaluate; prints one JSON line per
alpha. Embeds and caches the seed's 15k subset first (~5 min on 2 cores).

    PYTHONPATH=. .venv/bin/python docs/experiments/ridge_alpha.py 1 0.01,0.03,0.1,0.3,1,3,10,30
"""
import os, sys, json
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings"); os.environ["PAPERSCOPE_IGNORE_DOTENV"] = "1"
sys.path.insert(0, os.getcwd())
import django; django.setup()
from django.conf import settings
import bench.recommendations as br
from bench.corpus import ARXIV_115K, bench_dir
from library import recommend
seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
subset = br.build_subset(path=ARXIV_115K, authors=400, total=15000, seed=seed)
vectors = br.subset_vectors(subset, cache=bench_dir() / f"recommend-15000-seed{seed}.npy", backend=settings.EMBEDDING_BACKEND)
real = recommend.direction
for alpha in [float(a) for a in sys.argv[2].split(",")]:
    br.direction = lambda m, p, n, a=alpha: recommend.ridge_direction(p, n, alpha=a) if m == "ridge" else real(m, p, n)
    r = br.evaluate(subset, vectors, k=10, seed=seed)
    print(alpha, json.dumps({m: r[m] for m in ("ridge", "ridge+bm25", "svm", "svm+bm25")}), flush=True)
