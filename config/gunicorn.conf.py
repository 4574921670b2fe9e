"""gunicorn settings for Paperscope: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

The master imports Django once (preload_app) so workers share its memory, but it never loads
the embedding model or the index: torch's and OpenMP's thread pools do not survive a fork,
and a model loaded in the master would hang or crash the workers. Each worker loads its own
model and maps the index after the fork (post_worker_init), before it takes traffic.
Every value can be overridden from the environment (names below), from the project's .env
(read here the way config/settings.py reads it: the process environment wins), or the command line.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from pathlib import Path
from typing import Any

import environ

# gunicorn reads this file before Django's settings, so without this a GUNICORN_BIND (or any
# other knob below) set only in .env would be ignored here while settings.py honoured it.
_DOTENV = Path(__file__).resolve().parent.parent / ".env"
if _DOTENV.is_file() and not environ.Env().bool("PAPERSCOPE_IGNORE_DOTENV", default=False):
    environ.Env.read_env(_DOTENV)

# The master imports Django once for every worker. Collecting garbage while it does leaves holes
# in pages the workers then copy, and a collection in a worker writes to every object it
# inherited, so each worker would copy those pages too: collect in neither (Python's gc docs,
# "gc.freeze"): disabled here, frozen before each fork, enabled again in the worker.
gc.disable()


def _cpus() -> int:
    # config/celery.py counts the same way; not shared, since gunicorn reads this file before the
    # project is importable (started from another directory with --chdir).
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # noqa: S104 - inside a container
# Query embedding is CPU-bound: one worker per core; threads overlap DB and I/O waits.
workers = int(os.environ.get("WEB_CONCURRENCY", max(1, _cpus())))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# 0: close after each response, so every request is a fresh accept from the shared listen queue
# and goes to whichever worker is idle. With keep-alive, a worker that accepted more of a proxy's
# (or a load generator's) connections than its threads can serve keeps them queued while other
# workers idle: in the loopback load test that starved some requests past 30 s. A handshake on
# loopback or a LAN costs far less than a search.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "0"))
# Recycling a worker reloads the model (seconds of CPU): off unless memory creeps.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# Heartbeat files on tmpfs: a container's overlay disk can stall the heartbeat and get
# healthy workers killed (gunicorn's Docker advice).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's own heartbeat
# Which proxies may set X-Forwarded-Proto / -For for gunicorn itself (Django has its own settings).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No runtime control socket: nothing here needs it, and a non-root container has no $HOME for it.
control_socket_disable = True
limit_request_line = 8190
limit_request_fields = 100
# Django's RequestIdMiddleware writes the access log (JSON, with the request id).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn's own lines (worker boot, timeouts) in the same JSON shape as the application's.
logconfig_dict: dict[str, Any] = (
    {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "config.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
        },
    }
    if os.environ.get("LOG_FORMAT", "json") == "json"
    else {}
)


def threads_per_worker() -> int:
    """Intra-op threads per worker so that all workers together use each core once."""
    explicit = os.environ.get("EMBEDDING_THREADS", "")
    if explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    return max(1, _cpus() // max(1, workers))


def pre_fork(server: Any, worker: Any) -> None:
    # The keyword index's scoring loops, compiled once here (numba: no threads, safe to fork), so
    # workers share the machine code and LLVM's memory rather than each compiling its own.
    from search.keyword import compile_kernels

    compile_kernels()
    gc.freeze()  # what the master holds now stays shared with the worker about to be forked


def post_fork(server: Any, worker: Any) -> None:
    gc.enable()
    # Before torch or faiss is first imported in this worker, so their pools start this size.
    n = str(threads_per_worker())
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = n
    os.environ["EMBEDDING_THREADS"] = n
    _bound_malloc()
    _trim_malloc_when_idle(float(os.environ.get("MALLOC_TRIM_INTERVAL", "5")))


def _glibc() -> Any:
    """glibc as a ctypes library, or None (another libc: the malloc tuning below is skipped)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or "libc" not in name:  # pragma: no cover - not glibc
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:  # pragma: no cover
        return None


# The largest mmap threshold glibc accepts (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit).
_MMAP_THRESHOLD = 32 << 20
# Free memory an arena keeps at its top between requests: twice the mmap threshold, the ratio
# glibc's own dynamic thresholds keep.
_TRIM_THRESHOLD = 2 * _MMAP_THRESHOLD


