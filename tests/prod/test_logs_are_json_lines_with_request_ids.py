"""Logs are one JSON object per line, and every line of a request carries its request id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from config.logs import JsonFormatter, RequestIdFilter


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The production handler (filter + formatter) on the root logger, writing to a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db
def test_each_request_gets_an_id_in_the_response_and_the_access_line(client: Client, json_log: io.StringIO) -> None:
    response = client.get("/search", {"q": "secret query text"})
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    access = [line for line in _lines(json_log) if line["logger"] == "paperscope.request"]
    assert access[-1]["request_id"] == request_id
    assert access[-1]["status"] == response.status_code and access[-1]["path"] == "/search"
    assert isinstance(access[-1]["duration_ms"], float)
    # What people searched for stays out of the logs.
    assert "secret query text" not in json_log.getvalue()


@pytest.mark.django_db
def test_a_proxys_request_id_is_kept_and_a_hostile_one_replaced(client: Client) -> None:
    assert client.get("/", HTTP_X_REQUEST_ID="edge-4f1c.77")["X-Request-ID"] == "edge-4f1c.77"
    replaced = client.get("/", HTTP_X_REQUEST_ID="bad\nid {json}")["X-Request-ID"]
    assert replaced != "bad\nid {json}" and len(replaced) == 32


@pytest.mark.django_db
def test_warnings_inside_a_request_carry_its_id(client: Client, json_log: io.StringIO) -> None:
    response = client.get("/no-such-page", {"q": "private words"})
    assert response.status_code == 404
    assert "private words" not in json_log.getvalue()
    django_line = [line for line in _lines(json_log) if line["logger"] == "django.request"][-1]
    assert django_line["level"] == "WARNING" and django_line["request_id"] == response["X-Request-ID"]


def test_exceptions_and_odd_extras_stay_on_one_json_line(json_log: io.StringIO) -> None:
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        logging.getLogger("paperscope.test").exception("boom \u202e\u0000", extra={"when": object()})
    (line,) = [entry for entry in _lines(json_log) if entry["logger"] == "paperscope.test"]
    assert line["request_id"] == "-" and "ValueError: line one" in line["exception"] and line["when"].startswith("<object")
    assert len(json_log.getvalue().strip().splitlines()) == 1
