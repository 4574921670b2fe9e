"""/healthz says the process is alive; /readyz says it can serve searches, or why not (503)."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.test import Client

from search.models import PaperEmbedding


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    # No django_db mark: pytest-django makes any query in here an error.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_is_503_with_a_reason_before_any_index_is_built(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["index"]["ok"] is False
    assert any("has not been built yet" in reason and "build_index" in reason for reason in body["reasons"])


def test_readyz_is_200_once_an_index_is_loaded(client: Client, listing_index: list[int]) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    index = response.json()["checks"]["index"]
    assert index["count"] == len(listing_index) and index["unindexed"] == 0 and index["age_s"] >= 0


def test_readyz_fails_when_stored_vectors_wait_too_long_for_a_build(client: Client, listing_index: list[int], settings) -> None:  # type: ignore[no-untyped-def]
    settings.INDEX_MAX_LAG = 60
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    # Two vectors re-embedded after the build, and the build has not caught up for 5 minutes.
    PaperEmbedding.objects.filter(paper_id__in=listing_index[:2]).update(updated=later)
    from config import health

    lag_clock = later + dt.timedelta(minutes=5)

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            return lag_clock

    original = health.dt.datetime
    health.dt.datetime = Clock  # type: ignore[misc]
    try:
        response = client.get("/readyz")
    finally:
        health.dt.datetime = original  # type: ignore[misc]
    assert response.status_code == 503
    index = response.json()["checks"]["index"]
    assert index["unindexed"] == 2 and index["lag_s"] >= 300
    assert "not in the index" in index["reason"]


def test_readyz_reports_an_unreachable_broker(client: Client, listing_index: list[int], settings) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # discard port: nothing listens
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert any(reason.startswith("broker: ") for reason in response.json()["reasons"])


def test_readyz_checks_a_reachable_broker(client: Client, listing_index: list[int], settings) -> None:  # type: ignore[no-untyped-def]
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.REDIS_URL = settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["broker"]["ok"] is True


def test_readyz_names_a_refused_build(client: Client, listing_index: list[int], _isolated_index: Path) -> None:
    from search.index_store import current_build_id

    build = current_build_id()
    assert build is not None
    manifest = _isolated_index / "builds" / build / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"count"', '"count_"', 1))
    from search.index_store import reader

    reader.reset()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert f"build {build} refused" in response.json()["checks"]["index"]["reason"]


def test_probes_answer_a_host_outside_allowed_hosts_and_skip_the_https_redirect(client: Client, listing_index: list[int], settings) -> None:  # type: ignore[no-untyped-def]
    # Docker and load balancers probe by IP over plain HTTP.
    settings.ALLOWED_HOSTS = ["papers.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    # Everything else still refuses the unknown host and redirects to HTTPS.
    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400
    assert client.get("/", HTTP_HOST="papers.example.org").status_code == 301


@contextmanager
def _read_only(directory: Path) -> Iterator[None]:
    """``directory`` read-only for this process, root included: a read-only bind mount of it over
    itself as root (what docker-compose.yml's ``:ro`` volume is), file modes otherwise."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(directory), str(directory)], check=True)  # noqa: S603, S607
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(directory)], check=True)  # noqa: S603, S607
            yield
        finally:
            subprocess.run(["umount", str(directory)], check=True)  # noqa: S603, S607
        return
    paths = [directory, *directory.rglob("*")]
    for path in paths:
        if path.is_dir():
            path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        yield
    finally:
        for path in paths:
            if path.is_dir():
                path.chmod(stat.S_IRWXU)


def test_web_serves_from_a_read_only_index_directory(client: Client, listing_index: list[int], _isolated_index: Path) -> None:
    # docker-compose.yml mounts the index volume read-only into web.
    with _read_only(_isolated_index):
        from search.index_store import reader

        build = next((_isolated_index / "builds").iterdir())
        for target in (_isolated_index / "probe", build / "probe"):
            with pytest.raises(OSError):  # EROFS as root, EACCES otherwise: really read-only
                target.open("a").close()
        reader.reset()
        assert client.get("/readyz").status_code == 200
        response = client.get("/search", {"q": "language model reasoning"})
        assert response.status_code == 200
        assert b"result-title" in response.content  # results, not an empty page


def test_probes_refuse_other_methods(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


@pytest.fixture
def production_readiness(settings):  # type: ignore[no-untyped-def]
    """A broker configured (a worker is expected to embed), every other knob at its default."""
    from config import health

    settings.REDIS_URL = settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    health._backlog = None
    yield settings
    health._backlog = None


def test_readyz_reports_the_embedding_backlog_and_fails_past_embed_max_lag(  # type: ignore[no-untyped-def]
    client: Client, listing_index: list[int], paper_factory, production_readiness
) -> None:
    """At the production default (EMBED_MAX_LAG=600 s): papers a lost worker or a wiped Redis left
    unembedded make /readyz say so once they have waited that long, not "ready"."""
    from config import health
    from papers.models import Paper

    assert production_readiness.EMBED_MAX_LAG == 600
    waiting = [paper_factory(title=f"Lost with the worker {n}") for n in range(3)]
    first = client.get("/readyz")
    assert first.status_code == 200, first.json()
    backlog = first.json()["checks"]["embedding"]
    assert backlog["ok"] is True and backlog["waiting"] == 3 and backlog["oldest_wait_s"] < 600

    Paper.objects.filter(pk__in=[p.pk for p in waiting]).update(updated=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=700))
    health._backlog = None  # the next probe, past the 10 s the answer is kept for
    late = client.get("/readyz")
    assert late.status_code == 503
    body = late.json()
    assert body["checks"]["embedding"]["oldest_wait_s"] >= 700
    (reason,) = [r for r in body["reasons"] if r.startswith("embedding:")]
    assert "3 paper(s) waiting for their embedding" in reason and "EMBED_MAX_LAG=600" in reason and "Celery worker" in reason


def test_papers_reconcile_gave_up_on_do_not_hold_readiness_hostage(  # type: ignore[no-untyped-def]
    client: Client, listing_index: list[int], paper_factory, production_readiness
) -> None:
    from papers.models import Paper
    from search.models import EmbeddingFailure

    broken = paper_factory(title="Crashes the model")
    Paper.objects.filter(pk=broken.pk).update(updated=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    EmbeddingFailure.objects.create(paper=broken, model=production_readiness.EMBEDDING_MODEL_NAME, error="boom",
                                    attempts=production_readiness.EMBED_MAX_ATTEMPTS)
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["embedding"]["waiting"] == 0


def test_without_a_broker_the_backlog_is_reported_but_never_fails(client: Client, listing_index: list[int], paper_factory) -> None:  # type: ignore[no-untyped-def]
    from config import health
    from papers.models import Paper

    health._backlog = None
    old = paper_factory(title="Imported with --no-embed")
    Paper.objects.filter(pk=old.pk).update(updated=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["embedding"]["waiting"] == 1
    health._backlog = None
