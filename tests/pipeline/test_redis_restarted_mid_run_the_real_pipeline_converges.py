"""Restart Redis (losing every queued message) in the middle of a run with the real model.

The one fault test that runs the packaged model end to end in worker processes: import ->
embed (Celery worker) -> build -> search. It also checks that the model loads in each pool
process after the fork, never in the worker's main process. Reconcile runs at its production
settings: the worker's reconcile on reconnecting re-queues what the restart lost.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.pipeline.checks import (
    assert_each_paper_written_once_per_content_version,
    converged,
)
from tests.pipeline.harness import (
    LISTING,
    Pipeline,
    arxiv_slice,
    postgres_pass,
    wait_until,
)

MODEL_LIBRARIES = ("libtorch", "openvino", "onnxruntime")


def _mapped_model_libraries(pid: int) -> set[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {lib for lib in MODEL_LIBRARIES if lib in maps}


@postgres_pass
def test_restarting_redis_mid_run_workers_consume_again_and_the_run_converges(broker_pipeline: Pipeline) -> None:
    p = broker_pipeline
    p.env.update(
        {
            "EMBED_TASK_BATCH": "8",
            "BUILD_DEBOUNCE_SECONDS": "1",
            "BUILD_LOCK_TTL": "5",
        }
    )
    extra = arxiv_slice(p.tmp / "arxiv.jsonl", 60)
    worker = p.worker(concurrency=1, fast=False)
    beat = p.beat()
    p.manage("import_papers", str(LISTING), str(extra))
    papers = p.count("papers_paper")
    assert papers == 121

    wait_until(lambda: p.count("search_paperembedding") >= 16, timeout=240, what="the first batches", on_timeout=p.logs)
    p.redis.restart(down_for=2.0)  # type: ignore[union-attr]
    assert p.count("search_paperembedding") < papers, "the run finished before Redis was restarted"

    converged(p, papers=papers, timeout=420)
    log = worker.text()
    assert len(re.findall(r"Connected to redis://", log)) >= 2, "the worker never reconnected"
    assert_each_paper_written_once_per_content_version(p, papers=papers)
    assert beat.alive() and worker.alive()

    # Searchable end to end with the real model (a fresh process reading the published build).
    out = p.manage(
        "shell", "-c",
        "from search.queries import semantic_search; "
        "print('TOP', semantic_search(query='predicting combustion instabilities in rocket motors').hits[0].paper.title)",
    ).stdout
    assert "TOP Forecasting Thermoacoustic Instabilities" in out, out

    # The model was loaded once in each pool process that embedded, after the fork; never in the parent.
    loads = re.findall(r"ForkPoolWorker-\d+\] process (\d+) loaded the embedding model", log)
    assert loads and len(loads) == len(set(loads)), loads
    assert int(loads[0]) != worker.pid
    assert not _mapped_model_libraries(worker.pid), "the worker's main process loaded the model"
    assert any(_mapped_model_libraries(child) for child in worker.children())
