"""Assertions shared by the fault tests: every paper embedded once per content version, index == DB."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from tests.pipeline.harness import Pipeline, wait_until
from tests.pipeline.instrumented import FAST_MODEL_NAME, fast_vector


def converged(pipeline: Pipeline, *, papers: int, timeout: float) -> dict[str, object]:
    """Wait until every paper has a vector and verify_index passes; return its report."""
    model = pipeline.env.get("EMBEDDING_MODEL_NAME", "")

    def done() -> dict[str, object] | None:
        stored = pipeline.count("search_paperembedding", f"model = '{model}'" if model else "")
        if stored < papers:
            return None
        code, report = pipeline.verify()
        return report if code == 0 else None

    return wait_until(
        done, timeout=timeout, interval=1.0, what=f"{papers} papers embedded and index == database",
        on_timeout=lambda: f"verify: {pipeline.verify()}\n{pipeline.logs()}",
    )


def assert_each_paper_written_once_per_content_version(pipeline: Pipeline, *, papers: int) -> None:
    """The audit trigger saw exactly one committed write per (paper, content hash), and they match the papers."""
    writes = pipeline.db.query("SELECT paper_id, content_hash FROM embedding_writes")
    repeated = {key: n for key, n in Counter(writes).items() if n > 1}
    assert not repeated, f"written more than once: {list(repeated.items())[:10]}"
    assert len(writes) == papers, f"{len(writes)} writes for {papers} papers"
    mismatched = pipeline.count(
        "search_paperembedding e JOIN papers_paper p ON p.id = e.paper_id", "e.content_hash <> p.content_hash"
    )
    assert mismatched == 0
    assert pipeline.count("search_paperembedding") == papers


def assert_fast_vectors_match_texts(pipeline: Pipeline, *, sample: int = 200) -> None:
    """Stored vectors are the embedder's output for each paper's current text (not a neighbour's)."""
    from papers.models import embedding_text

    rows = pipeline.db.query(
        "SELECT p.title, p.abstract, e.vector FROM search_paperembedding e JOIN papers_paper p ON p.id = e.paper_id "
        f"WHERE e.model = '{FAST_MODEL_NAME}' ORDER BY p.id LIMIT {sample}"
    )
    assert rows
    for title, abstract, vector in rows:
        stored = np.frombuffer(bytes(vector), dtype=np.float32)
        assert np.allclose(stored, fast_vector(embedding_text(title, abstract)), atol=1e-6), title


def redelivered_task_ids(log: str) -> list[str]:
    """Task ids the worker received more than once (a batch given back after its process died)."""
    received = Counter(re.findall(r"Task search\.tasks\.embed_papers\[([0-9a-f-]+)\] received", log))
    return [task for task, n in received.items() if n > 1]
