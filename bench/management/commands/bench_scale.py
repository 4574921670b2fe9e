"""manage.py bench_scale: Paperscope at the size of all of arXiv (2.6M papers), measured end to end.

The collection is bench/scale.py's: the 115k real papers plus generated ones made from real
sentences and near-real vectors, in the benchmark's own SQLite database under var/bench/.
Steps, each with the app's own code in a child process where the app would run it:

- ``full``: ``manage.py build_index --full`` (wall time, CPU seconds, peak memory);
- ``incremental``: ``--rounds`` times, 1,000 new papers (rows and embeddings, as a harvest leaves
  them) and ``manage.py build_index`` (incremental), against the full build of the same run;
- ``http``: gunicorn (production config, 2 workers x 4 threads) on that build, one client,
  ``/api/search`` (hybrid) one request at a time; in the same run and process the engine parts
  of the same queries (query encoding, vector search, keyword scoring) and dense recall@10
  against exact search;
- ``memory``: each web worker's private memory (USS) and the stack's PSS after the searches;
- ``stack`` (not by default): the collection copied into PostgreSQL (``--pg-url``), gunicorn and a
  Celery worker on it, memory of every process of the stack while one client searches and the
  worker builds ``--added`` new papers (bench/stack.py).

Prints JSON (also written with --json) and a table.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandParser

from bench import corpus as corpus_module
from bench import database, http, scale
from bench.database import ALIAS, GENERATED
from bench.measure import cpu_model, memory_breakdown, process_memory
from bench.metrics import latency_summary


def _child_usage() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


class Command(BaseCommand):
    help = "Build, update and search a 2.6M-paper collection (115k real + generated) and report against the scale goals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", type=int, default=2_600_000)
        parser.add_argument("--rounds", type=int, default=3, help="incremental rounds of --added papers each")
        parser.add_argument("--added", type=int, default=1_000)
        parser.add_argument("--queries", type=int, default=200, help="held-out real titles (at most 200)")
        parser.add_argument("--passes", type=int, default=2, help="passes over the queries over HTTP")
        parser.add_argument("--connections", type=int, default=8, help="clients at once in the concurrent HTTP load (0: none)")
        parser.add_argument("--load-seconds", type=int, default=30, help="how long the concurrent HTTP load lasts")
        parser.add_argument("--steps", default="full,incremental,http", help="comma-separated: full, incremental, http, stack, peers")
        parser.add_argument("--peer-m", type=int, default=16, help="peers step: pgvector HNSW m")
        parser.add_argument("--peer-ef-construction", type=int, default=64, help="peers step: pgvector HNSW ef_construction")
        parser.add_argument("--peer-ef-search", default="40,100,200,400", help="peers step: pgvector ef_search values, comma-separated")
        parser.add_argument("--fts-queries", type=int, default=40, help="peers step: full-text search on the first N queries (seconds each at 2.6M)")
        parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/paperscope_bench_scale",
                            help="the PostgreSQL database the stack step copies the collection into (its own; made when missing)")
        parser.add_argument("--stack-seconds", type=float, default=15.0, help="stack step: searching before the papers arrive and after the new build")
        parser.add_argument("--stack-build", choices=("incremental", "full"), default="incremental",
                            help="stack step: the build the worker makes once the papers arrive (full: from scratch, the stack's peak)")
        parser.add_argument("--corpus", default=str(corpus_module.ARXIV_115K), help="the real papers (default: the 115k arXiv corpus)")
        parser.add_argument("--database", dest="database_file", default="", help="SQLite file (default var/bench/scale-<size>.sqlite3)")
        parser.add_argument("--json", dest="json_out", default="")

    def handle(self, *args: Any, size: int, rounds: int, added: int, queries: int, passes: int, steps: str, database_file: str, json_out: str, corpus: str,
               connections: int, load_seconds: int, pg_url: str, stack_seconds: float, stack_build: str = "incremental",
               peer_m: int = 16, peer_ef_construction: int = 64, peer_ef_search: str = "40,100,200,400", fts_queries: int = 40, **options: Any) -> None:
        from search import embedder

        wanted_steps = {s.strip() for s in steps.split(",") if s.strip()}
        db_path = Path(database_file) if database_file else corpus_module.bench_dir() / f"scale-{size}.sqlite3"
        index_dir = db_path.with_suffix(".index")
        log = lambda message: self.stderr.write(message)  # noqa: E731
        model = embedder.model_name()
        started_run = time.perf_counter()
        results: dict[str, Any] = {"size": size, "model": model, "database": str(db_path), "cpu": cpu_model(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}

        log(f"collection of {size:,} papers in {db_path} ...")
        source = Path(corpus)
        made = scale.populate(database_path=db_path, size=size, source=source, plan_extra=2 * rounds * added, log=log)
        generated = made["generated"]
        plan = made["plan"]
        ids, vectors = corpus_module.cached_vectors(path=source, backend="openvino")
        vectors = np.asarray(vectors, dtype=np.float32)
        _remove_extra(generated)
        stored = scale.store_vectors(plan=plan, real=made["real_papers"], vectors=vectors, generated=generated, model=model, log=log)
        results["collection"] = {"real": made["real"], "generated": generated, "embeddings": stored}
        env = database.app_env(database=db_path, index_dir=index_dir)

        if "full" in wanted_steps:
            log("full build ...")
            results["full"] = _build(env, "--full")
            log(f"  {results['full']}")
        if "incremental" in wanted_steps:
            # Each round adds papers (as a harvest leaves them) and builds. First ``rounds`` in a
            # fresh ``manage.py build_index`` each; then ``rounds`` in one long-lived builder, as a
            # Celery worker builds (its first build, untimed, reads the current build once).
            rounds_out: list[dict[str, Any]] = []
            for round_number in range(rounds * 2):
                if round_number == rounds:
                    builder = _Builder(env)
                    builder.build("build")
                start = generated + round_number * added
                scale.add_generated(plan=plan, real=made["real_papers"], split=made["sentences"], vectors=vectors, start=start, count=added, model=model)
                how = "fresh process" if round_number < rounds else "long-lived builder"
                outcome = _build(env) if how == "fresh process" else builder.build("build")
                outcome["builder"] = how
                log(f"  incremental round {round_number + 1} ({how}): {outcome}")
                rounds_out.append(outcome)
            builder.stop()
            results["incremental"] = {"added_per_round": added, "rounds": rounds_out}
            for how, key in (("fresh process", "fresh"), ("long-lived builder", "long_lived")):
                mine = [r for r in rounds_out if r["builder"] == how]
                results["incremental"][f"{key}_median_wall_s"] = round(statistics.median(r["wall_s"] for r in mine), 2)
                results["incremental"][f"{key}_median_build_s"] = round(statistics.median(r["build_s"] for r in mine), 2)
                if "full" in results:
                    results["incremental"][f"{key}_share_of_full"] = round(results["incremental"][f"{key}_median_wall_s"] / results["full"]["wall_s"], 4)
        held_out = made["real_papers"][-scale.HOLDOUT :]  # their titles are the queries
        texts = [p.title for p in held_out[:queries]]
        if "http" in wanted_steps:
            loaded = _current_build(index_dir)  # loaded and verified once, for the parts and the recall
            results["http"] = _http_and_parts(db_path=db_path, index_dir=index_dir, loaded=loaded, queries=texts, passes=passes, log=log,
                connections=connections, load_seconds=load_seconds,
            )
            results["recall"] = _dense_recall(
                loaded=loaded, queries=texts, plan=plan, vectors=vectors, real=made["real_papers"][: made["real"]], generated=generated
            )
        if "peers" in wanted_steps:
            results["peers"] = _peers(
                pg_dir=db_path.with_suffix(".pg"), name=f"scale{size}", queries=texts, plan=plan, vectors=vectors, real=made["real_papers"][: made["real"]],
                ef_search=[int(v) for v in peer_ef_search.split(",") if v.strip()], m=peer_m, ef_construction=peer_ef_construction, fts_queries=fts_queries, log=log,
            )
        if "stack" in wanted_steps:
            results["stack"] = _stack(
                db_path=db_path, index_dir=index_dir, pg_url=pg_url, paths=_search_paths(texts), settle=stack_seconds, log=log, full=stack_build == "full",
                add=lambda alias: scale.add_generated(
                    plan=plan, real=made["real_papers"], split=made["sentences"], vectors=vectors, start=generated, count=added, model=model, using=alias,
                ),
                generated=generated, held_out=[p.arxiv_id for p in held_out],
            )
            log(f"  stack: {results['stack']['memory']}")
        _remove_extra(generated)
        results["elapsed_s"] = round(time.perf_counter() - started_run, 1)
        text = json.dumps(results, indent=2, default=str)
        self.stdout.write(text)
        if json_out:
            Path(json_out).write_text(text + "\n")
        self.stdout.write(_table(results))


def _remove_extra(generated: int, using: str = ALIAS) -> None:
    """Drop generated papers beyond the collection (an earlier run's incremental rounds)."""
    from papers.models import Paper

    extra = scale.generated_rows(Paper.objects.using(using)).filter(content_hash__gte=f"{GENERATED}{generated:010d}")
    extra.delete()


def _stack(
    *, db_path: Path, index_dir: Path, pg_url: str, paths: list[str], settle: float, log: Any, add: Any, generated: int, held_out: list[str],
    full: bool = False,
) -> dict[str, Any]:
    """bench/stack.py: the collection in PostgreSQL, gunicorn and a Celery worker on it, memory of
    every process of the stack while it serves, takes new papers and builds."""
    from django.db import connections

    from bench import stack
    from search.models import IndexBuild, PaperEmbedding

    def restore() -> None:
        """The copy as it was: without the run's papers, and without the vectors the worker gave
        the held-out (hidden) papers when it started (a worker embeds every paper that lacks one)."""
        alias = stack.connect(pg_url)
        _remove_extra(generated, using=alias)
        PaperEmbedding.objects.using(alias).filter(paper__arxiv_id__in=held_out).delete()
        connections[alias].close()

    copied = stack.copy_to_postgres(sqlite_path=db_path, url=pg_url, log=log)  # copied again after an interrupted run
    linked = stack.linked_index(index_dir, index_dir.with_name(index_dir.name + "-stack"))
    try:
        outcome = stack.run(url=pg_url, index_dir=linked, paths=paths, add=add, log=log, settle=settle, full=full)
        build = IndexBuild.objects.using(stack.PG_ALIAS).order_by("-id").first()
        assert build is not None
        outcome["build"] = {"kind": build.kind, "count": build.count, "added": build.added, "build_s": round(build.duration_s, 2)}
    finally:
        restore()
        shutil.rmtree(linked, ignore_errors=True)
    return {"database": copied, **outcome}


def _build(env: dict[str, str], *args: str) -> dict[str, Any]:
    from search.models import IndexBuild

    cpu_before, _ = _child_usage()
    started = time.perf_counter()
    database.manage("build_index", *args, env=env, timeout=7200)
    wall = time.perf_counter() - started
    cpu_after, peak_kb = _child_usage()
    build = IndexBuild.objects.using(ALIAS).order_by("-id").first()
    assert build is not None
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu_after - cpu_before, 2),
        "build_s": round(build.duration_s, 2),
        "kind": build.kind,
        "count": build.count,
        "added": build.added,
        "peak_rss_mb_any_child": round(peak_kb / 1024, 1),
    }


