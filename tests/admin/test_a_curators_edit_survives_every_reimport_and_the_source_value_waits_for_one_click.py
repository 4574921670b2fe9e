"""Curation wins: a curator edits papers through the admin change form; re-running the README's
first command's import (`make run`: the same `import_papers` line) keeps the edits, while the
fields the curator did not touch still follow the source. When the source later says something
else, the change form shows it ("source now says") and one click accepts it. Hidden, featured
and merged state and curated related links are never touched by imports."""

from __future__ import annotations

import json
import re
import shlex
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from papers.models import Paper, RelatedLink
from papers.curation import papers_merge
from tests.admin.conftest import change_form_data

ROOT = Path(__file__).resolve().parents[2]


def _make_run_import_args() -> list[str]:
    """The import line of the Makefile's demo-data target (what `make run` runs), as arguments."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(line for line in makefile.splitlines() if "manage.py import_papers" in line)
    return shlex.split(line.split("manage.py", 1)[1])[1:]


def _make_run_import() -> str:
    out = StringIO()
    call_command("import_papers", *_make_run_import_args(), "--no-embed", stdout=out, stderr=StringIO())
    return out.getvalue()


def _edit(client: Client, paper: Paper, **changes: str) -> None:
    url = reverse("admin:papers_paper_change", args=[paper.pk])
    data = {**change_form_data(client.get(url)), **changes}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.mark.django_db
def test_a_curators_abstract_and_title_survive_rerunning_the_readme_import(admin_client: Client) -> None:
    assert "361 created" in _make_run_import()
    listed = Paper.objects.filter(arxiv_id__isnull=True).order_by("pk").first()  # from the HF listing
    harvested = Paper.objects.filter(arxiv_id__isnull=False).order_by("pk").first()  # from the arXiv sample
    original_title = harvested.title
    _edit(admin_client, listed, abstract="A curator's corrected abstract.")
    _edit(admin_client, harvested, title="A curator's corrected title")

    out = _make_run_import()

    assert "0 created, 0 updated, 0 merged, 361 unchanged, 0 rejected" in out
    assert "2 curated field(s) kept although the source differs" in out
    listed.refresh_from_db()
    harvested.refresh_from_db()
    assert listed.abstract == "A curator's corrected abstract."
    assert harvested.title == "A curator's corrected title"
    assert harvested.provenance["title"]["origin"] == "curator"
    assert harvested.provenance["title"]["by"] == "admin"
    assert harvested.provenance["title"]["source_says"]["value"] == original_title
    assert harvested.provenance["abstract"]["origin"] == "source"  # untouched fields still follow the source


@pytest.mark.django_db
def test_the_change_form_shows_what_the_source_now_says_and_one_click_accepts_it(admin_client: Client, tmp_path: Path) -> None:
    record = {
        "id": "2511.00042",
        "title": "Sparse attention for long documents",
        "abstract": "We study sparse attention patterns for long documents.",
        "authors": ["Ada Lovelace"],
    }
    source = tmp_path / "feed.jsonl"
    source.write_text(json.dumps(record) + "\n")
    call_command("import_papers", str(source), "--no-embed", stdout=StringIO())
    paper = Paper.objects.get(arxiv_id="2511.00042")
    _edit(admin_client, paper, abstract="Curated: sparse attention for long legal documents.")

    source.write_text(json.dumps({**record, "abstract": "Version 2: sparse attention patterns for book-length documents."}) + "\n")
    out = StringIO()
    call_command("import_papers", str(source), "--no-embed", stdout=out)
    assert "0 updated" in out.getvalue() and "1 unchanged" in out.getvalue()

    page = admin_client.get(reverse("admin:papers_paper_change", args=[paper.pk])).content.decode()
    assert "The source now says something else" in page
    assert "Version 2: sparse attention patterns for book-length documents." in page
    assert "Curated: sparse attention for long legal documents." in page
    button = re.search(r'formaction="([^"]+)"[^>]*name="accept_field" value="abstract"', page)
    assert button, "an accept button for the abstract"

    response = admin_client.post(button.group(1), {"accept_field": "abstract"})

    assert response.status_code == 302
    paper.refresh_from_db()
    assert paper.abstract == "Version 2: sparse attention patterns for book-length documents."
    assert paper.provenance["abstract"]["origin"] == "source"
    assert "The source now says something else" not in admin_client.get(reverse("admin:papers_paper_change", args=[paper.pk])).content.decode()
    # Back with its source: the next version of the abstract is taken by the next import.
    source.write_text(json.dumps({**record, "abstract": "Version 3 of the abstract."}) + "\n")
    call_command("import_papers", str(source), "--no-embed", stdout=StringIO())
    paper.refresh_from_db()
    assert paper.abstract == "Version 3 of the abstract."


@pytest.mark.django_db
def test_imports_never_touch_hidden_featured_merged_state_or_curated_links() -> None:
    _make_run_import()
    hidden, featured, pinned, keep, drop = Paper.objects.filter(arxiv_id__isnull=False).order_by("pk")[:5]
    Paper.objects.filter(pk=hidden.pk).update(hidden=True)
    Paper.objects.filter(pk=featured.pk).update(featured=True)
    RelatedLink.objects.create(paper=pinned, related=keep, kind=RelatedLink.Kind.PIN)
    RelatedLink.objects.create(paper=pinned, related=featured, kind=RelatedLink.Kind.SUPPRESS)
    result = papers_merge(keep=keep, drop=drop, by="admin")
    merged_abstract = Paper.objects.get(pk=keep.pk).abstract

    out = _make_run_import()

    assert "0 created, 0 updated" in out and "1 merged" in out  # the merged-away paper's record, counted as such
    assert Paper.objects.get(pk=hidden.pk).hidden is True
    assert Paper.objects.get(pk=featured.pk).featured is True
    assert Paper.objects.get(pk=drop.pk).merged_into_id == keep.pk
    assert Paper.objects.get(pk=keep.pk).abstract == merged_abstract  # a merge's choice is not reset
    assert set(RelatedLink.objects.filter(paper=pinned).values_list("related_id", "kind")) == {
        (keep.pk, "pin"),
        (featured.pk, "suppress"),
    }
    assert result.kept.pk == keep.pk
