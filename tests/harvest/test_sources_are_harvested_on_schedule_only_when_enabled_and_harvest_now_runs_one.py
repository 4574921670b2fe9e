"""Harvest sources are curated in the admin: nothing is harvested until a source is enabled (the
embedded default never touches the network), beat's check queues only enabled sources whose turn
has come, and the admin's "Harvest now" runs one and shows its state and counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.formats import date_format

from config.celery import app
from harvest import services
from harvest.models import HarvestSource
from harvest.tasks import harvest_due
from papers.models import Paper
from tests.harvest.oai_server import Provider, real_papers, serving


def test_beat_checks_the_harvest_sources_on_its_schedule() -> None:
    app.loader.import_default_modules()
    entries = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    assert "harvest.tasks.harvest_due" in entries


@pytest.mark.django_db
def test_a_fresh_install_has_no_source_and_beat_harvests_nothing() -> None:
    assert HarvestSource.objects.count() == 0
    assert harvest_due() == []


@pytest.mark.django_db
def test_only_enabled_sources_whose_turn_has_come_are_due() -> None:
    now = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
    disabled = HarvestSource.objects.create(name="math", set_spec="math", enabled=False)
    never_ran = HarvestSource.objects.create(name="cs", set_spec="cs", enabled=True)
    recent = HarvestSource.objects.create(
        name="stat", set_spec="stat", enabled=True, every_hours=24, status="ok", last_finished=now - dt.timedelta(hours=3)
    )
    old = HarvestSource.objects.create(
        name="eess", set_spec="eess", enabled=True, every_hours=24, status="ok", last_finished=now - dt.timedelta(hours=25)
    )
    failed = HarvestSource.objects.create(
        name="econ", set_spec="econ", enabled=True, every_hours=24, status="failed", last_finished=now - dt.timedelta(hours=2)
    )
    busy = HarvestSource.objects.create(
        name="q-bio", set_spec="q-bio", enabled=True, lease_holder="otherhost:1", lease_renewed=now - dt.timedelta(seconds=30)
    )

    due = {s.name for s in services.sources_due(now=now)}

    assert due == {never_ran.name, old.name, failed.name}
    assert not {disabled.name, recent.name, busy.name} & due


@pytest.mark.django_db
def test_harvest_now_in_the_admin_harvests_the_source_and_the_list_shows_the_result(admin_client: Client, django_capture_on_commit_callbacks, settings) -> None:  # type: ignore[no-untyped-def]
    settings.HARVEST_PAGE_DELAY = 0
    provider = Provider(page_size=4)
    provider.add(real_papers(6), "2026-11-20")
    with serving(provider) as url:
        source = HarvestSource.objects.create(name="cs (test)", endpoint=url, set_spec="cs", start_date=dt.date(2026, 11, 19))
        changelist = reverse("admin:harvest_harvestsource_changelist")
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                changelist, {"action": "harvest_now", "_selected_action": [source.pk], "index": 0}, follow=True
            )

    assert response.status_code == 200
    assert "Harvest queued for 1 source(s)" in response.content.decode()
    source.refresh_from_db()
    assert source.status == HarvestSource.Status.OK and source.cursor == dt.date(2026, 11, 20)
    assert Paper.objects.count() == 6
    assert all(p.provenance["title"]["source"] == "harvest: cs (test)" for p in Paper.objects.all())
    page = admin_client.get(changelist).content.decode()
    assert "6 created" in page and "2 page(s)" in page
    detail = admin_client.get(reverse("admin:harvest_harvestsource_change", args=[source.pk])).content.decode()
    assert "Harvested up to" in detail and date_format(dt.date(2026, 11, 20)) in detail


@pytest.mark.django_db
def test_adding_a_source_asks_only_for_what_a_curator_sets(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:harvest_harvestsource_add")).content.decode()
    assert 'name="set_spec"' in page and 'name="enabled"' in page and 'name="every_hours"' in page
    assert "Harvested up to" not in page and "Interrupted harvest" not in page