class _Builder:
    """``manage.py bench_builder``: one process that builds on request, as a Celery worker does."""

    def __init__(self, env: dict[str, str]) -> None:
        import subprocess
        import sys

        from django.conf import settings

        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "bench_builder"], cwd=settings.BASE_DIR, env={**env, "PAPERSCOPE_BENCH": "1"},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def build(self, request: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("bench_builder exited")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def _http_and_parts(
    *, db_path: Path, index_dir: Path, loaded: Any, queries: list[str], passes: int, log: Any, connections: int, load_seconds: int,
) -> dict[str, Any]:
    """One client over HTTP, then ``connections`` clients at once for ``load_seconds`` (the workers'
    memory read after each), then the engine parts of the same queries in this process."""
    paths = _search_paths(queries)
    started_server = time.perf_counter()
    server = http.Server(database=db_path, index_dir=index_dir, workers=2, threads=4)
    try:
        log("http: starting gunicorn ...")
        server.wait_ready(paths[0], timeout=900)
        # Start to the first search answered with every worker up: each worker loads the model
        # and maps and verifies the build before it takes traffic (warm start).
        ready_s = time.perf_counter() - started_server
        for path in paths[:20]:  # both workers have served before timing starts
            http._get(server.port, path)
        timings: list[float] = []
        by_pass: list[dict[str, Any]] = []
        for _ in range(passes):
            faults_before = _faults(server.worker_pids())
            this_pass = []
            for path in paths:
                started = time.perf_counter()
                status, body = http._get(server.port, path)
                this_pass.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"search answered {status}: {body[:300]!r}")
            timings += this_pass
            faults_after = _faults(server.worker_pids())
            # Page faults the workers took while serving (mapped build pages they had not touched yet).
            by_pass.append({
                **latency_summary(this_pass),
                "minor_faults_per_request": round(sum(faults_after[k][0] - faults_before.get(k, (0, 0))[0] for k in faults_after) / len(paths), 1),
                "major_faults_per_request": round(sum(faults_after[k][1] - faults_before.get(k, (0, 0))[1] for k in faults_after) / len(paths), 2),
            })
        # Right after the load (a search's temporaries still held for the next one), then once the
        # workers have been idle long enough to hand freed memory back (MALLOC_TRIM_INTERVAL).
        workers: list[dict[str, Any]] = _worker_memory(server)
        master = process_memory(server.process.pid)
        concurrent: dict[str, Any] = {}
        if connections > 0:
            # Several searches in flight in each worker (gunicorn threads): the most temporaries
            # a worker holds at once.
            log(f"http: {connections} clients at once for {load_seconds} s ...")
            concurrent = {**http.load(port=server.port, paths=paths, connections=connections, seconds=load_seconds), "workers": _worker_memory(server)}
        time.sleep(float(os.environ.get("MALLOC_TRIM_INTERVAL", "5")) + 2)
        idle = _worker_memory(server)
    finally:
        server.stop()
    parts = _engine_parts(loaded=loaded, queries=queries, passes=passes)
    in_process = _in_process(db_path=db_path, index_dir=index_dir, queries=queries, passes=passes)
    summary = latency_summary(timings)
    engine_p50 = parts["encode"]["p50_ms"] + parts["vector"]["p50_ms"] + parts["keyword"]["p50_ms"]
    return {
        "ready_s": round(ready_s, 1),
        "api": summary,
        "api_by_pass": by_pass,
        "worker_threads": {"gunicorn_threads": 4, "embedding_threads": _worker_embedding_threads(2)},
        "parts": parts,
        "engine_sum_p50_ms": round(engine_p50, 2),
        "http_over_engine": round(summary["p50_ms"] / engine_p50, 2) if engine_p50 else None,
        # The same search in one process (no HTTP), with its time by stage: what the HTTP time
        # beyond the engine parts is spent on.
        "in_process": in_process,
        "http_over_in_process": round(summary["p50_ms"] / in_process["in_process"]["p50_ms"], 2),
        "workers": workers,
        "concurrent": concurrent,
        "workers_idle": idle,
        "master": master,
        "stack_pss_mb": round(sum(w["pss_mb"] for w in workers) + master["pss_mb"], 1),
    }


