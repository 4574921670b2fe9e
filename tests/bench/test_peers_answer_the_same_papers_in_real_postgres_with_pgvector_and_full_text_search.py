"""The peer benchmark (bench/peers.py) runs real PostgreSQL 16 with pgvector (the pgserver
package, on a unix socket): its HNSW finds what exact search finds, its full-text search finds
papers by their words, and a generated paper's text is made from the same two real papers as
its vector, so full-text search at millions of papers reads real sentences that agree with the
vectors."""

import numpy as np
import pytest

from bench import corpus, peers, retrieval, scale
from bench.management.commands.bench_speed import _peer_texts
from search import embedder

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


def test_generated_vectors_are_the_blends_of_the_sources_generated_sources_names():
    real = np.random.default_rng(3).standard_normal((50, 8)).astype(np.float32)
    real /= np.linalg.norm(real, axis=1, keepdims=True)

    vectors = corpus.generated_vectors(real, 250_003, seed=7, noise=0.0)
    a, b, mix = corpus.generated_sources(len(real), 250_003, seed=7, dim=8)

    blends = (1 - mix[:, None]) * real[a] + mix[:, None] * real[b]
    blends /= np.linalg.norm(blends, axis=1, keepdims=True)
    assert len(a) == len(b) == len(mix) == 250_003
    assert np.allclose(vectors, blends, atol=1e-6)
    # With noise the same sources stay behind each vector (one random stream for both).
    noisy = corpus.generated_vectors(real, 250_003, seed=7)
    assert float(np.mean(np.sum(noisy * blends, axis=1))) > 0.9


def test_a_generated_papers_peer_text_is_recombined_from_its_vectors_two_sources():
    papers = list(corpus.read_papers(corpus.SAMPLE_1K))[:40]
    real = np.random.default_rng(4).standard_normal((40, 8)).astype(np.float32)
    size = 100
    vectors = np.vstack([real, corpus.generated_vectors(real, size - 40, seed=size)])
    coll = retrieval.Collection(name="n100", ids=np.arange(1000, 1000 + size), vectors=vectors, real=40)

    texts = _peer_texts(coll, papers, seed=size)

    assert len(texts) == size
    assert texts[1000] == (papers[0].title, papers[0].abstract)
    a, b, _ = corpus.generated_sources(40, size - 40, seed=size, dim=8)
    for n in range(size - 40):
        title, abstract = texts[1040 + n]
        p, q = papers[int(a[n])], papers[int(b[n])]
        assert abstract.startswith(scale.sentences(p.abstract)[0])
        assert abstract.endswith(scale.sentences(q.abstract)[-1])
        assert title.split()[0] == p.title.split()[0]


def test_pgvector_hnsw_and_full_text_search_answer_on_the_same_papers(tmp_path):
    papers = list(corpus.read_papers(corpus.SAMPLE_1K))[:300]
    vectors = np.asarray(embedder.encode([p.text for p in papers]), dtype=np.float32)
    ids = np.arange(1, len(papers) + 1, dtype=np.int64)
    coll = retrieval.Collection(name="n300", ids=ids, vectors=vectors, real=len(papers))
    queries = [papers[n].title for n in (3, 50, 120, 200, 299)]
    exact = retrieval.exact_top_k(coll, embedder.encode(queries))

    result = peers.bench_peers(
        pg_dir=tmp_path / "pg",
        name="n300",
        ids=ids,
        vectors=vectors,
        texts={int(pk): (p.title, p.abstract) for pk, p in zip(ids, papers, strict=True)},
        queries=queries,
        exact=exact,
        ef_search=[100],
        fts_queries=3,
        log=lambda message: None,
    )

    assert result["postgres"].startswith("16") and result["pgvector"]
    assert set(result["build"]) == {"copy_s", "gin_build_s", "hnsw_build_s", "vacuum_s"}
    (hnsw,) = result["pgvector_hnsw"]
    assert hnsw["ef_search"] == 100 and hnsw["recall_at_10"] >= 0.9  # 300 papers: HNSW all but exact
    assert hnsw["sql"]["p50_ms"] > 0
    assert result["shared_buffers"] == f"{result['shared_buffers_mb']}MB"  # the restart applied it
    fts = result["fts"]
    assert fts["queries"] == 3 and fts["queries_without_results"] == 0
    assert fts["recall_at_10"] > 0  # a title's words find the paper, which exact dense search ranks first


def test_the_hnsw_build_memory_holds_the_graph_of_millions_of_vectors():
    assert peers.hnsw_build_memory_mb(10_000, 384, 16) == 1024  # small collections keep the old 1 GB
    assert peers.hnsw_build_memory_mb(2_600_000, 384, 16) >= 2_600_000 * 384 * 4 / 2**20  # at least the vectors


def test_shared_buffers_hold_the_hnsw_index_within_a_cap():
    assert peers.shared_buffers_mb(0) == 256
    assert peers.shared_buffers_mb(4 * 2**30) == int(4 * 1024 * 1.2) + 256
    assert peers.shared_buffers_mb(100 * 2**30) == 8192
