"""kill -9 the worker's main process mid-run, start a new one: the run converges, at the production
reconcile settings (RECONCILE_INTERVAL 300 s, RECONCILE_MIN_AGE 120 s). The batches the dead worker
had taken stay invisible in Redis until the visibility timeout (22 minutes); the new worker's
reconcile on connecting to the broker re-queues them, not beat's next run."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from tests.pipeline.checks import (
    assert_each_paper_written_once_per_content_version,
    assert_fast_vectors_match_texts,
    converged,
)
from tests.pipeline.harness import Pipeline, arxiv_slice, postgres_pass, wait_until
from tests.pipeline.instrumented import FAST_MODEL_NAME

PAPERS = 2000


def _running(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


@postgres_pass
def test_killing_the_worker_main_process_then_restarting_it_converges(broker_pipeline: Pipeline) -> None:
    p = broker_pipeline
    marks = p.tmp / "encoding"
    marks.mkdir()
    p.env.update(
        {
            "EMBEDDING_MODEL_NAME": FAST_MODEL_NAME,
            "EMBED_TASK_BATCH": "100",
            "FAST_EMBEDDER_DELAY": "0.004",
            "FAST_EMBEDDER_MARK": str(marks),
            "BUILD_DEBOUNCE_SECONDS": "1",
            "BUILD_LOCK_TTL": "5",
        }
    )
    data = arxiv_slice(p.tmp / "papers.jsonl", PAPERS)
    worker = p.worker(concurrency=2)
    beat = p.beat()
    p.manage("import_papers", str(data))

    wait_until(lambda: p.count("search_paperembedding") >= 400, timeout=120, what="the run to get going", on_timeout=p.logs)
    wait_until(lambda: [c for c in worker.children() if (marks / str(c)).exists()], timeout=30, what="a batch in progress", interval=0.02)
    orphans = worker.children()
    os.kill(worker.pid, signal.SIGKILL)
    worker.popen.wait(timeout=10)
    # The pool's children notice their parent is gone and exit (at most after their current batch).
    wait_until(lambda: not any(_running(c) for c in orphans), timeout=60, what="orphaned pool processes to exit")

    restarted = p.worker("worker-restarted", concurrency=2)
    converged(p, papers=PAPERS, timeout=240)

    reconciled = [int(n) for n in re.findall(r"reconcile: \{[^}]*'enqueued': (\d+)", restarted.text())]
    assert any(n > 0 for n in reconciled), "reconcile never re-queued the batches the killed worker held"
    assert_each_paper_written_once_per_content_version(p, papers=PAPERS)
    assert_fast_vectors_match_texts(p)
    assert beat.alive()
