"""index_status shows pending embeddings, failures with their error, the last builds and drift."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from papers.models import Paper
from search.models import EmbeddingFailure


@pytest.mark.django_db
def test_index_status_lists_pending_failed_builds_and_drift(listing_index: list[int], paper_factory, settings) -> None:  # type: ignore[no-untyped-def]
    pending = paper_factory(title="Waiting for a worker")
    failed = paper_factory(title="Cannot be embedded")
    EmbeddingFailure.objects.create(paper=failed, model=settings.EMBEDDING_MODEL_NAME, error="RuntimeError: model exploded", attempts=2)
    Paper.objects.filter(pk=listing_index[0]).update(hidden=True)

    out = io.StringIO()
    call_command("index_status", stdout=out)
    text = out.getvalue()
    assert "pending:   2" in text
    assert "failed:    1" in text and "RuntimeError: model exploded" in text and f"paper {failed.pk}" in text
    assert "drift:     2 missing, 0 stale, 1 extra" in text
    assert "last builds:" in text and "published full" in text

    out = io.StringIO()
    call_command("index_status", "--json", stdout=out)
    status = json.loads(out.getvalue())
    assert status["pending"] == 2 and status["failed"] == 1
    assert (status["missing"], status["stale"], status["extra"]) == (2, 0, 1)
    assert status["builds"][0]["count"] == len(listing_index)
    assert pending.pk not in [f["paper"] for f in status["failures"]]
