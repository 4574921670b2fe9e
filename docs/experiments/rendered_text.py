"""Run 12 probe (docs/scale.md): LaTeX rendering of titles and abstracts. Over the 115k real arXiv
papers: every title and abstract with markup rendered by one pylatexenc pass over the whole text
(before) and by papers.latex.to_text (only the runs of words holding markup), texts compared and
timed. Then what a result window's rendering cost per request before (whole texts, cold cache: at
2.6M a window is rarely seen twice) against reading the text stored when a paper was written, over
500 random windows of 10 of the first 20,000 papers. Prints JSON.
    PYTHONPATH=. .venv/bin/python docs/experiments/rendered_text.py
"""
import gzip, json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings"); os.environ["PAPERSCOPE_IGNORE_DOTENV"] = "1"
sys.path.insert(0, os.getcwd())
import django; django.setup()
import numpy as np
from papers import latex
from papers.models import Paper, shown

rows = []
with gzip.open("../shared/data/arxiv-abstracts-115k/papers.jsonl.gz", "rt") as f:
    for line in f:
        r = json.loads(line); rows.append((r.get("title") or "", r.get("abstract") or ""))
texts = [t for row in rows for t in row if latex._MARKUP.search(t)]
whole_s = pieces_s = 0.0
rendered, differ = {}, []
for t in texts:
    t0 = time.perf_counter(); a = latex.to_text_whole(t); t1 = time.perf_counter(); b = latex.to_text.__wrapped__(t); t2 = time.perf_counter()
    whole_s += t1 - t0; pieces_s += t2 - t1; rendered[t] = (a, b)
    if a != b: differ.append(t[:120])
store = lambda t: "" if rendered.get(t, (t, t))[1] == t else rendered[t][1]
papers = [Paper(title=t, abstract=a, rendered_title=store(t), rendered_abstract=store(a)) for t, a in rows[:20000]]
rng = np.random.default_rng(12)
before, now = [], []
for _ in range(500):
    window = [papers[i] for i in rng.choice(len(papers), 10, replace=False)]
    t1 = time.perf_counter(); a = [(latex.to_text_whole(p.title), latex.to_text_whole(p.abstract)) for p in window]
    t2 = time.perf_counter(); b = [(p.readable_title, p.readable_abstract) for p in window]
    t3 = time.perf_counter()
    before.append((t2 - t1) * 1000); now.append((t3 - t2) * 1000)
pct = lambda xs, q: round(float(np.percentile(xs, q)), 3)
print(json.dumps({"papers": len(rows), "texts_with_markup": len(texts), "texts_that_differ": len(differ), "differ": differ,
  "render_all_whole_s": round(whole_s, 1), "render_all_pieces_s": round(pieces_s, 1), "speedup": round(whole_s / pieces_s, 2),
  "windows": 500, "window_size": 10,
  "per_request_whole_render_ms": {"p50": pct(before, 50), "p90": pct(before, 90), "p99": pct(before, 99), "mean": round(float(np.mean(before)), 3)},
  "stored_ms": {"p50": pct(now, 50), "p90": pct(now, 90), "p99": pct(now, 99), "mean": round(float(np.mean(now)), 4)}}, indent=1))
