"""Search latency and recall per collection size and index kind, build time, memory per serving process.

Latency is what a reader waits for in one search: encoding the query with the configured backend,
retrieving the top 10 from the index, and fetching those 10 papers from the database, measured
one query at a time. Recall@10 is against exact (flat) search of the same vectors and queries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connections

from bench.measure import process_memory
from bench.metrics import latency_summary, recall_against_exact
from papers.models import Paper
from search import embedder
from search.vector_index import IVFIndex, VectorIndex, load_index, make_index

K = 10


@dataclass
class Collection:
    """A benchmark collection: Paper pks, their vectors, and how many of them are real embeddings."""

    name: str
    ids: np.ndarray
    vectors: np.ndarray
    real: int

    @property
    def size(self) -> int:
        return len(self.ids)


def exact_top_k(collection: Collection, query_vectors: np.ndarray, k: int = K) -> list[list[int]]:
    """Ground truth by brute force (FAISS flat over the same vectors)."""
    index = make_index(collection.vectors.shape[1], "flat")
    index.add(collection.ids, collection.vectors)
    return [[i for i, _ in row] for row in index.search(query_vectors, k)]


def build_index(collection: Collection, kind: str, directory: Path, params: dict[str, int] | None = None) -> dict[str, Any]:
    """Build one kind (an INDEX_KIND value), save it, and report build time and file size."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    index = make_index(collection.vectors.shape[1], kind, params=params)
    index.add(collection.ids, np.ascontiguousarray(collection.vectors))
    build_s = time.perf_counter() - started
    files = index.save(directory)
    facts = {"kind": index.kind, "factory": index.factory, "params": dict(index.params)}
    del index
    return {
        "build_s": round(build_s, 2),
        "file_mb": round(sum((directory / name).stat().st_size for name in files) / 1e6, 1),
        **facts,
    }


def serve_queries(
    *, index: VectorIndex, queries: list[str], exact: list[list[int]], db_alias: str
) -> dict[str, Any]:
    """End-to-end single-query latency (encode + retrieve + fetch) and recall@10.

    ``fetch`` loads the 10 papers as the app does (Django model instances, every column).
    ``rows`` fetches what pgvector's query returns in the peers' comparison (id, title, abstract
    of the 10, one SQL statement on a cursor), so the engines meet on the same output; it runs
    as a second pass over the same hits, once the first has read their pages, as pgvector's own
    untimed warm-up pass reads its index's.
    """
    encode_s, search_s, fetch_s, total_s, found = [], [], [], [], []
    for query in queries:
        t0 = time.perf_counter()
        vector = embedder.encode_query(query)
        t1 = time.perf_counter()
        hits = index.search(vector, K)[0]
        t2 = time.perf_counter()
        papers = Paper.objects.using(db_alias).in_bulk([pk for pk, _ in hits])
        t3 = time.perf_counter()
        assert len(papers) == len(hits), "a hit without its paper row: benchmark database out of step"
        encode_s.append(t1 - t0)
        search_s.append(t2 - t1)
        fetch_s.append(t3 - t2)
        total_s.append(t3 - t0)
        found.append([pk for pk, _ in hits])
    rows_s = []
    with connections[db_alias].cursor() as cursor:
        table = connections[db_alias].ops.quote_name(Paper._meta.db_table)
        for pks in found:
            started = time.perf_counter()
            cursor.execute(f"SELECT id, title, abstract FROM {table} WHERE id IN ({', '.join(['%s'] * len(pks))})", pks)
            rows = cursor.fetchall()
            rows_s.append(time.perf_counter() - started)
            assert len(rows) == len(pks), "a hit without its paper row: benchmark database out of step"
    return {
        "total": latency_summary(total_s),
        "encode": latency_summary(encode_s),
        "search": latency_summary(search_s),
        "fetch": latency_summary(fetch_s),
        "rows": latency_summary(rows_s),
        "recall_at_10": recall_against_exact(found, exact, K),
    }


