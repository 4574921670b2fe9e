"""Run a Paperscope command (celery or manage.py) with fault-test instruments switched on.

    python -m tests.pipeline.instrumented [--fast] [--crash-before-publish | --crash-mid-write]
        [--slow-publish SECONDS] [--no-publish] [--trace-lock] (celery ... | manage ...)

--fast        a deterministic, cheap embedder instead of the model (index/queue mechanics only;
              tests of the real pipeline run without this flag). Vectors depend on the text only.
              FAST_EMBEDDER_KILL_ON=word: SIGKILL the process when a text contains ``word``.
--crash-*     SIGKILL this process after the build is written but before it is published, or
              half-way through writing it.
--slow-publish / --trace-lock   hold the builder lock a while and print when it is taken and
              released (JSON lines on stdout), to show two builders never overlap.
--no-publish  write a build but leave CURRENT alone (prints the build id), to damage it first.

The patches are applied in this process before Celery forks its pool, so every worker child
inherits them; nothing in the application knows about them.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FAST_DIM = 32
FAST_MODEL_NAME = "fast-test-embedder"


def fast_vector(text: str) -> np.ndarray:
    """The fast embedder's vector for a text (tests compute the expected vectors with it)."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(FAST_DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _fast_encode(texts: Sequence[str], *, batch_size: int | None = None, bulk: bool = False) -> np.ndarray:
    # Seconds per paper, so a 100-paper batch takes long enough to be killed in the middle of;
    # FAST_EMBEDDER_MARK/<pid> exists while this process is encoding (a test kills it then).
    marks = os.environ.get("FAST_EMBEDDER_MARK")
    mark = Path(marks) / str(os.getpid()) if marks else None
    if mark:
        mark.touch()
    poison = os.environ.get("FAST_EMBEDDER_KILL_ON")
    if poison and any(poison in t for t in texts):
        _kill_self()  # like a tokenizer segfault on one odd paper
    try:
        time.sleep(float(os.environ.get("FAST_EMBEDDER_DELAY", "0")) * len(texts))
    finally:
        if mark:
            mark.unlink(missing_ok=True)
    if not texts:
        return np.zeros((0, FAST_DIM), dtype=np.float32)
    return np.stack([fast_vector(t) for t in texts])


def _kill_self() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _say(**facts: Any) -> None:
    print(json.dumps({"pid": os.getpid(), "t": time.time(), **facts}), flush=True)


def install(args: argparse.Namespace) -> None:
    from search import coordination, embedder, index_store

    if args.fast:
        embedder.encode = _fast_encode  # type: ignore[assignment]
        embedder.encode_query = lambda text: _fast_encode([text])  # type: ignore[assignment]
        embedder.embedding_dim = lambda: FAST_DIM  # type: ignore[assignment]
        embedder.is_truncated = lambda text: False  # type: ignore[assignment]
    real_publish = index_store.publish

    def publish(build_id: str) -> None:
        if args.crash_before_publish:
            _say(event="crashing", build_id=build_id)
            _kill_self()
        if args.no_publish:
            _say(event="written", build_id=build_id)
            return
        if args.slow_publish:
            time.sleep(args.slow_publish)
        real_publish(build_id)
        _say(event="published", build_id=build_id)

    index_store.publish = publish  # type: ignore[assignment]
    if args.crash_mid_write:
        real_finish = index_store.BuildWriter.finish

        def finish(self: index_store.BuildWriter, **kwargs: Any) -> dict[str, Any]:
            # Half a file on disk, no manifest: what a power cut leaves behind.
            (self.staging / "partial.bin").write_bytes(b"\0" * 4096)
            _say(event="crashing", staging=str(self.staging))
            _kill_self()
            return real_finish(self, **kwargs)  # pragma: no cover

        index_store.BuildWriter.finish = finish  # type: ignore[method-assign]
    if args.trace_lock:
        real_lock = coordination.builder_lock

        @contextlib.contextmanager
        def traced(*, wait: float = 0.0) -> Iterator[None]:
            with real_lock(wait=wait):
                _say(event="locked")
                try:
                    yield
                finally:
                    _say(event="unlocking")

        coordination.builder_lock = traced  # type: ignore[assignment]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--crash-before-publish", action="store_true")
    parser.add_argument("--crash-mid-write", action="store_true")
    parser.add_argument("--no-publish", action="store_true")
    parser.add_argument("--slow-publish", type=float, default=0.0)
    parser.add_argument("--trace-lock", action="store_true")
    parser.add_argument("program", choices=["celery", "manage"])
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if args.fast:
        os.environ["EMBEDDING_MODEL_NAME"] = FAST_MODEL_NAME
    import django

    django.setup()
    if args.fast:
        from django.conf import settings

        # The fast embedder makes 32-dimensional vectors under its own name while EMBEDDING_MODEL
        # still names the packaged 384-dimensional model: what paperscope.E006 reports, on purpose here.
        settings.SILENCED_SYSTEM_CHECKS = [*settings.SILENCED_SYSTEM_CHECKS, "paperscope.E006"]
    install(args)
    if args.program == "celery":
        from celery.bin.celery import main as celery_main

        sys.argv = ["celery", *args.rest]
        celery_main()
    else:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["manage.py", *args.rest])


if __name__ == "__main__":
    main(sys.argv[1:])
