"""Redis wiped while papers waited for their embedding (their tasks gone), then a worker
starts: it recovers them at once, at the production reconcile settings (RECONCILE_INTERVAL 300 s,
RECONCILE_MIN_AGE 120 s), with no beat running at all: the worker asks for a reconcile when it
connects to the broker. Before, those papers waited for beat's next run (minutes) while /readyz
said ready."""

from __future__ import annotations

import re
import time

from tests.pipeline.checks import assert_each_paper_written_once_per_content_version, converged
from tests.pipeline.harness import Pipeline, arxiv_slice, postgres_pass
from tests.pipeline.instrumented import FAST_MODEL_NAME

PAPERS = 300


@postgres_pass
def test_a_worker_started_after_redis_lost_the_queue_embeds_everything_without_waiting_for_beat(broker_pipeline: Pipeline) -> None:
    p = broker_pipeline
    assert "RECONCILE_INTERVAL" not in p.env and "RECONCILE_MIN_AGE" not in p.env  # production defaults
    p.env.update({"EMBEDDING_MODEL_NAME": FAST_MODEL_NAME, "EMBED_TASK_BATCH": "50", "BUILD_DEBOUNCE_SECONDS": "1"})
    p.manage("import_papers", str(arxiv_slice(p.tmp / "papers.jsonl", PAPERS)))
    client = p.redis.client()  # type: ignore[union-attr]
    assert client.llen("embed") == PAPERS // 50
    client.flushall()  # a Redis that came back empty: every queued task is gone

    started = time.monotonic()
    worker = p.worker(concurrency=2)
    converged(p, papers=PAPERS, timeout=150)
    took = time.monotonic() - started
    assert took < 150 < 300  # far inside one reconcile interval: the worker did not wait for beat

    assert re.search(r"reconcile: \{'reason': 'worker connected', 'already_queued': 0, 'enqueued': 300", worker.text()), worker.tail()
    assert_each_paper_written_once_per_content_version(p, papers=PAPERS)
