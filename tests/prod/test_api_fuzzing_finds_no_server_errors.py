"""Schemathesis fuzzes every /api operation from /api/openapi.json: no 5xx, responses match the spec.

The short run (CI) makes at least 1,000 requests on PostgreSQL with a fixed seed; `make fuzz` runs many more
with fresh randomness (FUZZ_EXAMPLES, FUZZ_RANDOM=1). The explanation's sentence-vector cache is cut to
16 entries for the run, so fuzzed requests fill and evict it over and over (its 2,000 never filled in
a run, which is how a KeyError under eviction went unnoticed); the test checks they did.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)


def _budget() -> tuple[int, int]:
    """(examples per operation, minimum requests): the full 1,000+ on PostgreSQL, which rejects
    more strings than SQLite (NUL bytes), a smaller pass on SQLite to keep CI short."""
    from django.db import connection

    default = (300, 1000) if connection.vendor == "postgresql" else (80, 300)
    return int(os.environ.get("FUZZ_EXAMPLES", default[0])), int(os.environ.get("FUZZ_MIN_REQUESTS", default[1]))

# Not positive_data_acceptance: the API rightly answers 400 to input the schema cannot express as
# invalid (year_from after year_to, an unknown arXiv id format), and says why.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


@pytest.fixture
def _keep_the_test_connection() -> Iterator[None]:
    """The WSGI app would close the DB connection after each request (as Django's test client
    prevents); the test's transaction lives on that connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _half_by_meaning(case: schemathesis.Case) -> schemathesis.Case:
    """Three searches in four ask for sentences by meaning (schemathesis alone almost
    never sent sentence_by_meaning=true with a query sharing no word with an abstract, the one
    path that embeds sentences and fills the cache)."""
    if case.operation.path == "/api/search" and isinstance(case.query, dict) and len(repr(case.query)) % 4:
        case.query["sentence_by_meaning"] = "true"
    return case


@pytest.fixture
def small_explanation_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    from search import explain

    monkeypatch.setattr(explain, "_CACHE_SIZE", 16)
    explain._sentence_vectors.clear()
    seen = {"calls": 0, "texts": 0, "full": 0}
    real = explain._encode_cached

    def counting(texts):  # type: ignore[no-untyped-def]
        found = real(texts)
        seen["calls"] += 1
        seen["texts"] += len(set(texts))
        seen["full"] += len(explain._sentence_vectors) >= explain._CACHE_SIZE
        return found

    monkeypatch.setattr(explain, "_encode_cached", counting)
    yield seen
    explain._sentence_vectors.clear()


@pytest.mark.slow
@pytest.mark.usefixtures("_keep_the_test_connection")
def test_fuzzed_api_requests_never_get_a_5xx_and_always_match_the_schema(listing_index: list[int], small_explanation_cache: dict[str, int]) -> None:
    examples_per_operation, min_requests = _budget()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5, [op.label for op in operations]
    for operation in operations:

        @settings(
            max_examples=examples_per_operation,
            deadline=None,
            derandomize=os.environ.get("FUZZ_RANDOM") != "1",
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy().map(_half_by_meaning))
        def fuzz(case: schemathesis.Case) -> None:
            try:
                response = case.call_and_validate(checks=CHECKS)
            except Exception as exc:  # collect every failure, keep fuzzing the rest
                failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:2000]}")
                return
            statuses[response.status_code] += 1

        try:
            fuzz()
        except Exception as exc:
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:2000]}")
    total = sum(statuses.values()) + len(failures)
    print(f"schemathesis: {total} requests over {len(operations)} operations, statuses {dict(sorted(statuses.items()))}")
    # Sentences chosen by meaning filled the 16-entry cache and evicted from it.
    print(f"explanation cache: {small_explanation_cache}")
    assert small_explanation_cache["full"] >= 1 and small_explanation_cache["texts"] > 2 * 16
    assert failures == []
    assert total >= min_requests
    assert not [status for status in statuses if status >= 500]
