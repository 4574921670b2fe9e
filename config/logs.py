"""Structured logs: one JSON object per line, each carrying the id of the request it belongs to.

Log shippers (Loki, Elasticsearch, CloudWatch) parse one JSON object per line without a
grammar; the request id ties a request's access line to every warning or traceback it caused.
Nothing here imports Django, so the logging config can name these classes at settings time.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from typing import Any

# Set by config.middleware.RequestIdMiddleware for the duration of one request. A ContextVar
# (not a thread-local) so each gthread worker thread and each asyncio task sees its own id.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Attributes every LogRecord has; anything else was passed with extra={...} and is kept.
# "request" (Django's 4xx/5xx lines) is left out: its repr holds the query string, i.e. what
# people searched for; method and path are on the access line.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id", "request"}


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # Django logs a 4xx/5xx after the middleware chain has returned, with the request attached.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record as a single-line JSON object: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: a stray non-JSON extra (a datetime, a Path) must never lose the line.
        return json.dumps(entry, default=str, ensure_ascii=False)


# --- Library chatter a newcomer mistakes for an error -------------------------------
# Each entry is noise in every run, not a problem: faiss reports the CPU builds it could not
# load on its way to the one it uses; torch's ONNX exporter and transformers warn about tracing
# details and their own deprecations while the model is exported once; Celery, when tasks run
# in-process (no broker), logs a line per task that suggests a worker exists. Warnings with
# any other message, and every log record at WARNING or above from our own code, stay.
_EXPORT_WARNINGS = (
    # torch.jit.TracerWarning from transformers' code while the ONNX export traces the model.
    r"Converting a tensor to a Python boolean might cause the trace to be incorrect",
    r"Exporting aten::index operator of advanced indexing",
)


def quiet_library_noise() -> None:
    """Silence the known-harmless library output above. Call from settings, before any import of them."""
    import os
    import warnings

    # transformers' own logger (e.g. "`loss_type=None` was set in the config but it is
    # unrecognized") and its "Loading weights" progress bars, which read these at import.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for message in _EXPORT_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    for module in (r"transformers(\.|$)", r"torch(\.|$)", r"sentence_transformers(\.|$)", r"optimum(\.|$)"):
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)


def quiet_loggers(*, tasks_in_process: bool) -> dict[str, dict[str, str]]:
    """Levels for LOGGING["loggers"] that drop the chatter above and keep real warnings."""
    levels = {
        "faiss.loader": {"level": "WARNING"},
        # The development server's own access line repeats paperscope.request's line (which has
        # the request id); its 4xx/5xx are logged by django.request as well.
        "django.server": {"level": "ERROR"},
    }
    if tasks_in_process:
        # "Task search.tasks.embed_papers[...] succeeded in 0.4s": no Celery is running.
        levels["celery.app.trace"] = {"level": "WARNING"}
    return levels
