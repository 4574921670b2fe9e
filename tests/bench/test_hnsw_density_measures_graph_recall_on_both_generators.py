"""bench/hnsw_density.py measures HNSW recall on both benchmark generators (the check behind
docs/scale.md run 14: pgvector's low recall at 2.6M comes from near-duplicate clusters)."""

import numpy as np

from bench import corpus, hnsw_density


def test_sparse_generated_collections_keep_hnsw_recall_high_on_both_generators():
    papers = list(corpus.read_papers(corpus.SAMPLE_1K))[:300]
    vectors = np.random.default_rng(0).standard_normal((500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    rows = hnsw_density.run(vectors, papers, real=300, densities=(2,))

    assert [r["generator"] for r in rows] == list(hnsw_density.generators(papers))
    for row in rows:
        assert row["papers"] == 300 * 3
        assert row["ef_search=400"] >= 0.95  # 900 vectors: the graph finds what exact search finds
        assert all(0.0 <= row[f"ef_search={ef}"] <= 1.0 for ef in hnsw_density.EF_SEARCH)
