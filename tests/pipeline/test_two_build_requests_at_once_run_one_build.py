"""Two build requests at once run one build; builders on two machines never overlap; a burst
of 10,000 requests is coalesced into one build."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.pipeline.harness import (
    ROOT,
    Pipeline,
    arxiv_slice,
    postgres_pass,
    sqlite_pass,
    wait_until,
)
from tests.pipeline.instrumented import FAST_MODEL_NAME


def _seed(p: Pipeline, papers: int = 300) -> None:
    """Papers with stored vectors (fast embedder) and no index build yet."""
    p.env["EMBEDDING_MODEL_NAME"] = FAST_MODEL_NAME
    p.manage("import_papers", str(arxiv_slice(p.tmp / "papers.jsonl", papers)), "--no-embed")
    p.manage("embed_papers", instruments=("--fast",))


def _start_builder(p: Pipeline, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "tests.pipeline.instrumented", "--fast", "--slow-publish", "2", "--trace-lock", "manage", "build_index"]
    return subprocess.Popen(argv, cwd=ROOT, env={**p.env, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _lock_interval(stdout: str) -> tuple[float, float]:
    events = {e["event"]: e["t"] for e in (json.loads(line) for line in stdout.splitlines() if line.startswith("{"))}
    return events["locked"], events["unlocking"]


@sqlite_pass
def test_two_build_commands_at_once_publish_one_build(pipeline: Pipeline) -> None:
    p = pipeline
    _seed(p)
    first, second = _start_builder(p), _start_builder(p)
    outputs = [proc.communicate(timeout=180)[0] for proc in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    assert sum("published full build" in out for out in outputs) == 1, outputs
    assert sum("up to date" in out for out in outputs) == 1, outputs  # it waited, then found nothing to do
    assert p.count("search_indexbuild") == 1
    (_, first_released), (second_locked, _) = sorted(_lock_interval(out) for out in outputs)
    assert first_released <= second_locked  # the second one held the lock only after the first let go


@postgres_pass
def test_builders_on_two_machines_take_turns_through_the_redis_lock(broker_pipeline: Pipeline) -> None:
    p = broker_pipeline
    _seed(p)
    # Separate index directories: the file lock cannot see the other "machine", only Redis can.
    first = _start_builder(p, {"INDEX_DIR": str(p.tmp / "machine-a")})
    second = _start_builder(p, {"INDEX_DIR": str(p.tmp / "machine-b")})
    outputs = [proc.communicate(timeout=180)[0] for proc in (first, second)]
    assert all("published full build" in out for out in outputs), outputs
    (_, first_released), (second_locked, _) = sorted(_lock_interval(out) for out in outputs)
    assert first_released <= second_locked


@postgres_pass
def test_a_burst_of_ten_thousand_build_requests_is_one_build(broker_pipeline: Pipeline) -> None:
    p = broker_pipeline
    _seed(p)
    p.env["BUILD_DEBOUNCE_SECONDS"] = "2"
    burst = "from search.tasks import request_index_build\nfor _ in range(5000):\n    request_index_build()"
    callers = [
        subprocess.Popen([sys.executable, "manage.py", "shell", "-c", burst], cwd=ROOT, env=p.env, start_new_session=True)
        for _ in range(2)
    ]
    assert [c.wait(timeout=300) for c in callers] == [0, 0]
    assert p.redis is not None
    assert p.redis.client().llen("index") == 1  # 10,000 requests, one queued build

    worker = p.worker(concurrency=1)
    wait_until(lambda: p.count("search_indexbuild") >= 1, timeout=120, what="the build", on_timeout=worker.tail)
    code, report = p.verify()
    assert code == 0, report
    assert p.count("search_indexbuild") == 1