def _bound_malloc() -> None:
    """One malloc arena, and a search's large temporaries reused from it, not mapped afresh.

    A search at 2.6M papers allocates and frees two 10 MB score arrays and several 2.6 MB masks.
    With a 1 MB mmap threshold (until session 10) each was mapped and unmapped per request, and
    the kernel faulted every 4 KB page of it in again: ~4.5 us a page on these VMs, ~12 ms per
    10 MB array, ~25 ms a request (docs/scale.md, "Run 4"). With the threshold at glibc's maximum
    they come from the arena; and with the trim threshold above them, freeing them at the arena's
    top keeps their pages (glibc's 128 KB default, fixed once the mmap threshold is set, gave them
    back on every free: ~1,500 faults a request in run 4, ~10 with this; docs/scale.md "Run 5").
    The next request reuses them; ``_trim_malloc_when_idle`` hands the memory back once the worker
    has nothing to do. One arena, not two: ``malloc_trim`` returns the top of the main arena only,
    so with a second arena (where gunicorn's request threads allocate) an idle worker kept ~30 MB
    more; and with one arena the worker's memory right after a load was lowest (run 5). Threads
    contend little for it: they take the GIL for most allocations anyway. Environment variables
    MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ still win when set.
    """
    libc = _glibc()
    if libc is None or not hasattr(libc, "mallopt"):  # pragma: no cover
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8  # glibc's malloc.h
    if "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(m_arena_max, 1)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        libc.mallopt(m_mmap_threshold, _MMAP_THRESHOLD)
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        libc.mallopt(m_trim_threshold, _TRIM_THRESHOLD)


class _Activity:
    """Requests in flight in this worker and when the last one ended (gunicorn's request hooks)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.last_end = time.monotonic()
        self.served_since_trim = True  # the warm-up's temporaries are there to hand back

    def started(self) -> None:
        with self.lock:
            self.in_flight += 1

    def ended(self) -> None:
        with self.lock:
            self.in_flight -= 1
            self.last_end = time.monotonic()
            self.served_since_trim = True

    def idle_for(self, seconds: float) -> bool:
        """True once per idle spell: no request in flight for ``seconds``, and some served since
        the last time this said so."""
        with self.lock:
            if self.in_flight or not self.served_since_trim or time.monotonic() - self.last_end < seconds:
                return False
            self.served_since_trim = False
            return True


_activity = _Activity()


def pre_request(worker: Any, req: Any) -> None:
    _activity.started()


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    _activity.ended()


def _trim_malloc_when_idle(seconds: float) -> None:
    """Hand freed heap pages back to the system (glibc ``malloc_trim``) once the worker has served
    nothing for ``seconds``.

    Between requests the arena holds the last search's temporaries, ready for the next one;
    trimming while requests keep coming would only make the next one fault them in again. A
    worker left idle returns them (measured at 1M papers, trimming every 5 s: worker USS 150/141 MB
    with it, 172/149 MB without). ``MALLOC_TRIM_INTERVAL=0`` turns it off.
    """
    libc = _glibc()
    if seconds <= 0 or libc is None or not hasattr(libc, "malloc_trim"):  # pragma: no cover - off, or not glibc
        return

    def loop() -> None:
        while True:
            time.sleep(min(seconds, 1.0))
            if _activity.idle_for(seconds):
                libc.malloc_trim(0)

    threading.Thread(target=loop, name="malloc-trim", daemon=True).start()


def post_worker_init(worker: Any) -> None:
    # Load the model, load the build and search it once now, so the first request is not the
    # slow one; from then on each new build is loaded and searched in a background thread
    # before it replaces the old one (search/warm.py). GUNICORN_WARM=0 turns both off: the
    # model, the first build and every new build then load inside the request that needs them.
    if os.environ.get("GUNICORN_WARM", "1") != "1":
        return
    from django.conf import settings

    from search.embedder import get_model
    from search.warm import warm_process

    settings.EMBEDDING_THREADS = threads_per_worker()
    try:
        index = warm_process()
    except Exception:  # a missing model or index shows in /readyz; the worker still serves pages
        worker.log.exception("worker %s: warm-up failed", worker.pid)
        return
    finally:
        from django.db import connection

        connection.close()  # requests run in gthread's pool threads: this one's would linger
    import sys

    torch = sys.modules.get("torch")  # absent when EMBEDDING_BACKEND is not torch
    worker.log.info(
        "worker %s ready: %s model loaded, %s threads, %s (torch %s), index %s",
        worker.pid,
        settings.EMBEDDING_BACKEND,
        settings.EMBEDDING_THREADS,
        get_model().precision,
        torch.get_num_threads() if torch else "not loaded",
        index.build_id if index else "none yet",
    )
