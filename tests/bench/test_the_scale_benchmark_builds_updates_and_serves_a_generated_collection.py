"""bench_scale end to end on a small collection: real papers plus generated ones made of real
sentences with near-real vectors, labelled as generated; a full build, incremental builds of the
papers a round adds, gunicorn serving the result, engine parts and dense recall reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from bench import corpus, scale

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


def test_generated_papers_are_recombined_from_two_real_papers_of_one_category() -> None:
    real = list(corpus.read_papers(corpus.SAMPLE_1K))
    plan = scale.make_plan(real, 500)
    assert (scale.make_plan(real, 200).q == plan.q[:200]).all()  # a longer plan starts with the same papers
    for n in range(50):
        p, q = real[int(plan.p[n])], real[int(plan.q[n])]
        assert (p.categories[:1] or [""]) == (q.categories[:1] or [""])
        fields = scale.generated_fields(p, q, float(plan.mix[n]), scale.sentences(p.abstract), scale.sentences(q.abstract))
        assert fields["abstract"].startswith(scale.sentences(p.abstract)[0])
        assert fields["abstract"].endswith(scale.sentences(q.abstract)[-1])
        assert fields["title"].split()[0] == p.title.split()[0] and fields["authors"] == p.authors
    vectors = np.random.default_rng(0).standard_normal((len(real), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    made = scale.generated_vectors(plan, vectors, start=0, stop=500)
    # The same vectors however the range is cut (stored in blocks, recomputed whole for exact search).
    assert np.array_equal(np.vstack([scale.generated_vectors(plan, vectors, start=a, stop=min(500, a + 70)) for a in range(0, 500, 70)]), made)
    assert np.allclose(np.linalg.norm(made, axis=1), 1, atol=1e-5)
    nearest = np.argmax(made @ vectors.T, axis=1)
    assert (nearest == plan.p).mean() > 0.95  # each lies nearest the paper most of its text came from


def test_bench_scale_reports_builds_search_latency_parts_memory_and_recall(tmp_path: Path, capsys, django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "scale.json"
    with django_db_blocker.unblock():  # the benchmark's own SQLite file, never the test database
        call_command(
            "bench_scale", "--size", "1500", "--corpus", str(corpus.SAMPLE_1K), "--rounds", "2", "--added", "40",
            "--queries", "20", "--passes", "1", "--connections", "3", "--load-seconds", "3", "--database", str(tmp_path / "scale.sqlite3"), "--json", str(out),
        )
    result = json.loads(out.read_text())
    assert result["collection"] == {"real": 800, "generated": 700, "embeddings": 1500}
    assert result["full"]["kind"] == "full" and result["full"]["count"] == 1500
    rounds = result["incremental"]["rounds"]
    assert [(r["kind"], r["count"], r["added"], r["builder"]) for r in rounds] == [
        ("incremental", 1540, 40, "fresh process"), ("incremental", 1580, 40, "fresh process"),
        ("incremental", 1620, 40, "long-lived builder"), ("incremental", 1660, 40, "long-lived builder"),
    ]
    assert 0 < result["incremental"]["fresh_share_of_full"] < 5 and 0 < result["incremental"]["long_lived_share_of_full"] < 5
    http = result["http"]
    assert http["api"]["n"] == 20 and 0 < http["api"]["p50_ms"] <= http["api"]["p99_ms"] and http["ready_s"] > 0
    assert all(http["parts"][part]["p50_ms"] > 0 for part in ("encode", "vector", "keyword"))
    # Each pass timed on its own, with the page faults the workers took serving it.
    assert [b["n"] for b in http["api_by_pass"]] == [20]
    assert all(b["minor_faults_per_request"] >= 0 and b["major_faults_per_request"] >= 0 for b in http["api_by_pass"])
    assert http["api_by_pass"][0]["minor_faults_per_request"] > 0  # the counters are read (a search faults some pages)
    # The same search in process, its time attributed to the stages a request passes through.
    stages = http["in_process"]["stages_mean_ms"]
    assert http["in_process"]["in_process"]["n"] == 20 and http["http_over_in_process"] > 0
    assert stages["  rank"] > 0 and stages["    keyword: BM25 + coverage"] > 0 and stages["  encode the query"] > 0
    assert stages["database: SQL executed (all stages)"] > 0
    # The floor's dense search runs on a helper thread (cProfile sees the request's thread): the
    # request's own dense calls (exact cosines of keyword-only finds) and its wait for the helper.
    assert stages["    dense search (this thread's calls)"] + stages["    waited for the floor's dense search"] > 0
    assert 0 < stages["  rank"] < stages["resolve the query and rank"] < http["in_process"]["profiled_search_mean_ms"]
    assert abs(stages["outside the stages"]) < 0.5 * http["in_process"]["profiled_search_mean_ms"]  # the stages add up
    memory = http["in_process"]["memory_mb"]
    assert list(memory) == ["django", "model loaded", "build mapped", "first search", "spelling loaded", "after every query"]
    assert memory["model loaded"]["anon_mb"] > memory["django"]["anon_mb"] > 0
    assert all("breakdown" in w and w["breakdown"]["anon_and_heap_mb"] > 0 for w in http["workers"])
    # Several clients at once (threads in each worker), the workers' memory read right after.
    concurrent = http["concurrent"]
    assert concurrent["connections"] == 3 and concurrent["requests"] > 0 and concurrent["non_2xx"] == 0
    assert len(concurrent["workers"]) == 2 and all(w["breakdown"]["anon_and_heap_mb"] > 0 for w in concurrent["workers"])
    # And again once they have been idle long enough to hand freed memory back.
    assert len(http["workers_idle"]) == 2 and all(w["breakdown"]["anon_and_heap_mb"] > 0 for w in http["workers_idle"])
    assert len(http["workers"]) == 2 and all(w["uss_mb"] > 0 for w in http["workers"])
    assert result["recall"]["recall_at_10"] >= 0.9 and result["recall"]["queries"] == 20
    assert "incremental (+40)" in capsys.readouterr().out

    from bench.database import ALIAS, GENERATED
    from papers.models import Paper

    with django_db_blocker.unblock():
        generated = Paper.objects.using(ALIAS).filter(content_hash__startswith=GENERATED)
        assert generated.count() == 700  # the rounds' papers are removed again: a rerun starts alike
        assert not generated.filter(arxiv_id__isnull=False).exists()


@pytest.mark.parametrize("build", ["incremental", "full"])
def test_bench_scale_stack_step_measures_every_process_of_the_stack_on_postgresql(tmp_path: Path, capsys, django_db_blocker, build: str) -> None:  # type: ignore[no-untyped-def]
    """The collection copied into PostgreSQL, gunicorn and a Celery worker (Redis) on it: the
    worker builds the papers that arrive (incrementally, or from scratch with ``--stack-build
    full``), the web workers serve the new build, and the memory of every process (web, worker,
    PostgreSQL, Redis) is read throughout."""
    import os

    import psycopg

    out = tmp_path / "stack.json"
    name = f"paperscope_bench_stack_{os.getpid()}"
    try:
        with django_db_blocker.unblock():
            call_command(
                "bench_scale", "--size", "1200", "--corpus", str(corpus.SAMPLE_1K), "--added", "30", "--queries", "10", "--steps", "full,stack",
                "--stack-seconds", "3", "--pg-url", f"postgres://postgres@127.0.0.1:5432/{name}", "--database", str(tmp_path / "scale.sqlite3"),
                "--json", str(out), "--stack-build", build,
            )
        stack = json.loads(out.read_text())["stack"]
        assert stack["database"]["rows"]["search_paperembedding"] == 1200 and stack["database"]["rows"]["papers_paper"] >= 1200
        assert stack["database"]["copied"] == ["papers_paper", "search_paperembedding"]
        assert stack["build"]["kind"] == build and stack["build"]["count"] == 1230
        assert stack["build"]["added"] == (30 if build == "incremental" else 1230)
        assert stack["failed_requests"] == 0 and stack["searches"]["serving the new build"]["n"] > 0
        memory = stack["memory"]
        assert set(memory["at_peak_mb"]) == {"web", "worker", "postgresql", "redis"}
        assert all(value > 0 for value in memory["peak_by_group_mb"].values())
        assert abs(memory["peak_total_mb"] - sum(memory["at_peak_mb"].values())) < 0.5
        assert "whole stack on PostgreSQL (PSS): peak" in capsys.readouterr().out
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as conn:  # the arrivals are removed again
            assert conn.execute("SELECT count(*) FROM search_paperembedding").fetchone() == (1200,)
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert not (tmp_path / "scale.index-stack").exists()


def test_bench_scale_peers_step_puts_the_same_collection_in_postgres_with_pgvector_and_full_text_search(tmp_path: Path, capsys, django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    """The peers meet the realistic collection: its stored texts (real sentences) and its vectors
    in PostgreSQL with pgvector (pgserver), the same held-out queries, recall against exact search."""
    out = tmp_path / "peers.json"
    with django_db_blocker.unblock():
        call_command(
            "bench_scale", "--size", "1200", "--corpus", str(corpus.SAMPLE_1K), "--queries", "10", "--steps", "peers", "--peer-ef-search", "40,200",
            "--fts-queries", "3", "--database", str(tmp_path / "scale.sqlite3"), "--json", str(out),
        )
    peers = json.loads(out.read_text())["peers"]
    assert [h["ef_search"] for h in peers["pgvector_hnsw"]] == [40, 200]
    assert peers["pgvector_hnsw"][-1]["recall_at_10"] >= 0.9  # 1,200 papers: HNSW all but exact
    assert all(h["sql"]["p50_ms"] > 0 for h in peers["pgvector_hnsw"])
    assert peers["fts"]["queries"] == 3 and peers["fts"]["queries_without_results"] == 0
    assert peers["m"] == 16 and peers["ef_construction"] == 64
    assert set(peers["build"]) == {"copy_s", "gin_build_s", "hnsw_build_s", "vacuum_s"}
    assert "pgvector ef_search=200" in capsys.readouterr().out
