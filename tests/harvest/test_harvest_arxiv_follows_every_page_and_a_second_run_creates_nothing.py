"""`manage.py harvest_arxiv` against a local OAI-PMH endpoint in arXiv's format: every record of a
multi-page list becomes one paper with arXiv's fields mapped, embedded by the real model and
searchable; a second run creates nothing."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from harvest.models import HarvestSource
from papers.models import Paper
from tests.harvest.oai_server import Provider, real_papers, serving


def _harvest(url: str, *args: str) -> str:
    out = StringIO()
    call_command("harvest_arxiv", "--endpoint", url, "--set", "cs", "--page-delay", "0", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_every_record_of_a_multi_page_harvest_is_created_embedded_and_searchable(client: Client) -> None:
    papers = real_papers(23)
    provider = Provider(page_size=5)
    provider.add(papers[:15], "2026-11-02")
    provider.add(papers[15:], "2026-11-03")
    provider.add(real_papers(4, category_prefix="astro-ph"), "2026-11-02")  # another set: not asked for

    with serving(provider) as url:
        first = _harvest(url, "--from", "2026-11-01")
        again = _harvest(url, "--from", "2026-11-01")

    assert "23 created" in first and "5 page(s)" in first
    assert "0 created, 0 updated, 0 merged, 23 unchanged, 0 rejected" in again
    tokens = [params for _, params, _ in provider.requests if "resumptionToken" in params]
    assert len(tokens) == 2 * 4  # pages 2-5 of each run were asked for by resumption token
    assert Paper.objects.count() == 23
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {p["id"] for p in papers}

    # arXiv's fields: keyname + forenames, created date, categories, licence, provenance.
    sample = papers[3]
    paper = Paper.objects.get(arxiv_id=sample["id"])
    assert paper.title == sample["title"] and paper.abstract == sample["abstract"]
    assert paper.authors == sample["authors"]
    assert paper.categories == sample["categories"]
    assert paper.published == dt.date.fromisoformat(sample["published"])
    assert paper.revised == dt.date(2026, 11, 2)
    assert paper.license == "http://creativecommons.org/licenses/by/4.0/"
    assert paper.provenance["abstract"]["origin"] == "source"
    assert paper.provenance["abstract"]["source"].startswith("harvest: cs @ http://127.0.0.1")

    # Embedded by the real model and searchable: the paper's own title finds it first.
    assert all(p.embeddings.exists() for p in Paper.objects.all())
    response = client.get("/api/search", {"q": sample["title"], "mode": "dense"})
    assert response.status_code == 200
    assert response.json()["results"][0]["id"] == paper.pk

    source = HarvestSource.objects.get(set_spec="cs")
    assert source.cursor == dt.date(2026, 11, 3)  # the latest datestamp harvested
    assert source.status == HarvestSource.Status.OK and not source.resumption_token
    assert source.enabled is False  # a command-line harvest schedules nothing
