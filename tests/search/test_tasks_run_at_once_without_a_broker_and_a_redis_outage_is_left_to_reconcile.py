"""search.coordination decides where tasks run: in the embedded default a build request builds at
once in this process; with a broker whose Redis is down, asking for work neither fails the caller
nor builds, it is logged and left to reconcile."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from search import coordination, index_store
from search.services import embeddings_update
from search.tasks import enqueue_embedding, request_index_build


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.django_db
def test_without_a_broker_a_build_request_publishes_a_build_at_once(paper_factory: Any) -> None:
    assert coordination.tasks_run_in_process()
    paper = paper_factory(title="Graph neural networks for molecules", abstract="Message passing on molecular graphs.")
    embeddings_update(paper_ids=[paper.pk])
    before = index_store.current_build_id()

    request_index_build(full=True)

    assert index_store.current_build_id() not in (None, before)
    assert index_store.read_manifest(str(index_store.current_build_id()))["count"] == 1


@pytest.mark.django_db
def test_with_redis_down_asking_for_a_build_or_embedding_logs_and_leaves_it_to_reconcile(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    assert not coordination.tasks_run_in_process()
    with caplog.at_level(logging.WARNING, logger="search.tasks"):
        request_index_build()
        request_index_build(rescue=True)
    assert index_store.current_build_id() is None
    assert sum("could not request an index build" in r.getMessage() and "reconcile will" in r.getMessage() for r in caplog.records) == 2
    assert coordination.delivery_count("some-task-id") == 0  # an unreachable Redis counts nothing
    assert coordination.queue_lengths(["embed"]) == {}


@pytest.mark.django_db
def test_with_the_broker_refusing_messages_enqueueing_stops_and_says_reconcile_will(
    settings: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kombu.exceptions import OperationalError

    from search.tasks import embed_papers

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.EMBED_TASK_BATCH = 2
    sent: list[list[int]] = []

    def refuse(*, args: list[Any], **kwargs: Any) -> None:
        sent.append(args[0])
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(embed_papers, "apply_async", refuse)
    with caplog.at_level(logging.WARNING):
        enqueue_embedding([1, 2, 3, 4, 5])
    assert sent == [[1, 2]]  # the first refusal stops the loop: no retry storm against a dead broker
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "could not queue search.tasks.embed_papers" in messages and "5 papers not queued; reconcile will" in messages
