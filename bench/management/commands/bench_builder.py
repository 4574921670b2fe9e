"""manage.py bench_builder: a long-lived index builder for benchmarks (what a Celery worker is).

Reads one line per build from standard input ("build" or "build --full"), runs the app's
``index_build`` in this same process and answers one JSON line (wall seconds, CPU seconds, the
build's facts). A Celery worker builds in a process that lives from build to build, so files it
wrote and checksummed itself are not read again (search/index_store.py); ``bench_scale`` times
incremental builds both ways: a fresh ``manage.py build_index`` and this.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run index builds on request (one per line read from stdin) in one long-lived process; answer JSON lines."

    def handle(self, *args: Any, **options: Any) -> None:
        from search.services import index_build

        for line in sys.stdin:
            request = line.strip()
            if not request:
                continue
            if request not in ("build", "build --full"):
                self.stdout.write(json.dumps({"error": f"unknown request {request!r}"}) + "\n")
                self.stdout.flush()
                continue
            started, cpu = time.perf_counter(), time.process_time()
            build = index_build(full=request.endswith("--full"))
            answer = {
                "wall_s": round(time.perf_counter() - started, 2),
                "cpu_s": round(time.process_time() - cpu, 2),
                "build_s": round(build.duration_s, 2) if build else None,
                "kind": build.kind if build else None,
                "count": build.count if build else None,
                "added": build.added if build else None,
            }
            self.stdout.write(json.dumps(answer) + "\n")
            self.stdout.flush()