def _search_paths(queries: list[str]) -> list[str]:
    """``/api/search`` for each query, one page of 10 (what the HTTP timings request)."""
    return [f"/api/search?{urllib.parse.urlencode({'q': q, 'page_size': 10})}" for q in queries]


def _worker_memory(server: http.Server) -> list[dict[str, Any]]:
    return [{"pid": pid, **process_memory(pid), "breakdown": memory_breakdown(pid)} for pid in server.worker_pids()]


def _faults(pids: list[int]) -> dict[int, tuple[int, int]]:
    """(minor, major) page faults so far of each process (/proc/PID/stat fields 10 and 12)."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[7]), int(fields[9]))
    return out


def _worker_embedding_threads(workers: int) -> int:
    """What config/gunicorn.conf.py's threads_per_worker gives each of ``workers`` workers here."""
    return max(1, len(os.sched_getaffinity(0)) // workers)


def _in_process(*, db_path: Path, index_dir: Path, queries: list[str], passes: int) -> dict[str, Any]:
    """``manage.py bench_search_profile`` on the benchmark's database and build (DEBUG off, as served)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-profile-") as work:
        query_file, out = Path(work) / "queries.json", Path(work) / "profile.json"
        query_file.write_text(json.dumps(queries))
        # The intra-op threads a web worker gets (config/gunicorn.conf.py: the cores shared among
        # the workers), so the in-process time is what one worker's search costs.
        threads = str(_worker_embedding_threads(2))
        env = database.app_env(
            database=db_path, index_dir=index_dir, DEBUG="false", LOG_LEVEL="WARNING", EMBEDDING_THREADS=threads, OMP_NUM_THREADS=threads,
        )
        database.manage("bench_search_profile", "--queries", str(query_file), "--passes", str(passes), "--json", str(out), env=env, timeout=3600)
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def _current_build(index_dir: Path) -> Any:
    """The build published under ``index_dir``, loaded and verified in this process."""
    from django.test import override_settings

    from search import index_store

    with override_settings(INDEX_DIR=index_dir):
        build_id = index_store.current_build_id()
        assert build_id is not None
        return index_store.load_build(build_id)


def _engine_parts(*, loaded: Any, queries: list[str], passes: int) -> dict[str, Any]:
    """Per query, in one process on the same build: encode, the dense search as deep as a
    request reads it (MAX_RESULTS), and the keyword side (BM25 and coverage of every paper, top)."""
    from search import embedder
    from search.keyword import analyze
    from search.queries import MAX_RESULTS

    keyword = loaded.keyword
    assert keyword is not None
    times: dict[str, list[float]] = {"encode": [], "vector": [], "keyword": []}
    for n in range(passes * len(queries) + 20):
        text = queries[n % len(queries)]
        t0 = time.perf_counter()
        vector = embedder.encode_query(text)
        t1 = time.perf_counter()
        loaded.vectors.search(vector, MAX_RESULTS)
        t2 = time.perf_counter()
        terms = analyze(text)
        scores, _ = keyword.evidence(terms)  # BM25 and coverage in one pass, as a request does
        keyword.top(scores, MAX_RESULTS)
        t3 = time.perf_counter()
        if n >= 20:
            for name, (a, b) in (("encode", (t0, t1)), ("vector", (t1, t2)), ("keyword", (t2, t3))):
                times[name].append(b - a)
    return {name: latency_summary(values) for name, values in times.items()}


def _collection_pks(real: list[corpus_module.CorpusPaper]) -> tuple[np.ndarray, np.ndarray]:
    """Pks of the collection's real papers (corpus order) and of every generated paper in the
    build, the incremental rounds' included (plan order: ``generated_vectors`` numbering)."""
    from papers.models import Paper

    by_arxiv = dict(Paper.objects.using(ALIAS).filter(arxiv_id__isnull=False).values_list("arxiv_id", "pk"))
    real_pks = np.asarray([by_arxiv[p.arxiv_id] for p in real], dtype=np.int64)
    generated_pks = np.asarray(
        [pk for pk, _ in scale.generated_rows(Paper.objects.using(ALIAS)).order_by("content_hash").values_list("pk", "content_hash")],
        dtype=np.int64,
    )
    return real_pks, generated_pks


def _collection_blocks(*, plan: scale.Plan, vectors: np.ndarray, real_pks: np.ndarray, generated_pks: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(vectors, pks) of the whole collection: the real papers', then the generated ones 100,000 at a time."""
    yield vectors[: len(real_pks)], real_pks
    for start in range(0, len(generated_pks), 100_000):
        stop = min(len(generated_pks), start + 100_000)
        yield scale.generated_vectors(plan, vectors, start=start, stop=stop), generated_pks[start:stop]


def _exact_top10(query_vectors: np.ndarray, blocks: Iterable[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Exact inner-product top 10 over the whole collection, a block of vectors at a time."""
    best_scores = np.full((len(query_vectors), 10), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(query_vectors), 10), dtype=np.int64)

    def consider(block: np.ndarray, pks: np.ndarray) -> None:
        nonlocal best_scores, best_ids
        scores = query_vectors @ block.T
        top = np.argpartition(-scores, min(10, scores.shape[1] - 1), axis=1)[:, :10]
        cand_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, axis=1)], axis=1)
        cand_ids = np.concatenate([best_ids, pks[top]], axis=1)
        order = np.argsort(-cand_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(cand_scores, order, axis=1)
        best_ids = np.take_along_axis(cand_ids, order, axis=1)

    for block, pks in blocks:
        consider(block, pks)
    return best_ids


def _dense_recall(*, loaded: Any, queries: list[str], plan: scale.Plan, vectors: np.ndarray, real: list[corpus_module.CorpusPaper], generated: int) -> dict[str, Any]:
    """Recall@10 of the build's vector index against exact search over the same vectors."""
    from search import embedder

    query_vectors = np.vstack([embedder.encode_query(q) for q in queries]).astype(np.float32)
    real_pks, generated_pks = _collection_pks(real)
    best_ids = _exact_top10(query_vectors, _collection_blocks(plan=plan, vectors=vectors, real_pks=real_pks, generated_pks=generated_pks))
    found = []
    for row, vector in enumerate(query_vectors):
        approximate = {pk for pk, _ in loaded.vectors.search(vector, 10)[0]}
        found.append(len(approximate & set(best_ids[row].tolist())) / 10)
    return {"recall_at_10": round(float(np.mean(found)), 4), "queries": len(queries), "kind": loaded.manifest.get("index_kind"), "params": loaded.manifest.get("index_params"),
            "nprobe": getattr(loaded.vectors, "nprobe", None)}


def _peers(
    *, pg_dir: Path, name: str, queries: list[str], plan: scale.Plan, vectors: np.ndarray, real: list[corpus_module.CorpusPaper], ef_search: list[int], m: int,
    ef_construction: int, fts_queries: int, log: Any,
) -> dict[str, Any]:
    """bench/peers.py on this collection: every paper of the build with its stored text and its
    vector, the same held-out queries, exact search over the same vectors for recall."""
    from bench import peers
    from papers.models import Paper
    from search import embedder

    real_pks, generated_pks = _collection_pks(real)
    ids = np.concatenate([real_pks, generated_pks])
    # The generated vectors are made once, into the matrix the peers load; exact search reads it.
    matrix = np.empty((len(ids), vectors.shape[1]), dtype=np.float32)  # filled in place: no second copy at 2.6M
    filled = 0
    for block, _ in _collection_blocks(plan=plan, vectors=vectors, real_pks=real_pks, generated_pks=generated_pks):
        matrix[filled : filled + len(block)] = block
        filled += len(block)
    texts: dict[int, tuple[str, str]] = {}
    wanted = ids.tolist()
    for start in range(0, len(wanted), 5000):  # SQLite caps the variables of one statement
        for pk, title, abstract in Paper.objects.using(ALIAS).filter(pk__in=wanted[start : start + 5000]).values_list("pk", "title", "abstract"):
            texts[pk] = (title, abstract)
    query_vectors = np.vstack([embedder.encode_query(q) for q in queries]).astype(np.float32)
    exact = _exact_top10(query_vectors, [(matrix[start : start + 100_000], ids[start : start + 100_000]) for start in range(0, len(ids), 100_000)]).tolist()
    return peers.bench_peers(
        pg_dir=pg_dir, name=name, ids=ids, vectors=matrix, texts=texts, queries=queries, exact=exact,
        ef_search=ef_search, m=m, ef_construction=ef_construction, fts_queries=fts_queries, log=log,
    )


def _table(results: dict[str, Any]) -> str:
    lines = [f"\n{results['size']:,} papers ({results['collection']['real']:,} real, {results['collection']['generated']:,} generated), {results['cpu']}"]
    if "full" in results:
        f = results["full"]
        lines.append(f"full build: {f['wall_s']} s wall, {f['cpu_s']} CPU-s, build {f['build_s']} s")
    if "incremental" in results:
        i = results["incremental"]
        for key, how in (("fresh", "fresh manage.py build_index"), ("long_lived", "long-lived builder (a worker)")):
            lines.append(
                f"incremental (+{i['added_per_round']:,}), {how}: median {i[f'{key}_median_wall_s']} s wall (build {i[f'{key}_median_build_s']} s)"
                + (f", {100 * i[f'{key}_share_of_full']:.1f}% of the full build" if f"{key}_share_of_full" in i else "")
            )
    if "http" in results:
        h = results["http"]
        p = h["parts"]
        lines.append(f"gunicorn started to first search answered: {h['ready_s']} s")
        lines.append(f"/api/search one client: p50 {h['api']['p50_ms']} ms, p99 {h['api']['p99_ms']} ms")
        lines += [
            f"  pass {n}: p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms, worker page faults a request {b['minor_faults_per_request']} minor, {b['major_faults_per_request']} major"
            for n, b in enumerate(h.get("api_by_pass", []), start=1)
        ]
        lines.append(
            f"engine parts p50: encode {p['encode']['p50_ms']} + vector {p['vector']['p50_ms']} + keyword {p['keyword']['p50_ms']}"
            f" = {h['engine_sum_p50_ms']} ms; HTTP / engine = {h['http_over_engine']}"
        )
        lines.append(
            f"in process (no HTTP): p50 {h['in_process']['in_process']['p50_ms']} ms; HTTP / in process = {h['http_over_in_process']}"
        )
        lines += [f"  {name}: {value} ms" for name, value in h["in_process"]["stages_mean_ms"].items()]
        lines.append(f"web workers USS: {', '.join(str(w['uss_mb']) for w in h['workers'])} MB; stack PSS {h['stack_pss_mb']} MB")
        c = h.get("concurrent") or {}
        if c:
            lines.append(
                f"/api/search {c['connections']} clients at once ({c['tool']}, {c['seconds']} s): {c['requests_per_s']} requests/s,"
                f" p50 {c['p50_ms']} ms, p99 {c['p99_ms']} ms, {c['non_2xx']} not 2xx"
            )
        for label, workers in (("after one client", h["workers"]), ("after the concurrent load", c.get("workers", [])), ("idle", h["workers_idle"])):
            if workers:
                lines.append(
                    f"web workers' private anonymous memory {label}: " + ", ".join(str(w["breakdown"]["anon_and_heap_mb"]) for w in workers) + " MB"
                )
    if "recall" in results:
        lines.append(f"dense recall@10 vs exact: {results['recall']['recall_at_10']} ({results['recall']['kind']} {results['recall']['params']}, nprobe {results['recall']['nprobe']})")
    if "stack" in results:
        s, m = results["stack"], results["stack"]["memory"]
        lines.append(
            f"whole stack on PostgreSQL (PSS): peak {m['peak_total_mb']} MB ({m['peak_phase']}: "
            + ", ".join(f"{g} {v}" for g, v in m["at_peak_mb"].items()) + "), after the new build " + str(m["last_mb"]["total"]) + " MB"
        )
        lines.append(
            f"  +{s['added']:,} papers: the worker's {s['build']['kind']} build took {s['build']['build_s']} s, published"
            f" {s['worker_build_to_published_s']} s after it was asked for; searches meanwhile: "
            + "; ".join(f"{phase} p50 {t['p50_ms']} ms, p99 {t['p99_ms']} ms" for phase, t in s["searches"].items())
            + f"; {s['failed_requests']} failed"
        )
    if "peers" in results:
        pr = results["peers"]
        lines.append(f"peers (PostgreSQL {pr['postgres'].split()[0]}, pgvector {pr['pgvector']} HNSW m={pr['m']} ef_construction={pr['ef_construction']}; builds {pr['build']}):")
        lines += [
            f"  pgvector ef_search={h['ef_search']}: SQL p50 {h['sql']['p50_ms']} ms, with the query's encoding {h['total']['p50_ms']} ms, recall@10 {h['recall_at_10']}"
            for h in pr["pgvector_hnsw"]
        ]
        f = pr["fts"]
        lines.append(f"  full-text search ({f['queries']} queries): p50 {f['total']['p50_ms']} ms, p99 {f['total']['p99_ms']} ms, recall@10 {f['recall_at_10']}")
        if "http" in results and "recall" in results:
            h = results["http"]
            lines.append(
                f"  ours, same run: hybrid /api/search p50 {h['api']['p50_ms']} ms (dense part {h['parts']['vector']['p50_ms']} ms), dense recall@10 {results['recall']['recall_at_10']}"
            )
    return "\n".join(lines)
