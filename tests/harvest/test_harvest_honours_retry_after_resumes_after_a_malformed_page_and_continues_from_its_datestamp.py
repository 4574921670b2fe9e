"""The harvester plays by OAI-PMH's rules: it waits as a 503's Retry-After says, stops at a
malformed page without losing what it had (reporting it, and resuming at that page next time),
and harvests incrementally from the datestamp it stored."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from harvest.models import HarvestSource
from papers.models import Paper
from tests.harvest.oai_server import Provider, real_papers, serving


def _harvest(url: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("harvest_arxiv", "--endpoint", url, "--set", "cs", "--page-delay", "0", "--no-embed", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_a_503_with_retry_after_is_waited_out_and_then_the_harvest_completes() -> None:
    provider = Provider(page_size=5, fail_503=2, retry_after=1)
    provider.add(real_papers(8), "2026-11-02")

    with serving(provider) as url:
        out, _ = _harvest(url, "--from", "2026-11-01")

    assert "8 created" in out
    statuses = [status for _, _, status in provider.requests]
    assert statuses == [503, 503, 200, 200]
    times = [t for t, _, _ in provider.requests]
    assert times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95  # Retry-After: 1 second, each time


@pytest.mark.django_db
def test_a_malformed_page_is_reported_loses_nothing_and_the_next_run_resumes_at_that_page() -> None:
    papers = real_papers(20)
    provider = Provider(page_size=5, malformed_page=3)
    provider.add(papers, "2026-11-02")

    with serving(provider) as url:
        with pytest.raises(CommandError, match="harvest incomplete"):
            _harvest(url, "--from", "2026-11-01")
        source = HarvestSource.objects.get(set_spec="cs")
        assert source.status == HarvestSource.Status.FAILED
        assert "malformed page" in source.last_error
        assert source.resumption_token  # the token of the page that failed: the next run asks for it again
        assert source.cursor is None  # the list was not finished: the cursor did not move
        assert Paper.objects.count() == 10  # pages 1 and 2 are kept

        asked = len(provider.requests)
        out, _ = _harvest(url)  # no --from: resume where it stopped

    resumed = provider.requests[asked:]
    assert "resumptionToken" in resumed[0][1]  # it went on from page 3, not from the start
    assert "10 created" in out
    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == sorted(p["id"] for p in papers)
    source.refresh_from_db()
    assert source.status == HarvestSource.Status.OK and source.cursor == dt.date(2026, 11, 2)


@pytest.mark.django_db
def test_the_next_harvest_starts_from_the_stored_datestamp_and_brings_only_what_is_new() -> None:
    old, new = real_papers(6), real_papers(4, skip=6)
    provider = Provider(page_size=4)
    provider.add(old, "2026-11-02")

    with serving(provider) as url:
        _harvest(url, "--from", "2026-11-01")
        provider.add(new, "2026-11-05")
        asked = len(provider.requests)
        out, _ = _harvest(url)

    assert provider.requests[asked][1]["from"] == "2026-11-02"  # the stored datestamp, not the first --from
    # The boundary day comes again (from is inclusive) and counts as unchanged; nothing is missed.
    assert "4 created" in out and "6 unchanged" in out
    assert Paper.objects.count() == 10
    assert HarvestSource.objects.get(set_spec="cs").cursor == dt.date(2026, 11, 5)
