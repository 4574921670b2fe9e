"""manage.py bench_search_profile: where one /api/search's time goes, measured in process.

Runs the function /api/search calls (``search.queries.semantic_search`` with ``page_size=10``, as
``/api/search?q=...&page_size=10`` does) over the given queries on the current build, once for
warm-up, then ``--passes`` timed passes (wall time per query), then one pass under cProfile that
attributes the time to the stages a request passes through. Stages are cumulative times of named
functions and nest (``resolve`` holds ``rank``, which holds ``keyword``); ``outside the stages`` is
the whole search minus the outermost stages. ``bench_scale`` runs it beside its HTTP timing, on the
same database and build, so that the HTTP time, the in-process search and its parts are read
side by side (docs/scale.md). It also records this process's memory after each step a web worker
takes (model, build mapped, first search, spelling, every query) and where its private memory lies.
Prints JSON (and writes it with --json) and a table.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from bench.metrics import latency_summary

# (stage, path suffix of the file, function name). Indentation shows nesting: a stage's time
# includes the indented ones below it; the unindented ones (but the SQL line, which cuts across
# all) add up to the whole search.
STAGES = (
    ("resolve the query and rank", "search/queries.py", "_resolve"),
    ("  names, ids, titles (navigation)", "search/navigation.py", "navigate"),
    ("  spelling", "search/spelling.py", "correct"),
    ("  encode the query", "search/embedder.py", "encode_query"),
    ("  rank", "search/queries.py", "rank"),
    ("    keyword: BM25 + coverage", "search/keyword.py", "_accumulate"),
    ("    keyword: top", "search/keyword.py", "top"),
    ("    floor (its dense search included)", "search/queries.py", "__init__"),
    ("    dense search (this thread's calls)", "search/vector_index.py", "search"),
    # The floor's dense search runs on a helper thread beside the keyword side (cProfile sees only
    # this thread): the time this thread still waited for it once its keyword side was done.
    ("    waited for the floor's dense search", "concurrent/futures/_base.py", "result"),
    ("    fusion + cosines of keyword-only finds", "search/queries.py", "_candidates"),
    ("    visibility check in the database", "search/queries.py", "_checked"),
    ("page hits (rows, explanations)", "search/queries.py", "_page_hits"),
    ("  explanations", "search/explain.py", "explanations"),
    ("database: SQL executed (all stages)", "django/db/backends/utils.py", "_execute"),
)


class Command(BaseCommand):
    help = "Time semantic_search in process and attribute its time to stages (cProfile)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queries", required=True, help="a JSON file: a list of query strings")
        parser.add_argument("--passes", type=int, default=2)
        parser.add_argument("--json", dest="json_out", default="")

    def handle(self, *args: Any, queries: str, passes: int, json_out: str, **options: Any) -> None:
        texts = [str(q) for q in json.loads(Path(queries).read_text())]
        if not texts:
            raise SystemExit("no queries")
        results = profile(texts, passes=passes)
        text = json.dumps(results, indent=2)
        self.stdout.write(text)
        if json_out:
            Path(json_out).write_text(text + "\n")
        self.stderr.write(table(results))


def profile(texts: list[str], *, passes: int) -> dict[str, Any]:
    from bench.measure import memory_breakdown, process_memory
    from search import spelling
    from search.embedder import encode_query
    from search.index_store import reader
    from search.queries import semantic_search

    # This process's memory after each step a web worker takes before and while it serves
    # (anonymous = its own; mapped build files are shared page cache and counted apart).
    memory: dict[str, dict[str, float]] = {"django": process_memory()}
    encode_query("warm up")
    memory["model loaded"] = process_memory()
    index = reader.get()
    if index is None:
        raise SystemExit("no index build to search")
    memory["build mapped"] = process_memory()
    with reader.pinned(index):
        semantic_search(query=texts[0], page_size=10)
        memory["first search"] = process_memory()
        if index.keyword is not None:
            spelling.speller_for(index.keyword)
        memory["spelling loaded"] = process_memory()
        for text in texts[:20]:
            semantic_search(query=text, page_size=10)
        walls = []
        for _ in range(passes):
            for text in texts:
                started = time.perf_counter()
                semantic_search(query=text, page_size=10)
                walls.append(time.perf_counter() - started)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for text in texts:
            semantic_search(query=text, page_size=10)
        profiler.disable()
        profiled_ms = (time.perf_counter() - started) * 1000 / len(texts)
    memory["after every query"] = process_memory()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    stages: dict[str, float] = {}
    for name, suffix, function in STAGES:
        total = sum(
            cumulative for (path, _, func), (_, _, _, cumulative, _) in stats.items()
            if func == function and path.replace("\\", "/").endswith(suffix)
        )
        stages[name] = round(total * 1000 / len(texts), 2)
    outermost = sum(v for k, v in stages.items() if not k.startswith(" ") and not k.startswith("database"))
    whole = sum(
        cumulative for (path, _, func), (_, _, _, cumulative, _) in stats.items()
        if func == "semantic_search" and path.endswith("search/queries.py")
    ) * 1000 / len(texts)
    stages["outside the stages"] = round(whole - outermost, 2)
    return {
        "queries": len(texts),
        "in_process": latency_summary(walls),
        "profiled_mean_ms": round(profiled_ms, 2),
        "profiled_search_mean_ms": round(whole, 2),
        "stages_mean_ms": stages,
        "memory_mb": memory,
        "memory_breakdown": memory_breakdown(),
    }


def table(results: dict[str, Any]) -> str:
    lines = [
        f"semantic_search in process over {results['queries']} queries: p50 {results['in_process']['p50_ms']} ms, "
        f"p99 {results['in_process']['p99_ms']} ms; under cProfile {results['profiled_search_mean_ms']} ms a query",
        f"{'stage (cProfile, mean ms a query)':<48} {'ms':>8}",
    ]
    lines += [f"{name:<48} {value:>8}" for name, value in results["stages_mean_ms"].items()]
    lines.append(f"{'memory after (MB)':<24} {'anon':>8} {'USS':>8} {'RSS':>8}")
    lines += [f"{step:<24} {m['anon_mb']:>8} {m['uss_mb']:>8} {m['rss_mb']:>8}" for step, m in results["memory_mb"].items()]
    return "\n".join(lines) + "\n"
