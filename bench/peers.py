"""Peers on the same papers, vectors and queries in the same run: PostgreSQL full-text search and
pgvector HNSW, served by the PyPI package ``pgserver`` (PostgreSQL 16 with pgvector, on a unix
socket under var/bench/; nothing listens on the network).

pgvector latency is reported twice: ``sql`` is the SQL query returning the 10 rows for a query
vector already encoded (comparable to our retrieve + fetch: the engines' own work), ``total`` adds
the query encoding (same backend as ours; comparable to our encode + retrieve + fetch).
Full-text search needs no encoding: its latency is the SQL query alone. Recall@10 is against exact dense search of the same vectors; for
full-text search that number says how often keyword ranking finds the semantic top 10, not
whether its results are relevant.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.metrics import latency_summary, recall_against_exact
from bench.retrieval import K
from search import embedder

WORD = re.compile(r"[A-Za-z][A-Za-z0-9]{1,}")


def stop(server: Any) -> None:
    """Stop the server now. pgserver's "stop" mode keeps its exit hook registered, which would
    stop it again (and log to a closed stream under pytest) at exit: that hook goes too."""
    import atexit

    server.cleanup()
    atexit.unregister(server._cleanup)  # the hook pgserver registered; its "delete" mode drops it the same way


def _one(row: tuple[Any, ...] | None) -> Any:
    """The single value of a one-row, one-column answer."""
    if row is None:
        raise RuntimeError("the query returned no row")
    return row[0]


def _vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def start(directory: Path) -> Any:
    import pgserver

    directory.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(str(directory), cleanup_mode="stop")


def hnsw_build_memory_mb(rows: int, dim: int, m: int) -> int:
    """maintenance_work_mem for an in-memory HNSW build: at least 1 GB (the old fixed setting)."""
    per_row = dim * 4 + 2 * m * 8 + 256  # vector, level-0 neighbour list (2m items), element overhead
    return max(1024, int(rows * per_row * 1.5 / 2**20))


def load_table(
    conn: Any, *, table: str, ids: np.ndarray, vectors: np.ndarray, texts: dict[int, tuple[str, str]], m: int, ef_construction: int
) -> dict[str, float]:
    """(Re)create a table of papers with a tsvector and a vector column, and both indexes."""
    dim = vectors.shape[1]
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(
            f"CREATE TABLE {table} (id bigint PRIMARY KEY, title text, abstract text, "
            f"tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', title || ' ' || abstract)) STORED, "
            f"embedding vector({dim}))"
        )
        started = time.perf_counter()
        with cur.copy(f"COPY {table} (id, title, abstract, embedding) FROM STDIN") as copy:
            for pk, vector in zip(ids.tolist(), vectors, strict=True):
                title, abstract = texts[pk]
                copy.write_row((pk, title, abstract, _vector_literal(vector)))
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        cur.execute(f"CREATE INDEX ON {table} USING gin (tsv)")
        gin_s = time.perf_counter() - started
        # The HNSW graph must fit in maintenance_work_mem, or pgvector goes on building on disk
        # many times slower: the vectors plus the m neighbours of each level-0 node, with room.
        cur.execute(f"SET maintenance_work_mem = '{hnsw_build_memory_mb(len(ids), dim, m)}MB'")
        started = time.perf_counter()
        cur.execute(
            f"CREATE INDEX ON {table} USING hnsw (embedding vector_ip_ops) WITH (m = {m}, ef_construction = {ef_construction})"
        )
        hnsw_s = time.perf_counter() - started
    conn.commit()
    # VACUUM now, not by autovacuum during the timed queries (millions of inserted rows start it).
    conn.autocommit = True  # VACUUM cannot run inside a transaction
    started = time.perf_counter()
    conn.execute(f"VACUUM (ANALYZE) {table}")
    vacuum_s = time.perf_counter() - started
    conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")  # nothing changes it from here on
    conn.autocommit = False
    return {"copy_s": round(load_s, 2), "gin_build_s": round(gin_s, 2), "hnsw_build_s": round(hnsw_s, 2), "vacuum_s": round(vacuum_s, 2)}


def shared_buffers_mb(index_bytes: int) -> int:
    """shared_buffers that hold the HNSW index (pgvector's advice), from 128 MB (PostgreSQL's
    default) to 8 GB (a third of this machine's memory, beside the benchmark process)."""
    return min(8192, max(128, int(index_bytes * 1.2 / 2**20) + 256))


def bench_peers(
    *,
    pg_dir: Path,
    name: str,
    ids: np.ndarray,
    vectors: np.ndarray,
    texts: dict[int, tuple[str, str]],
    queries: list[str],
    exact: list[list[int]],
    ef_search: list[int],
    m: int = 16,
    ef_construction: int = 64,
    fts_queries: int | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """pgvector HNSW (several ef_search) and full-text search on one collection.

    Tuned as pgvector advises: the graph is built in memory (maintenance_work_mem), then the
    server restarts with shared_buffers that hold the index, and every query runs once untimed
    before the timed passes (our side, too, is timed warm). Full-text search takes seconds a
    query at millions of papers: ``fts_queries`` runs it on the first ones only.
    """
    import psycopg

    table = f"bench_{name}"
    server = start(pg_dir)
    try:
        with psycopg.connect(server.get_uri(), autocommit=False) as conn:
            with conn.cursor() as cur:
                cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
                cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
                pgvector_version = _one(cur.fetchone())
                cur.execute("SHOW server_version")
                pg_version = _one(cur.fetchone())
            conn.commit()
            log(f"  peers {name}: loading {len(ids)} rows and building GIN + HNSW (m={m}, ef_construction={ef_construction}) ...")
            build = load_table(conn, table=table, ids=ids, vectors=vectors, texts=texts, m=m, ef_construction=ef_construction)
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT coalesce(sum(pg_relation_size(indexrelid)), 0) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = %s::regclass AND am.amname = 'hnsw'",
                    (table,),
                )
                hnsw_bytes = int(_one(cur.fetchone()))
            conn.commit()
            conn.autocommit = True  # ALTER SYSTEM cannot run inside a transaction
            buffers = shared_buffers_mb(hnsw_bytes)
            conn.execute(f"ALTER SYSTEM SET shared_buffers = '{buffers}MB'")
    finally:
        stop(server)  # shared_buffers takes effect at the next start
    server = start(pg_dir)
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            result: dict[str, Any] = {
                "postgres": pg_version,
                "pgvector": pgvector_version,
                "build": build,
                "hnsw_index_mb": round(hnsw_bytes / 2**20, 1),
                "shared_buffers_mb": buffers,
                "pgvector_hnsw": [],
                "m": m,
                "ef_construction": ef_construction,
            }
            with conn.cursor() as cur:
                cur.execute("SHOW shared_buffers")
                result["shared_buffers"] = _one(cur.fetchone())
                query_vectors = [_vector_literal(embedder.encode_query(q)[0]) for q in queries]
                cur.execute(f"SET hnsw.ef_search = {int(max(ef_search))}")
                for literal in query_vectors:  # warm-up: the index pages into shared_buffers
                    cur.execute(f"SELECT id FROM {table} ORDER BY embedding <#> %s::vector LIMIT {K}", (literal,))
                    cur.fetchall()
                for ef in ef_search:
                    cur.execute(f"SET hnsw.ef_search = {int(ef)}")
                    total, sql, found = [], [], []
                    for query in queries:
                        started = time.perf_counter()
                        vector = embedder.encode_query(query)[0]
                        encoded = time.perf_counter()
                        cur.execute(
                            f"SELECT id, title, abstract FROM {table} ORDER BY embedding <#> %s::vector LIMIT {K}",
                            (_vector_literal(vector),),
                        )
                        rows = cur.fetchall()
                        done = time.perf_counter()
                        total.append(done - started)
                        sql.append(done - encoded)
                        found.append([r[0] for r in rows])
                    result["pgvector_hnsw"].append(
                        {"ef_search": ef, "total": latency_summary(total), "sql": latency_summary(sql), "recall_at_10": recall_against_exact(found, exact, K)}
                    )
                # Terms OR-ed: AND-ing every word of a sentence-long query finds almost nothing.
                total, found, empty = [], [], 0
                fts_asked = queries[: fts_queries or len(queries)]
                for query in fts_asked:
                    terms = " | ".join(dict.fromkeys(w.lower() for w in WORD.findall(query))) or "nothing"
                    started = time.perf_counter()
                    cur.execute(
                        f"SELECT id, title, abstract FROM {table}, to_tsquery('english', %s) q "
                        f"WHERE tsv @@ q ORDER BY ts_rank_cd(tsv, q) DESC LIMIT {K}",
                        (terms,),
                    )
                    rows = cur.fetchall()
                    total.append(time.perf_counter() - started)
                    found.append([r[0] for r in rows])
                    empty += not rows
                result["fts"] = {
                    "total": latency_summary(total),
                    "recall_at_10": recall_against_exact(found, exact[: len(fts_asked)], K),
                    "queries": len(fts_asked),
                    "queries_without_results": empty,
                    "query": "to_tsquery(terms OR-ed) ranked by ts_rank_cd",
                }
                cur.execute(f"DROP TABLE {table}")
                cur.execute("ALTER SYSTEM RESET shared_buffers")
    finally:
        stop(server)  # now, not at exit: later steps get its memory back
    return result
