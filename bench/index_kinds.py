"""Index kinds side by side on cached real vectors: recall@10 against exact search, single-query
latency, build time, bytes on disk and memory of a process serving the build.

    python -m bench.index_kinds [--limit N] [--generated N] [--queries Q] [--kinds "k1;k2"]

Vectors: the arXiv corpus vectors already cached under ``var/bench/`` (``bench_speed
--embed-corpus`` or any earlier run fills the cache; nothing is embedded here but the queries).
Queries: titles of the corpus papers that follow the collection (held out), encoded with the
configured backend. ``--generated N`` adds a collection of N vectors made from the real ones
(``corpus.generated_vectors``, as bench_speed does beyond the corpus). Each kind is loaded and
searched in a fresh process (memory-mapped, as a web process loads it), so its memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

KINDS = "IDMap,Flat;IVF{n},Flat;IVF{n},SQ8;HNSW{M}"

PROBE = """
import json, sys, time
import faiss  # imported before the first reading: the library's own memory is not the index's
import numpy as np
from pathlib import Path
from bench.measure import process_memory
from bench.metrics import latency_summary
from search.vector_index import load_index
directory, kind, params, queries_file, exact_file = sys.argv[1:6]
queries = np.load(queries_file)
exact = json.loads(Path(exact_file).read_text())
before = process_memory()
index = load_index(Path(directory), kind=kind, params=json.loads(params), mmap=True)
sweep_name = "nprobe" if "nprobe" in index.params else "efSearch" if "efSearch" in index.params else None
values = {"nprobe": [16, 32, 64, 128], "efSearch": [64, 128, 256]}.get(sweep_name, [None])
default = index.params.get(sweep_name) if sweep_name else None
rows = []
for value in values:
    if sweep_name:
        index.params[sweep_name] = value
    for vector in queries[:20]:  # warm-up
        index.search(vector.reshape(1, -1), 10)
    times, found = [], []
    for vector in queries:
        started = time.perf_counter()
        hits = index.search(vector.reshape(1, -1), 10)[0]
        times.append(time.perf_counter() - started)
        found.append([pk for pk, _ in hits])
    rows.append({"param": sweep_name, "value": value, "default": value == default,
                 "search": latency_summary(times),
                 "recall_at_10": float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact)]))})
after = process_memory()
print(json.dumps({"factory": index.factory, "rows": rows,
                  "rss_growth_mb": round(after["rss_mb"] - before["rss_mb"], 1),
                  "anon_growth_mb": round(after["anon_mb"] - before["anon_mb"], 1)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=0, help="real vectors to use (default: every cached one)")
    parser.add_argument("--generated", type=int, default=0, help="also a collection of N vectors made from the real ones")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kinds", default=KINDS, help="INDEX_KIND values separated by semicolons")
    parser.add_argument("--json", dest="json_out", help="write the results here")
    options = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings

    from search import embedder
    from bench import corpus, retrieval
    from search.files import write_atomic

    backend = embedder.configured_backend()
    real = np.asarray(corpus.real_vectors_available(backend=backend), dtype=np.float32)
    if options.limit:
        real = real[: options.limit]
    if not len(real):
        sys.exit("no cached corpus vectors under var/bench/: run bench_speed --embed-corpus first")
    held_out = [p.title for p in corpus.read_papers(limit=len(real) + options.queries)][len(real) :]
    query_vectors = np.vstack([embedder.encode_query(title) for title in held_out]).astype(np.float32)
    collections = [retrieval.Collection(name=f"real-{len(real)}", ids=np.arange(1, len(real) + 1, dtype=np.int64), vectors=real, real=len(real))]
    if options.generated:
        made = corpus.generated_vectors(real, options.generated)
        collections.append(retrieval.Collection(name=f"generated-{options.generated}", ids=np.arange(1, len(made) + 1, dtype=np.int64), vectors=made, real=0))
    results: dict[str, Any] = {"backend": backend, "model": embedder.model_name(), "queries": len(held_out), "collections": {}}
    work = Path(tempfile.mkdtemp(prefix="index-kinds-", dir=corpus.bench_dir()))
    try:
        for collection in collections:
            exact = retrieval.exact_top_k(collection, query_vectors)
            np.save(work / "queries.npy", query_vectors, allow_pickle=False)
            (work / "exact.json").write_text(json.dumps(exact))
            kinds: dict[str, Any] = {}
            for kind in filter(None, (k.strip() for k in options.kinds.split(";"))):
                directory = work / f"{collection.name}-{len(kinds)}"
                facts = retrieval.build_index(collection, kind, directory)
                probe = subprocess.run(
                    [sys.executable, "-c", PROBE, str(directory), facts["kind"], json.dumps(facts["params"]), str(work / "queries.npy"), str(work / "exact.json")],
                    check=True, capture_output=True, text=True, cwd=settings.BASE_DIR,
                    env={**os.environ, "PYTHONPATH": str(settings.BASE_DIR)},
                )
                facts.update(json.loads(probe.stdout.strip().splitlines()[-1]))
                facts["file_bytes"] = sum(p.stat().st_size for p in directory.iterdir())
                kinds[kind] = facts
                shutil.rmtree(directory)
                print(_row(collection.name, kind, facts), flush=True)
            results["collections"][collection.name] = {"size": collection.size, "real": collection.real, "kinds": kinds}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if options.json_out:
        write_atomic(Path(options.json_out), json.dumps(results, indent=2))


def _row(collection: str, kind: str, facts: dict[str, Any]) -> str:
    lines = []
    for row in facts["rows"]:
        param = f"{row['param']}={row['value']}" if row["param"] else "-"
        lines.append(
            f"| {collection} | `{facts['factory']}` | {param}{' (default)' if row['default'] else ''} | {row['recall_at_10']:.3f} "
            f"| {row['search']['p50_ms']} | {row['search']['p99_ms']} | {facts['build_s']} | {facts['file_bytes'] / 1e6:.1f} "
            f"| {facts['rss_growth_mb']} | {facts['anon_growth_mb']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
