"""Production mode: an upload through the admin of a gunicorn server is imported by a real
Celery worker over Redis, in the background, and the job page follows it to the end.

Real processes on 127.0.0.1 only (the pipeline tests' harness): a private redis-server, one
Celery worker with the real model, gunicorn. Every process is killed as a group at the end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline.harness import (
    Pipeline,
    RedisServer,
    Template,
    base_env,
    make_template,
    on_postgres,
    wait_until,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not on_postgres(), reason="starts Redis, a Celery worker and gunicorn: runs in the PostgreSQL pass of make test"),
]

LINES = [
    json.dumps({"title": "Mixture of depths for transformers", "abstract": "Tokens skip layers they do not need.", "arxiv_id": "2404.02258"}),
    "{broken",
    json.dumps({"title": "State space models for long sequences", "abstract": "Selective state spaces rival attention.", "doi": "10.1234/ssm"}),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    yield from make_template(tmp_path_factory.mktemp("admin-worker-template"))


@pytest.fixture
def production(template: Template, tmp_path: Path) -> Iterator[tuple[Pipeline, str]]:
    db = template.copy(tmp_path)
    env = base_env(tmp_path)
    env["DATABASE_URL"] = db.url
    pipeline = Pipeline(tmp=tmp_path, db=db, env=env)
    try:
        pipeline.redis = RedisServer(tmp_path)
        env["REDIS_URL"] = pipeline.redis.url
        pipeline.manage("shell", "-c", "from django.contrib.auth.models import User; "
                        "User.objects.create_superuser('curator', 'c@example.org', 'a long curator password')")
        pipeline.worker(fast=False)
        _, base = pipeline.web(workers=1)
        yield pipeline, base
    finally:
        pipeline.close()
        db.drop()


def _token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_the_web_process_queues_the_upload_and_the_worker_imports_it(production: tuple[Pipeline, str]) -> None:
    import requests

    pipeline, base = production
    session = requests.Session()
    login = session.get(f"{base}/admin/login/", timeout=30)
    session.post(f"{base}/admin/login/", timeout=30, data={
        "username": "curator", "password": "a long curator password", "csrfmiddlewaretoken": _token(login.text), "next": "/admin/"})
    form = session.get(f"{base}/admin/papers/importjob/add/", timeout=30)
    assert form.status_code == 200

    posted = session.post(
        f"{base}/admin/papers/importjob/add/", timeout=30, allow_redirects=False,
        data={"csrfmiddlewaretoken": _token(form.text), "format": "auto"},
        files={"file": ("worker-batch.jsonl", ("\n".join(LINES) + "\n").encode(), "application/json")},
    )
    assert posted.status_code == 302, posted.text[:2000]
    job_url = base + posted.headers["Location"]
    first = session.get(job_url, timeout=30).text
    # The web process only stored the upload and queued it (the worker's log below shows who ran it).
    assert 'http-equiv="refresh"' in first or ">done</span>" in first

    def finished() -> str:
        text = session.get(job_url, timeout=30).text
        return text if ">done</span>" in text else ""

    page = wait_until(finished, timeout=120, what="the worker to finish the import", on_timeout=pipeline.logs)
    assert 'http-equiv="refresh"' not in page
    assert "worker-batch.jsonl:2" in page and "invalid JSON" in page
    assert '<div class="ps-num">2</div><div class="ps-label">created</div>' in page
    assert "papers.tasks.import_job_run" in pipeline.logs() and "succeeded" in pipeline.logs()
    assert pipeline.count("papers_paper") == 2
    # The worker embeds the new papers too (real model), and a build makes them searchable.
    wait_until(lambda: pipeline.count("search_paperembedding") == 2, timeout=120, what="embeddings", on_timeout=pipeline.logs)
