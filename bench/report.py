"""Markdown tables of a bench_speed JSON result (what docs/benchmarks.md pastes, untouched)."""

from __future__ import annotations

from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def head_to_head(results: dict[str, Any]) -> list[dict[str, Any]]:
    """For each pgvector setting: our fastest index configuration with equal or better recall@10.

    Compared with p50s of the same queries in the same run: the engines' own work (a query vector
    in, the 10 rows out: our retrieve + fetch vs pgvector's SQL) and end to end (both plus the same
    query encoding). The engine figure fetches what pgvector's SQL returns (id, title, abstract:
    ``rows``); the same figure with the 10 papers loaded as the app loads them (``fetch``: Django
    model instances, every column) is reported beside it. Runs from before ``rows`` existed fall
    back to ``fetch``. Our candidates are each kind at its configured parameters and every point
    of its parameter sweep (retrieval-only, plus that kind's fetch p50).
    """
    rows = []
    for size, p in results.get("peers", {}).items():
        c = results.get("collections", {}).get(size)
        if not c:
            continue
        ours = []
        for kind, k in c["kinds"].items():
            params = ", ".join(f"{a}={b}" for a, b in k["params"].items()) or "-"
            encode, fetch = k["encode"]["p50_ms"], k["fetch"]["p50_ms"]
            lean = k.get("rows", k["fetch"])["p50_ms"]
            points = [(params, k["search"]["p50_ms"], k["recall_at_10"])]
            for point in k.get("sweep", []):
                name = "nprobe" if "nprobe" in point else "efSearch"
                points.append((f"{name}={point[name]}", point["search"]["p50_ms"], point["recall_at_10"]))
            for label, search, recall in points:
                ours.append((kind, label, search + lean, search + fetch, search + encode + lean, recall))
        for h in p["pgvector_hnsw"]:
            if "sql" not in h:
                continue
            good = [o for o in ours if o[5] >= h["recall_at_10"]]
            if not good:
                continue
            kind, params, engine, engine_orm, total, recall = min(good, key=lambda o: o[2])
            rows.append(
                {
                    "size": int(size),
                    "pgvector": f"HNSW m={p['m']} ef_search={h['ef_search']}",
                    "pgvector_recall": h["recall_at_10"],
                    "pgvector_sql_ms": h["sql"]["p50_ms"],
                    "pgvector_total_ms": h["total"]["p50_ms"],
                    "ours": f"{kind} {params}",
                    "ours_recall": recall,
                    "ours_engine_ms": round(engine, 3),
                    "ours_engine_orm_ms": round(engine_orm, 3),
                    "ours_total_ms": round(total, 3),
                    "engine_speedup": round(h["sql"]["p50_ms"] / engine, 2) if engine else None,
                    "engine_orm_speedup": round(h["sql"]["p50_ms"] / engine_orm, 2) if engine_orm else None,
                    "total_speedup": round(h["total"]["p50_ms"] / total, 2) if total else None,
                }
            )
    return rows


