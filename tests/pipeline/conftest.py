"""Fixtures for fault tests: a shared database per test, a private Redis, the processes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pipeline.harness import (
    LISTING,
    Pipeline,
    Proc,
    RedisServer,
    Template,
    base_env,
    make_template,
)


@pytest.fixture(scope="session")
def fault_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    yield from make_template(tmp_path_factory.mktemp("faults-template"))


def open_pipeline(template: Template, tmp: Path, *, redis: bool) -> Pipeline:
    db = template.copy(tmp)
    env = base_env(tmp)
    env["DATABASE_URL"] = db.url
    pipeline = Pipeline(tmp=tmp, db=db, env=env)
    if redis:
        pipeline.redis = RedisServer(tmp)
        env["REDIS_URL"] = pipeline.redis.url
    return pipeline


@pytest.fixture
def pipeline(fault_template: Template, tmp_path: Path) -> Iterator[Pipeline]:
    """A fresh database and index directory; no broker (tasks run in-process)."""
    opened = open_pipeline(fault_template, tmp_path, redis=False)
    try:
        yield opened
    finally:
        opened.close()
        opened.db.drop()


@pytest.fixture
def broker_pipeline(fault_template: Template, tmp_path: Path) -> Iterator[Pipeline]:
    """The same, plus a private redis-server as the Celery broker (REDIS_URL)."""
    opened = open_pipeline(fault_template, tmp_path, redis=True)
    try:
        yield opened
    finally:
        opened.close()
        opened.db.drop()


@dataclass
class Site:
    """The listing imported with the real model (embedded default: built in-process) and served by gunicorn."""

    pipeline: Pipeline
    base: str
    web: Proc
    titles: dict[int, str]


@pytest.fixture(scope="package")
def site(fault_template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("site")
    opened = open_pipeline(fault_template, tmp, redis=False)
    try:
        opened.manage("import_papers", str(LISTING))
        web, base = opened.web(workers=2)
        titles = {int(pk): str(title) for pk, title in opened.db.query("SELECT id, title FROM papers_paper")}
        yield Site(pipeline=opened, base=base, web=web, titles=titles)
    finally:
        opened.close()
        opened.db.drop()
