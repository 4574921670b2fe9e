"""celery beat with a heartbeat, so a container health check can tell a running scheduler.

beat has no ping (it is not a worker) and keeps its schedule in memory (settings:
CELERY_BEAT_SCHEDULER), so nothing on disk shows that its loop still turns. This scheduler
touches a file on every pass of the loop and wakes at least every ``max_interval`` seconds;
``python -m config.beat --check`` (docker-compose.yml's scheduler health check) fails when the
file is older than three passes.

    celery -A config beat --loglevel INFO --scheduler config.beat:HeartbeatScheduler
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HEARTBEAT_FILE = Path(os.environ.get("BEAT_HEARTBEAT_FILE", Path(tempfile.gettempdir()) / "paperscope-beat-heartbeat"))
PASS_SECONDS = 30


def _beat_scheduler_class() -> type:
    from celery.beat import Scheduler

    return Scheduler


class HeartbeatScheduler(_beat_scheduler_class()):  # type: ignore[misc]
    """celery's in-memory Scheduler that records each pass of beat's loop in HEARTBEAT_FILE."""

    max_interval = PASS_SECONDS

    def tick(self, *args: Any, **kwargs: Any) -> float:
        delay = super().tick(*args, **kwargs)
        HEARTBEAT_FILE.touch()
        return delay


def check(max_age: float = 3 * PASS_SECONDS) -> tuple[bool, str]:
    """Whether beat's loop turned within ``max_age`` seconds, and a line that says so."""
    try:
        age = time.time() - HEARTBEAT_FILE.stat().st_mtime
    except FileNotFoundError:
        return False, f"no heartbeat at {HEARTBEAT_FILE}: beat has not started its loop"
    if age > max_age:
        return False, f"last heartbeat {age:.0f} s ago (more than {max_age:.0f} s): beat's loop is stuck"
    return True, f"last heartbeat {age:.0f} s ago"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 0 when beat's loop turned recently, else 1")
    args = parser.parse_args(argv)
    if not args.check:
        parser.print_help()
        return 2
    ok, line = check()
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
