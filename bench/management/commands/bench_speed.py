"""manage.py bench_speed [--quick] [--json OUT]: embedding, search, HTTP, memory and peer speed.

Prints tables and (with --json) writes every number; without --quick it also writes the PNG
plots that docs/benchmarks.md embeds. Everything runs on a separate benchmark database and index
directories under var/bench/, never on the configured ones.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from search.vector_index import parse_kind

FULL_SIZES = [10_000, 115_236, 1_000_000]


def _ints(value: str) -> list[int]:
    return [int(v.replace("_", "")) for v in value.split(",") if v]


class Command(BaseCommand):
    help = (
        "Measure embedding throughput per backend (with cosine to torch fp32), search latency and "
        "recall@10 per collection size and index kind, index build time, memory per serving "
        "process, HTTP throughput/latency under concurrent load, and PostgreSQL FTS / pgvector "
        "peers, all in one run. --quick: a small smoke run (about two minutes)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quick", action="store_true", help="10k papers, few queries, short HTTP runs")
        parser.add_argument("--json", dest="json_out", metavar="OUT", help="write all results as JSON here")
        parser.add_argument("--markdown", metavar="OUT", help="write the tables as Markdown here (for docs/benchmarks.md)")
        parser.add_argument("--sizes", type=_ints, help="collection sizes (default 10000,115236,1000000; quick 10000)")
        parser.add_argument(
            "--kinds",
            default="flat,ivf,hnsw",
            help='index kinds to measure: aliases separated by commas, or INDEX_KIND values (FAISS factory strings) '
            'separated by semicolons, e.g. "flat;IVF{n},Flat;IVF1024,Flat;HNSW16"',
        )
        parser.add_argument("--backends", default="torch,onnx,openvino", help="embedding backends to measure")
        parser.add_argument("--queries", type=int, help="real queries per measurement (titles of held-out corpus papers)")
        parser.add_argument("--embed-texts", type=int, help="abstracts per backend for throughput")
        parser.add_argument("--http-seconds", type=int, help="seconds per HTTP load run")
        parser.add_argument("--http-repeats", type=int, help="runs of each HTTP load, interleaved; medians reported (default 3, quick 1)")
        parser.add_argument("--http-size", type=int, default=115_236, help="collection size for the HTTP test")
        parser.add_argument("--peer-max-size", type=int, default=115_236, help="run peers at sizes up to this")
        parser.add_argument(
            "--fts-queries", type=int, help="run PostgreSQL full-text search on the first N queries only (seconds a query at millions of papers)"
        )
        parser.add_argument("--hnsw-max-size", type=int, default=115_236, help="build HNSW at sizes up to this (its build is the slowest)")
        parser.add_argument(
            "--webmem-size", type=int, default=1_000_000,
            help="collection size of the app build whose gunicorn workers' memory is measured after serving searches",
        )
        parser.add_argument("--skip", default="", help="comma-separated parts to skip: embedding,search,memory,http,webmem,peers")
        parser.add_argument("--plots", metavar="DIR", help="write PNG plots here (default: docs/plots, on whole runs only: no --quick, no --skip)")
        parser.add_argument(
            "--embed-corpus",
            action="store_true",
            help="first embed every corpus abstract not yet cached (resumable; ~20 min at 100/s) so collections hold only real vectors",
        )
        parser.add_argument("--scifact", action="store_true", help="also SciFact dense nDCG@10 per backend (embeds 5,183 abstracts per backend once)")

    def handle(self, *args: Any, **options: Any) -> None:
        from bench import (
            corpus,
            cpu_limit,
            database,
            embedding,
            http,
            peers,
            retrieval,
            scifact,
        )
        from search import embedder

        quick = options["quick"]
        skip = set(filter(None, options["skip"].split(",")))
        sizes = options["sizes"] or ([10_000] if quick else FULL_SIZES)
        kinds = [parse_kind(k) for k in options["kinds"].split(";" if ";" in options["kinds"] else ",") if k.strip()]
        n_queries = options["queries"] or (40 if quick else 300)
        backend = embedder.configured_backend()
        work = corpus.bench_dir()
        started = time.perf_counter()
        log = self._log
        results: dict[str, Any] = {
            "command": "manage.py bench_speed " + " ".join(self._argv(options)),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": len(os.sched_getaffinity(0)),
                "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
                "python": platform.python_version(),
                "faiss_threads": _faiss_threads(),
            },
            "model": embedder.model_name(),
            "backend": backend,
            "quick": quick,
            "collections": {},
            "peers": {},
        }

        # 1. Embedding throughput and fidelity.
        if "embedding" not in skip:
            texts = [p.text for p in corpus.read_papers(limit=options["embed_texts"] or (48 if quick else 512))]
            log(f"embedding: {len(texts)} real abstracts per backend ...")
            results["embedding"] = embedding.bench_embedding(
                texts=texts, backends=options["backends"].split(","), batch_size=settings.EMBEDDING_BATCH_SIZE
            )
            self._table_embedding(results["embedding"])
            if "openvino" in options["backends"].split(","):
                log("embedding: against this CPU's matmul limit (same texts, same run) ...")
                results["cpu_limit"] = cpu_limit.bench_cpu_limit(texts=texts, batch_size=settings.EMBEDDING_BATCH_SIZE)
                c = results["cpu_limit"]
                self.stdout.write(
                    f"\nEmbedding vs this CPU's limit (OpenVINO {c['precision']}, the model's matmuls alone on the same batch shapes): "
                    f"{c['achieved_gflops']} of {c['limit_gflops']} GFLOP/s = {100 * c['share_of_limit']:.0f}%"
                )
                profile = cpu_limit.op_profile(texts=texts, batch_size=settings.EMBEDDING_BATCH_SIZE)
                # Were every node but the matmuls and the attention block free, time would shrink to
                # their share of it: the most this CPU's kernels let embedding reach of the limit.
                profile["ceiling"] = round(c["share_of_limit"] / profile["matmul_and_attention_share"], 3)
                c["op_profile"] = profile
                self.stdout.write(f"Where embedding's time goes (one request, {profile['request_s']} s of nodes):")
                for row in (r for r in profile["groups"] if r["share"] >= 0.005):
                    self.stdout.write(f"  {row['group']:<45} {row['seconds']:>7.3f} s {100 * row['share']:5.1f}%")
                self.stdout.write(
                    f"Ceiling if every other node took no time: {100 * profile['ceiling']:.0f}% of the limit "
                    f"(kernels: {', '.join(f'{k}: {v}' for k, v in profile['kernels'].items())})"
                )

        if options["scifact"]:
            log("scifact: dense nDCG@10 per backend ...")
            results["scifact"] = scifact.bench_scifact(backends=options["backends"].split(","))
            for row in results["scifact"]:
                self.stdout.write(f"  SciFact nDCG@10 {row['backend']}: {row['ndcg_at_10']} (delta vs torch {row['delta_vs_torch']:+.4f})")
        if {"search", "peers", "http", "webmem"} <= skip:
            self._finish(results, options, started, quick)
            return

        # 2. The benchmark database and the vectors: real where embedded, generated beyond.
        source = corpus.SAMPLE_1K if quick else corpus.ARXIV_115K
        papers = list(corpus.read_papers(source))
        # Real, in-domain queries: the titles of the corpus's last papers, held out of every
        # collection (so no query finds itself).
        held_out, papers = papers[-n_queries:], papers[:-n_queries]
        queries = [p.title for p in held_out]
        results["queries"] = f"titles of the corpus's last {len(queries)} papers, held out of the collections"
        db_path = work / ("quick.sqlite3" if quick else "arxiv115k.sqlite3")
        log(f"database: {db_path.name} ({len(papers)} corpus papers, imported by import_papers) ...")
        database.prepare(database=db_path, corpus=source)
        real_ids = database.real_paper_ids([p.arxiv_id for p in papers])
        if quick:
            _, real = corpus.cached_vectors(path=source, backend=backend, limit=256)
        else:
            if options["embed_corpus"]:
                log("embedding the corpus (cached; resumes where it stopped) ...")
                corpus.cached_vectors(path=source, backend=backend)
            real = corpus.real_vectors_available(backend=backend)
        real = np.asarray(real[: len(real_ids)], dtype=np.float32)  # never a held-out paper's vector
        if not len(real):
            raise CommandError("no real vectors: run once without --quick to embed the corpus, or use --quick")
        results["real_vectors_available"] = len(real)
        log(f"vectors: {len(real)} real corpus embeddings ({backend}) available; the rest generated")
        query_vectors = embedder.encode(queries)

        def collection(size: int) -> retrieval.Collection:
            n_papers = min(size, len(real_ids))
            n_real = min(n_papers, len(real))
            vectors = np.empty((size, real.shape[1]), dtype=np.float32)
            vectors[:n_real] = real[:n_real]
            vectors[n_real:] = corpus.generated_vectors(real, size - n_real, seed=size)
            ids = real_ids[:n_papers]
            if size > n_papers:
                ids = np.concatenate([ids, database.generated_paper_ids(size - n_papers, template_ids=real_ids)])
            return retrieval.Collection(name=f"n{size}", ids=ids, vectors=vectors, real=n_real)

        # 3. Search latency / recall / build time / memory per size and kind; peers alongside.
        for size in sizes:
            log(f"collection of {size} papers ...")
            coll = collection(size)
            if "search" not in skip:
                outcome = retrieval.bench_collection(
                    collection=coll,
                    kinds=[k for k in kinds if not k.startswith("HNSW") or size <= options["hnsw_max_size"]],
                    queries=queries,
                    query_vectors=query_vectors,
                    db_alias=database.ALIAS,
                    database=db_path,
                    work_dir=work / "indexes",
                    sweeps=True,
                    memory="memory" not in skip,
                    log=log,
                )
                results["collections"][str(size)] = outcome
            if "peers" not in skip and size <= options["peer_max_size"]:
                exact = retrieval.exact_top_k(coll, query_vectors)
                texts_by_id = _peer_texts(coll, papers[: len(real)], seed=size)
                outcome = peers.bench_peers(
                    pg_dir=work / "pg",
                    name=coll.name,
                    ids=coll.ids,
                    vectors=coll.vectors,
                    texts=texts_by_id,
                    queries=queries,
                    exact=exact,
                    ef_search=[40, 100, 200, 400],
                    fts_queries=options["fts_queries"],
                    log=log,
                )
                outcome["size"] = size
                results["peers"][str(size)] = outcome
            del coll

        # 4. HTTP under load: the app's own build (vectors + keyword index) and gunicorn.
        if "http" not in skip:
            size = min(options["http_size"], len(real_ids))
            coll = collection(size)
            log(f"http: storing {size} embeddings and building the app index ...")
            database.store_embeddings(ids=coll.ids, vectors=coll.vectors, model=embedder.model_name())
            index_dir = work / "http-index"
            shutil.rmtree(index_dir, ignore_errors=True)
            env = database.app_env(database=db_path, index_dir=index_dir)
            build_started = time.perf_counter()
            out = database.manage("build_index", "--full", env=env)
            build_s = time.perf_counter() - build_started
            results["http"] = {
                "size": size,
                "real_vectors": coll.real,
                "build_index_s": round(build_s, 1),
                "build_index_output": out.strip(),
                **http.bench_http(
                    database=db_path, index_dir=index_dir, queries=queries,
                    seconds=options["http_seconds"] or (4 if quick else 20),
                    repeats=options["http_repeats"] or (1 if quick else 3),
                    log=log,
                ),
            }
            del coll

        # 5. Private memory of real gunicorn workers serving an app build at --webmem-size (1M).
        if "webmem" not in skip:
            from bench import webmem

            size = options["webmem_size"] if not quick else min(options["webmem_size"], 20_000)
            coll = collection(size)
            log(f"web memory: app build of {size} papers ({coll.real} real vectors) ...")
            build = webmem.app_build(
                database_path=db_path, index_dir=work / "webmem-index", ids=coll.ids, vectors=coll.vectors, model=embedder.model_name()
            )
            build["real_vectors"] = coll.real  # the rest generated (blends of real vectors), labelled
            del coll
            results["web_memory"] = {
                **build,
                **webmem.bench_web_memory(database=db_path, index_dir=work / "webmem-index", queries=queries, log=log),
            }

        self._finish(results, options, started, quick)

    def _finish(self, results: dict[str, Any], options: dict[str, Any], started: float, quick: bool) -> None:
        from bench import plots

        results["elapsed_s"] = round(time.perf_counter() - started, 1)
        results["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        self._tables(results)
        # The committed plots come from whole runs only: a partial one (--skip) would redraw them
        # from the parts it ran. --plots writes them anywhere, always.
        whole = not quick and not options["skip"]
        plot_dir = options["plots"] or (str(Path(settings.BASE_DIR) / "docs" / "plots") if whole else None)
        if plot_dir:
            if results["collections"]:
                plots.latency_vs_size(results, Path(plot_dir) / "latency_vs_size.png")
            if results.get("embedding"):
                plots.throughput_per_backend(results["embedding"], Path(plot_dir) / "embedding_throughput.png")
            self._log(f"plots written to {plot_dir}")
        if options["json_out"]:
            Path(options["json_out"]).write_text(json.dumps(results, indent=2))
            self._log(f"results written to {options['json_out']}")
        if options.get("markdown"):
            from bench.report import markdown

            Path(options["markdown"]).write_text(markdown(results) + "\n")
            self._log(f"tables written to {options['markdown']}")

    # --- output --------------------------------------------------------------------------------
    def _log(self, message: str) -> None:
        self.stderr.write(message)

    def _argv(self, options: dict[str, Any]) -> list[str]:
        names = ("quick", "json_out", "markdown", "sizes", "kinds", "backends", "queries", "embed_texts", "http_seconds", "http_repeats", "skip", "scifact", "embed_corpus", "hnsw_max_size", "peer_max_size", "webmem_size")
        argv = []
        for name in names:
            value = options.get(name)
            if value in (None, False, "") or (name == "kinds" and value == "flat,ivf,hnsw") or (name == "backends" and value == "torch,onnx,openvino"):
                continue
            flag = {"json_out": "--json"}.get(name, "--" + name.replace("_", "-"))
            argv.append(flag if value is True else f"{flag} {','.join(map(str, value)) if isinstance(value, list) else value}")
        return argv

    def _row(self, cells: list[Any], widths: list[int]) -> None:
        self.stdout.write("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))))

    def _table_embedding(self, rows: list[dict[str, Any]]) -> None:
        widths = [9, 9, 12, 9, 11, 11]
        self.stdout.write("\nEmbedding throughput (same texts, same run)")
        self._row(["backend", "precision", "abstracts/s", "x torch", "cos min", "cos mean"], widths)
        for r in rows:
            self._row([r["backend"], r["precision"], r["abstracts_per_s"], r["speedup_vs_torch"], r["cosine_min"], r["cosine_mean"]], widths)

    def _tables(self, results: dict[str, Any]) -> None:
        widths = [9, 7, 5, 24, 8, 8, 8, 8, 8, 7, 7, 7, 7]
        self.stdout.write("\nSearch: one query at a time, encode + top-10 + fetch rows (ms); recall@10 vs exact")
        self._row(["size", "real", "kind", "params", "build s", "p50", "p99", "search", "fetch", "recall", "USS", "PSS", "anon"], widths)
        for size, c in results["collections"].items():
            for kind, k in c["kinds"].items():
                params = ",".join(f"{a}={b}" for a, b in k["params"].items())
                memory = k.get("memory", {})
                self._row(
                    [size, c["real_vectors"], kind, params, k["build_s"], k["total"]["p50_ms"], k["total"]["p99_ms"], k["search"]["p50_ms"], k["fetch"]["p50_ms"], k["recall_at_10"], memory.get("uss_mb_max", "-"), memory.get("pss_mb_max", "-"), memory.get("anon_mb_max", "-")],
                    widths,
                )
        for size, c in results["collections"].items():
            for kind, k in c["kinds"].items():
                for s in k.get("sweep", []):
                    name = "nprobe" if "nprobe" in s else "efSearch"
                    self.stdout.write(f"  sweep {size} {kind} {name}={s[name]}: search p50 {s['search']['p50_ms']} ms p99 {s['search']['p99_ms']} ms recall@10 {s['recall_at_10']}")
        if results["peers"]:
            self.stdout.write("\nPeers (same papers, vectors, queries): total ms per search; recall@10 vs exact dense")
            for size, p in results["peers"].items():
                for h in p["pgvector_hnsw"]:
                    self.stdout.write(f"  {size} pgvector HNSW ef_search={h['ef_search']}: p50 {h['total']['p50_ms']} p99 {h['total']['p99_ms']} (SQL alone p50 {h['sql']['p50_ms']}) recall {h['recall_at_10']}")
                f = p["fts"]
                self.stdout.write(f"  {size} PostgreSQL FTS: p50 {f['total']['p50_ms']} p99 {f['total']['p99_ms']} recall {f['recall_at_10']} (no results: {f['queries_without_results']})")
                self.stdout.write(f"  {size} build: {p['build']}")
            from bench.report import head_to_head

            for r in head_to_head(results):
                self.stdout.write(
                    f"  {r['size']} vs pgvector {r['pgvector']} (recall {r['pgvector_recall']}): ours {r['ours']} (recall {r['ours_recall']}) "
                    f"engine {r['ours_engine_ms']} vs {r['pgvector_sql_ms']} ms = {r['engine_speedup']}x "
                    f"(with the app's model fetch {r['ours_engine_orm_ms']} ms = {r['engine_orm_speedup']}x); end to end {r['ours_total_ms']} vs {r['pgvector_total_ms']} ms = {r['total_speedup']}x"
                )
        if results.get("http"):
            h = results["http"]
            self.stdout.write(f"\nHTTP at {h['size']} papers ({h['workers']} gunicorn workers x {h['threads']} threads; app build {h['build_index_s']} s)")
            for run in h["summary"]:
                self.stdout.write(
                    f"  {run['route']:4} c={run['connections']}: {run['requests_per_s']} req/s  p50 {run['p50_ms']} ms  p99 {run['p99_ms']} ms  "
                    f"non-2xx {run['non_2xx']}  ({run['tool']}, {run['runs']} x {run['seconds']} s; medians; "
                    f"p50 of each {run['p50_ms_runs']}, p99 {run['p99_ms_runs']})"
                )
            for m in h["memory"]:
                self.stdout.write(f"  worker memory: USS {m['uss_mb']} MB, PSS {m['pss_mb']} MB, anon {m['anon_mb']} MB, RSS {m['rss_mb']} MB")
        if results.get("web_memory"):
            w = results["web_memory"]
            self.stdout.write(
                f"\nWeb worker memory at {w['size']} papers (app build {w['build_index_s']} s; gunicorn 2 workers x 4 threads; "
                f"after {w['sequential_searches']} searches one at a time and 8 concurrent connections per route)"
            )
            for m in w["workers"]:
                b = m["breakdown"]
                self.stdout.write(
                    f"  worker {m['pid']}: USS {m['uss_mb']} MB, PSS {m['pss_mb']} MB, anon {m['anon_mb']} MB "
                    f"(after start: USS {m['after_start']['uss_mb']}); anon+heap {b['anon_and_heap_mb']} MB, "
                    f"libraries {b['libraries_mb']} MB, torch mapped: {b['torch_mapped']}"
                )
        self.stdout.write(f"\nelapsed {results['elapsed_s']} s; load average {results['machine']['load_avg_at_start']} -> {results['machine']['load_avg_at_end']}")


def _peer_texts(coll: Any, papers: list[Any], *, seed: int) -> dict[int, tuple[str, str]]:
    """(title, abstract) of each paper of ``coll`` as the peers index it, agreeing with its vector:
    a paper with a real vector (``papers[i]`` for position i) has its own text; one with a
    generated vector (a blend of two real ones, bench/corpus.py) has a text recombined from the
    same two papers' sentences (bench/scale.py), so full-text search sees real sentences, real
    lengths and a real vocabulary at any size. The benchmark database's generated rows only back
    the vectors: our side fetches them by pk and never reads their text."""
    from bench import corpus as corpus_module
    from bench import scale

    n_real = coll.real
    ids = coll.ids.tolist()
    texts = {pk: (papers[i].title, papers[i].abstract) for i, pk in enumerate(ids[:n_real])}
    a, b, mix = corpus_module.generated_sources(len(papers), len(ids) - n_real, seed=seed, dim=coll.vectors.shape[1])
    split: dict[int, list[str]] = {}
    for pk, p, q, share in zip(ids[n_real:], a.tolist(), b.tolist(), mix.tolist(), strict=True):
        for n in (p, q):
            if n not in split:
                split[n] = scale.sentences(papers[n].abstract)
        fields = scale.generated_fields(papers[p], papers[q], share, split[p], split[q])
        texts[pk] = (fields["title"], fields["abstract"])
    return texts


def _faiss_threads() -> int:
    import faiss

    return int(faiss.omp_get_max_threads())
