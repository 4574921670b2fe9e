"""bench_speed's search timing fetches the hits twice: as the app loads them and as pgvector returns them."""

import numpy as np

from bench.retrieval import Collection, exact_top_k, serve_queries
from search import embedder
from search.vector_index import make_index


def test_serving_queries_times_the_apps_model_fetch_and_the_three_column_fetch_of_the_same_hits(paper_factory):
    texts = ["protein folding with deep networks", "graph neural networks for molecules", "galaxy rotation curves and dark matter"]
    papers = [paper_factory(title=t, abstract=f"We study {t}.") for t in texts]
    vectors = np.asarray(embedder.encode([f"{p.title}. {p.abstract}" for p in papers]), dtype=np.float32)
    collection = Collection("three", np.asarray([p.pk for p in papers], dtype=np.int64), vectors, real=3)
    index = make_index(vectors.shape[1], "flat")
    index.add(collection.ids, vectors)
    queries = ["dark matter in galaxies", "folding proteins"]

    result = serve_queries(index=index, queries=queries, exact=exact_top_k(collection, np.vstack([embedder.encode_query(q) for q in queries])), db_alias="default")

    assert result["recall_at_10"] == 1.0
    for part in ("encode", "search", "fetch", "rows", "total"):
        assert result[part]["p50_ms"] > 0, part