def sweep(
    *, index: VectorIndex, query_vectors: np.ndarray, exact: list[list[int]], name: str, values: list[int]
) -> list[dict[str, Any]]:
    """Retrieval-only latency and recall for a range of one search parameter (nprobe / efSearch)."""
    rows = []
    original = dict(index.params)
    for value in values:
        index.params[name] = value
        times, found = [], []
        for vector in query_vectors:
            started = time.perf_counter()
            hits = index.search(vector.reshape(1, -1), K)[0]
            times.append(time.perf_counter() - started)
            found.append([pk for pk, _ in hits])
        rows.append({name: value, "search": latency_summary(times), "recall_at_10": recall_against_exact(found, exact, K)})
    index.params.clear()
    index.params.update(original)
    return rows


SERVE_PROBE = """
import json, os, sys, time
import django
django.setup()
from papers.models import Paper
from search import embedder
from search.vector_index import load_index
index = load_index(__import__("pathlib").Path(sys.argv[1]), kind=sys.argv[3], params=json.loads(sys.argv[4]))
queries = json.load(open(sys.argv[2]))
for q in queries:
    hits = index.search(embedder.encode_query(q), 10)[0]
    list(Paper.objects.in_bulk([pk for pk, _ in hits]).values())
print("ready", flush=True)
sys.stdin.read()
"""


def serving_memory(
    *, directory: Path, kind: str, params: dict[str, int], queries: list[str], database: Path, processes: int = 2
) -> dict[str, Any]:
    """Memory of ``processes`` concurrent serving processes (Django + model + mapped index), each warm.

    Each process loads the build the way a web process does (memory-mapped), encodes and answers
    the same real queries, then waits while its /proc/<pid>/smaps_rollup is read.
    """
    query_file = directory / "probe-queries.json"
    query_file.write_text(json.dumps(queries))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", SERVE_PROBE, str(directory), str(query_file), kind, json.dumps(params)],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for child in children:
            line = child.stdout.readline() if child.stdout else ""
            if line.strip() != "ready":
                raise RuntimeError(f"serving probe failed (exit {child.poll()})")
        samples = [process_memory(child.pid) for child in children]
    finally:
        for child in children:
            if child.stdin:
                child.stdin.close()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
    return {
        "processes": processes,
        "per_process": samples,
        "uss_mb_max": max(s["uss_mb"] for s in samples),
        "pss_mb_max": max(s["pss_mb"] for s in samples),
        "anon_mb_max": max(s["anon_mb"] for s in samples),
    }


def bench_collection(
    *,
    collection: Collection,
    kinds: list[str],
    queries: list[str],
    query_vectors: np.ndarray,
    db_alias: str,
    database: Path,
    work_dir: Path,
    sweeps: bool,
    memory: bool,
    log: Any = print,
) -> dict[str, Any]:
    """Every kind on one collection: build, end-to-end latency, recall, sweeps, serving memory."""
    exact = exact_top_k(collection, query_vectors)
    result: dict[str, Any] = {"size": collection.size, "real_vectors": collection.real, "kinds": {}}
    for kind in kinds:
        directory = work_dir / f"{collection.name}-{kind}"
        log(f"  {collection.name}: building {kind} ...")
        facts = build_index(collection, kind, directory)
        # Loaded as a web process loads it: search parameters (nprobe, efSearch) from settings.
        index = load_index(directory, kind=facts["kind"], params=facts["params"])
        # nprobe 0 (auto) reported as the number of lists it scans for this build.
        facts["params"] = {**index.params, **({"nprobe": index.nprobe} if isinstance(index, IVFIndex) else {})}
        log(f"  {collection.name}: {kind} built in {facts['build_s']} s; timing {len(queries)} queries ...")
        facts.update(serve_queries(index=index, queries=queries, exact=exact, db_alias=db_alias))
        if sweeps and "nprobe" in index.params:
            facts["sweep"] = sweep(index=index, query_vectors=query_vectors, exact=exact, name="nprobe", values=[4, 8, 16, 32, 64, 128, 256])
        if sweeps and "efSearch" in index.params:
            facts["sweep"] = sweep(index=index, query_vectors=query_vectors, exact=exact, name="efSearch", values=[16, 32, 64, 128, 256, 512])
        del index
        if memory:
            log(f"  {collection.name}: {kind} memory of 2 serving processes ...")
            facts["memory"] = serving_memory(directory=directory, kind=facts["kind"], params=facts["params"], queries=queries[:50], database=database)
        result["kinds"][kind] = facts
        shutil.rmtree(directory, ignore_errors=True)
    result["bench_process"] = process_memory()
    return result
