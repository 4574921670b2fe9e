"""kill -9 a worker child in the middle of a 2,000-paper run: nothing lost, nothing embedded twice."""

from __future__ import annotations

import os
import signal

from tests.pipeline.checks import (
    assert_each_paper_written_once_per_content_version,
    assert_fast_vectors_match_texts,
    converged,
    redelivered_task_ids,
)
from tests.pipeline.harness import Pipeline, arxiv_slice, postgres_pass, wait_until
from tests.pipeline.instrumented import FAST_MODEL_NAME

PAPERS = 2000


@postgres_pass
def test_a_worker_child_killed_mid_batch_loses_no_paper_and_embeds_each_once(broker_pipeline: Pipeline) -> None:
    p = broker_pipeline
    p.env.update(
        {
            "EMBEDDING_MODEL_NAME": FAST_MODEL_NAME,
            "EMBED_TASK_BATCH": "100",
            "FAST_EMBEDDER_DELAY": "0.004",  # 0.4 s per batch: long enough to be killed inside one
            "BUILD_DEBOUNCE_SECONDS": "1",
            "BUILD_LOCK_TTL": "5",
        }
    )
    marks = p.tmp / "encoding"
    marks.mkdir()
    p.env["FAST_EMBEDDER_MARK"] = str(marks)
    data = arxiv_slice(p.tmp / "papers.jsonl", PAPERS)
    worker = p.worker(concurrency=1)
    p.manage("import_papers", str(data))  # with REDIS_URL: stores papers, queues 20 batches
    assert p.count("papers_paper") == PAPERS

    wait_until(lambda: p.count("search_paperembedding") >= 400, timeout=120, what="the run to get going", on_timeout=p.logs)
    # The child is inside a batch once its mark exists.
    child = wait_until(lambda: [c for c in worker.children() if (marks / str(c)).exists()], timeout=30, what="a batch in progress", interval=0.02)[0]
    os.kill(child, signal.SIGKILL)

    converged(p, papers=PAPERS, timeout=180)
    log = worker.text()
    assert "signal 9" in log, "the killed process was not noticed by the worker"
    assert redelivered_task_ids(log), "no batch was redelivered: the kill did not hit a running batch"
    assert_each_paper_written_once_per_content_version(p, papers=PAPERS)
    assert_fast_vectors_match_texts(p)
    # Debounced: far fewer builds than the 20 batches that each asked for one.
    builds = p.count("search_indexbuild", "status = 'published'")
    assert 1 <= builds <= 10, builds
