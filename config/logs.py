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
