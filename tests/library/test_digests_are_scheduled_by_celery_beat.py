"""Celery beat schedules the daily digest at LIBRARY_DIGEST_HOUR UTC and the weekly one on Mondays."""

from __future__ import annotations

from celery.schedules import crontab

from config.celery import app


def test_beat_runs_the_daily_and_weekly_digests() -> None:
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    daily, weekly = schedule["digests-daily"], schedule["digests-weekly"]
    assert daily["task"] == weekly["task"] == "library.tasks.send_digests"
    assert tuple(daily["args"]) == ("daily",) and tuple(weekly["args"]) == ("weekly",)
    assert isinstance(daily["schedule"], crontab) and daily["schedule"].hour == {6} and daily["schedule"].minute == {0}
    assert weekly["schedule"].day_of_week == {1}
    assert "library.tasks.send_digests" in app.tasks
