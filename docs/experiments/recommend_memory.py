"""Session 23 probe (docs/benchmarks.md, "Recommendations"): the private memory (USS) and time a
process with the web worker's modules and model loaded spends computing one recommendation
direction (5 saved papers against 2,000 others, 384-d), in a fresh process per method. Prints JSON.

    PYTHONPATH=. .venv/bin/python docs/experiments/recommend_memory.py ridge   # or svm, centroid, hybrid
"""
import os, sys, json, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings"); os.environ["PAPERSCOPE_IGNORE_DOTENV"] = "1"
sys.path.insert(0, os.getcwd())
import django; django.setup()
import numpy as np
from bench.measure import process_memory, cpu_model
from search import embedder, queries, explain  # what a web worker has loaded
from library import selectors
from library.recommend import direction
embedder.encode_query("warm the model")
method = sys.argv[1]
rng = np.random.default_rng(0)
saved = rng.normal(size=(5, 384)).astype(np.float32); others = rng.normal(size=(2000, 384)).astype(np.float32)
before = process_memory()
t0 = time.perf_counter(); direction(method, saved, others); first = time.perf_counter() - t0
after = process_memory()
times = []
for _ in range(20):
    t0 = time.perf_counter(); direction(method, saved, others); times.append(time.perf_counter() - t0)
print(json.dumps({"method": method, "cpu": cpu_model(), "uss_before_mb": before["uss_mb"], "uss_after_mb": after["uss_mb"],
  "uss_gain_mb": round(after["uss_mb"] - before["uss_mb"], 1), "sklearn_imported": "sklearn" in sys.modules,
  "first_call_ms": round(first * 1000, 1), "median_ms": round(float(np.median(times)) * 1000, 2)}))