def markdown(results: dict[str, Any]) -> str:
    """Every table of one run, with its command, date and machine load."""
    machine = results["machine"]
    out = [
        (f"Command: `{results['command']}` ({results['date']}, {machine['cpus']} cores, load average "
        f"{machine['load_avg_at_start'][0]} at start, {machine['load_avg_at_end'][0]} at end; "
        f"{results['elapsed_s']} s; query encoder: {results['backend']})."),
        "",
    ]
    if results.get("embedding"):
        out += ["**Embedding throughput** (same real abstracts, same run, best of interleaved rounds):", ""]
        out += _table(
            ["backend", "precision", "abstracts/s", "x torch", "cosine min", "cosine mean", "rounds (/s)"],
            [[r["backend"], r["precision"], r["abstracts_per_s"], r["speedup_vs_torch"], r["cosine_min"], r["cosine_mean"], ", ".join(map(str, r["rounds_per_s"]))] for r in results["embedding"]],
        )
        out.append("")
    if results.get("scifact"):
        out += ["**SciFact dense nDCG@10** (exact search; only the vectors differ):", ""]
        out += _table(["backend", "precision", "nDCG@10", "delta vs torch"], [[r["backend"], r["precision"], r["ndcg_at_10"], f"{r['delta_vs_torch']:+.4f}"] for r in results["scifact"]])
        out.append("")
    if results.get("collections"):
        out += [
            ("**Search** (one query at a time: encode + top-10 + fetch the 10 papers as Django models; ms; \"3 columns\": their id, title and abstract by one SQL statement instead, as pgvector's query returns them; recall@10 vs exact; "
            "memory = the larger of 2 concurrent serving processes, MB):"),
            "",
        ]
        rows = []
        for size, c in results["collections"].items():
            for kind, k in c["kinds"].items():
                memory = k.get("memory", {})
                rows.append(
                    [
                        f"{int(size):,}",
                        f"{c['real_vectors']:,}",
                        kind,
                        ", ".join(f"{a}={b}" for a, b in k["params"].items()) or "-",
                        k["build_s"],
                        k["file_mb"],
                        k["total"]["p50_ms"],
                        k["total"]["p99_ms"],
                        k["encode"]["p50_ms"],
                        k["search"]["p50_ms"],
                        k["search"]["p99_ms"],
                        k["fetch"]["p50_ms"],
                        k.get("rows", {}).get("p50_ms", "-"),
                        k["recall_at_10"],
                        memory.get("uss_mb_max", "-"),
                        memory.get("pss_mb_max", "-"),
                        memory.get("anon_mb_max", "-"),
                    ]
                )
        out += _table(
            ["papers", "real vectors", "kind", "params", "build s", "file MB", "p50", "p99", "encode p50", "retrieve p50", "retrieve p99", "fetch p50", "3 columns p50", "recall@10", "USS", "PSS", "anon"],
            rows,
        )
        out.append("")
        sweeps = []
        for size, c in results["collections"].items():
            for kind, k in c["kinds"].items():
                for s in k.get("sweep", []):
                    name = "nprobe" if "nprobe" in s else "efSearch"
                    sweeps.append([f"{int(size):,}", kind, f"{name}={s[name]}", s["search"]["p50_ms"], s["search"]["p99_ms"], s["recall_at_10"]])
        if sweeps:
            out += ["**Search parameter sweeps** (retrieval only, ms):", ""]
            out += _table(["papers", "kind", "parameter", "retrieve p50", "retrieve p99", "recall@10"], sweeps)
            out.append("")
    if results.get("peers"):
        out += ["**Peers** on the same papers, vectors and queries (ms per search; pgvector's includes the query encoding, its SQL alone in the last columns; recall@10 vs exact dense):", ""]
        rows = []
        for size, p in results["peers"].items():
            for h in p["pgvector_hnsw"]:
                sql = h.get("sql", {})
                rows.append([f"{int(size):,}", f"pgvector {p['pgvector']} HNSW m={p['m']} ef_search={h['ef_search']}", h["total"]["p50_ms"], h["total"]["p99_ms"], h["recall_at_10"], sql.get("p50_ms", "-"), sql.get("p99_ms", "-")])
            f = p["fts"]
            rows.append([f"{int(size):,}", f"PostgreSQL {p['postgres'].split()[0]} FTS ({f['queries_without_results']} queries without results)", f["total"]["p50_ms"], f["total"]["p99_ms"], f["recall_at_10"], f["total"]["p50_ms"], f["total"]["p99_ms"]])
        out += _table(["papers", "system", "p50", "p99", "recall@10", "SQL p50", "SQL p99"], rows)
        out.append("")
        out += ["Peer build times (s): " + "; ".join(f"{int(size):,}: {p['build']}" for size, p in results["peers"].items()), ""]
        duel = head_to_head(results)
        if duel:
            out += [
                ("**Against pgvector at equal or better recall** (p50 ms, same queries, same run; engine = query vector in, "
                "10 rows out: our retrieve + one SQL fetching the same id, title and abstract as pgvector's SQL; "
                "\"app's fetch\": our retrieve + the 10 papers loaded as Django models, every column; "
                "end to end adds the same query encoding to both):"),
                "",
            ]
            out += _table(
                ["papers", "pgvector", "recall", "engine", "end to end", "ours", "recall", "engine", "app's fetch", "end to end", "engine x", "x, app's fetch", "end-to-end x"],
                [
                    [f"{r['size']:,}", r["pgvector"], r["pgvector_recall"], r["pgvector_sql_ms"], r["pgvector_total_ms"], r["ours"], r["ours_recall"],
                     r["ours_engine_ms"], r.get("ours_engine_orm_ms", "-"), r["ours_total_ms"], r["engine_speedup"], r.get("engine_orm_speedup", "-"), r["total_speedup"]]
                    for r in duel
                ],
            )
            out.append("")
    if results.get("http"):
        h = results["http"]
        out += [
            (f"**HTTP** at {h['size']:,} papers ({h['real_vectors']:,} real vectors), gunicorn {h['workers']} workers x "
            f"{h['threads']} threads, load from a second process on loopback; app build (`build_index --full`) {h['build_index_s']} s:"),
            "",
        ]
        out += _table(
            ["route", "connections", "runs", "requests/s", "p50 ms", "p99 ms", "p50 of each run", "p99 of each run", "non-2xx"],
            [[r["route"], r["connections"], r["runs"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], " / ".join(map(str, r["p50_ms_runs"])), " / ".join(map(str, r["p99_ms_runs"])), r["non_2xx"]] for r in h["summary"]],
        )
        out += ["", f"Medians of {h['repeats']} interleaved runs of {h['runs'][0]['seconds']} s each ({h['runs'][0]['tool']}); every run:", ""]
        out += _table(
            ["route", "connections", "requests/s", "p50 ms", "p99 ms", "requests", "non-2xx", "tool"],
            [[r["route"], r["connections"], r["requests_per_s"], r.get("p50_ms"), r.get("p99_ms"), r["requests"], r["non_2xx"], f"{r['tool']} {r['seconds']} s"] for r in h["runs"]],
        )
        out.append("")
        out += ["Web worker memory after the runs (MB): " + "; ".join(f"USS {m['uss_mb']}, PSS {m['pss_mb']}, anon {m['anon_mb']}" for m in h["memory"]), ""]
    if results.get("web_memory"):
        w = results["web_memory"]
        out += [
            (f"**Web worker memory** at {w['size']:,} papers ({w['real_vectors']:,} real vectors; app build: storing "
            f"embeddings {w['store_embeddings_s']} s, `build_index --full` {w['build_index_s']} s), gunicorn 2 workers x "
            f"{w['threads_per_worker']} threads, after {w['sequential_searches']} searches one at a time (API and page "
            "alternating) and 8 concurrent connections per route (MB, from /proc/<pid>/smaps_rollup):"),
            "",
        ]
        out += _table(
            ["worker", "USS", "PSS", "anon", "USS after start", "torch mapped"],
            [[n + 1, m["uss_mb"], m["pss_mb"], m["anon_mb"], (m.get("after_start") or {}).get("uss_mb", "-"), m["breakdown"].get("torch_mapped")] for n, m in enumerate(w["workers"])],
        )
        out.append("")
    return "\n".join(out)
