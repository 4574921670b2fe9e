"""A full build of all of arXiv takes 15-28 minutes on two cores (docs/scale.md), so the build
task has its own time limit, not the other tasks' 10 minutes (which killed a full build of 2.6M
papers in the worker: session 15); and Redis's visibility timeout outlasts it, so a build still
running is never handed to a second worker."""

from __future__ import annotations

from django.conf import settings

from config.celery import app
from search.tasks import build_index, embed_papers


def test_the_build_task_runs_under_its_own_longer_limits() -> None:
    assert build_index.soft_time_limit == settings.INDEX_BUILD_SOFT_TIME_LIMIT >= 3600
    assert build_index.time_limit == settings.INDEX_BUILD_TIME_LIMIT > build_index.soft_time_limit
    assert build_index.soft_time_limit > settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert embed_papers.soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT  # the other tasks keep the app-wide limits
    assert app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT


def test_redis_redelivers_no_acks_late_task_before_its_hard_limit_has_passed() -> None:
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > build_index.time_limit
    assert visibility > settings.CELERY_TASK_TIME_LIMIT
