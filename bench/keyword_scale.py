"""The keyword side of a search at millions of papers: the compiled scoring against the numpy
expressions it replaced, side by side in one run.

    python -m bench.keyword_scale [--copies 23] [--queries 200] [--json FILE]

Indexes the 115k real arXiv abstracts (``title. title. abstract``, as a build does) into one
segment and serves it ``--copies`` times over as one index (ids shifted per copy; 23 copies are
2.65M papers, the size of all of arXiv), so posting lists have the real term distribution at that
size without a 13 GB database (``manage.py bench_scale`` measures the real 2.6M build end to end).
Queries: the titles of the corpus's last ``--queries`` papers. Per query, both ways, interleaved:

- ``numpy``: what search/keyword.py did before: ``scores`` (``a[docs] += ...`` per posting
  list), ``coverage`` (the same over ``postings``) and ``top`` (argpartition of every match);
- ``compiled``: ``evidence`` (both in one compiled pass) and ``top`` (sampled lower bound).

Also checks that both give the same top 100 and bit-identical scores. Prints JSON and a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import django
import numpy as np

K = 100


def numpy_norms(index: Any) -> dict[str, np.ndarray]:
    """Each segment's BM25 length norm as an array, as the numpy implementation kept it (once per
    loaded build, not per query)."""
    norms: dict[str, np.ndarray] | None = getattr(index, "_numpy_norms", None)
    if norms is None:
        average = np.float32(index.tokens / index.live) if index.live else np.float32(1)
        k1, b = np.float32(index.k1), np.float32(index.b)
        norms = {s.name: k1 * ((1 - b) + b * np.asarray(s.lengths, dtype=np.float32) / average) for s in index.segments}
        index._numpy_norms = norms
    return norms


def numpy_evidence(index: Any, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(BM25 scores, coverage) as the previous implementation computed them (numpy fancy
    indexing): this benchmark's baseline, and the reference the compiled loops' test compares to."""
    norms = numpy_norms(index)
    scores = np.zeros(len(index.ids), dtype=np.float32)
    plan, total = index.plan(terms)  # the order the sums are taken in
    for term, repeats, idf in plan:
        weight = np.float32(repeats * idf)
        for offset, segment, start, end in index._postings(term):
            docs, tf = segment.docs[start:end], segment.tfs[start:end]
            scores[offset + docs] += weight * tf / (norms[segment.name][docs] + tf)
    if len(index._removed):
        scores[index._removed] = 0
    coverage = np.zeros(len(index.ids), dtype=np.float32)
    for term, _, idf in plan:
        coverage[index.postings(term)] += idf
    return scores, (coverage / total if total > 0 else coverage)


def _numpy_top(index: Any, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    candidates = np.flatnonzero(scores > 0)
    if k < len(candidates):
        candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
    ids, values = index.ids[candidates], scores[candidates]
    order = np.lexsort((ids, -values))
    return list(zip(ids[order].tolist(), values[order].tolist(), strict=True))


def run(*, copies: int, queries: int) -> dict[str, Any]:
    from bench.corpus import read_papers
    from bench.measure import cpu_model
    from bench.metrics import latency_summary
    from search.keyword import KeywordIndex, analyze, build_segment, keyword_text

    papers = list(read_papers())
    started = time.perf_counter()
    texts = [keyword_text(p.title, p.abstract, title_weight=2) for p in papers]
    segment = build_segment("s", ids=np.arange(1, len(papers) + 1, dtype=np.int64), texts=texts)
    indexed_s = time.perf_counter() - started
    stride = 10 ** len(str(len(papers)))
    segments = [replace(segment, name=f"s-{n}", ids=np.asarray(segment.ids) + n * stride) for n in range(copies)]
    index = KeywordIndex(ids=np.concatenate([s.ids for s in segments]), segments=segments, k1=1.2, b=0.75)
    numpy_norms(index)  # the baseline's norms: computed once per loaded build, not per query
    term_lists = [analyze(p.title) for p in papers[-queries:]]
    index.evidence(term_lists[0])  # compiles the loops
    times: dict[str, list[float]] = {"numpy": [], "compiled": []}
    postings, same = [], True
    for terms in term_lists:
        postings.append(sum(len(index.postings(t)) for t in set(terms)))
        t0 = time.perf_counter()
        before_scores, before_coverage = numpy_evidence(index, terms)
        before = _numpy_top(index, before_scores, K)
        t1 = time.perf_counter()
        scores, coverage = index.evidence(terms)
        after = index.top(scores, K)
        t2 = time.perf_counter()
        times["numpy"].append(t1 - t0)
        times["compiled"].append(t2 - t1)
        same &= np.array_equal(scores, before_scores) and np.array_equal(coverage, before_coverage)
        # The numpy top breaks ties at the cut arbitrarily: compare the scores, then ids above the cut.
        same &= [s for _, s in after] == [s for _, s in before]
    summary = {name: latency_summary(values) for name, values in times.items()}
    return {
        "cpu": cpu_model(),
        "papers": len(index),
        "copies": copies,
        "postings_per_query_median": int(statistics.median(postings)),
        "queries": len(term_lists),
        "k": K,
        "index_115k_s": round(indexed_s, 1),
        "latency": summary,
        "speedup_p50": round(summary["numpy"]["p50_ms"] / summary["compiled"]["p50_ms"], 2),
        "identical_scores_and_top": bool(same),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=23)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", dest="json_out", default="")
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    results = run(copies=options.copies, queries=options.queries)
    text = json.dumps(results, indent=2)
    print(text)
    if options.json_out:
        Path(options.json_out).write_text(text + "\n")
    lat = results["latency"]
    print(f"\nkeyword side, {results['papers']:,} papers ({results['copies']} x 115k real), {results['cpu']}")
    print(f"{'':<10} {'p50 ms':>8} {'p99 ms':>8}")
    for name in ("numpy", "compiled"):
        print(f"{name:<10} {lat[name]['p50_ms']:>8} {lat[name]['p99_ms']:>8}")
    print(f"speed-up at p50: {results['speedup_p50']}x; identical scores and top {K}: {results['identical_scores_and_top']}")


if __name__ == "__main__":
    main()
