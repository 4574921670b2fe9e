"""The periodic reconcile task (celery beat) re-queues missing or stale embeddings and asks for a
build when the index and the database disagree (here in the embedded default: all in-process)."""

from __future__ import annotations

import pytest

from config.celery import app
from papers.models import Paper
from search import index_store
from search.models import EmbeddingFailure, PaperEmbedding
from search.selectors import index_drift
from search.tasks import reconcile


def test_celery_beat_runs_reconcile_periodically(settings) -> None:  # type: ignore[no-untyped-def]
    entry = app.conf.beat_schedule["reconcile"]
    assert entry["task"] == "search.tasks.reconcile"
    assert float(entry["schedule"]) == float(settings.RECONCILE_INTERVAL)


@pytest.mark.django_db
def test_reconcile_asks_for_a_build_when_the_index_shows_a_hidden_paper(listing_index: list[int], settings) -> None:  # type: ignore[no-untyped-def]
    Paper.objects.filter(pk=listing_index[1]).update(hidden=True)  # no signal: no build yet
    before = index_store.current_build_id()

    report = reconcile.delay().get()

    assert report["extra"] == 1 and report["build_requested"] and report["enqueued"] == 0
    assert index_store.current_build_id() != before
    assert index_drift().clean


@pytest.mark.django_db
def test_reconcile_embeds_what_was_lost_and_the_index_catches_up(listing_index: list[int], paper_factory, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RECONCILE_MIN_AGE = 0
    lost = paper_factory(title="Never queued", abstract="Its embed task was lost with a restarted Redis.")
    PaperEmbedding.objects.filter(paper_id=listing_index[0]).delete()
    assert not index_drift().clean

    report = reconcile.delay().get()

    assert report["enqueued"] == 2
    assert PaperEmbedding.objects.filter(paper_id__in=[lost.pk, listing_index[0]]).count() == 2
    assert index_drift().clean  # the embed task asked for the build (inline in the embedded default)
    assert reconcile.delay().get() == {
        "reason": "schedule", "already_queued": 0, "enqueued": 0, "missing": 0, "stale": 0, "extra": 0, "problem": "", "build_requested": False,
    }


@pytest.mark.django_db
def test_reconcile_leaves_fresh_papers_to_their_tasks_and_gives_up_on_repeated_failures(paper_factory, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RECONCILE_MIN_AGE = 3600
    settings.EMBED_MAX_ATTEMPTS = 3
    fresh = paper_factory()
    assert reconcile.delay().get()["enqueued"] == 0  # its own task is probably still queued

    settings.RECONCILE_MIN_AGE = 0
    failing = paper_factory()
    EmbeddingFailure.objects.create(paper=failing, model=settings.EMBEDDING_MODEL_NAME, error="boom", attempts=3)
    report = reconcile.delay().get()
    assert report["enqueued"] == 1
    assert PaperEmbedding.objects.filter(paper=fresh).exists()
    assert not PaperEmbedding.objects.filter(paper=failing).exists()
