"""Every BibTeX export parses in bibtexparser, one entry per saved paper, with keys unique across the
collection (two 'wang2025dynamic' papers, title-only 'anondeep' papers); CSV is plain text for spreadsheets."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import bibtexparser
import pytest
from django.test import Client

from papers.bibtex import citation_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def awkward_papers(paper_factory: Any) -> list[Any]:
    day = dt.date(2025, 3, 1)
    return [
        paper_factory(title="Dynamic graphs for agents", authors=["Wei Wang", "Li Na"], published=day, arxiv_id="2503.00001"),
        paper_factory(title="Dynamic pricing with bandits", authors=["Wei Wang"], published=day, doi="10.1000/xyz{1}"),
        paper_factory(title="Deep learning of {unbalanced braces", abstract="a"),
        paper_factory(title="Deep nets & 100% accuracy #1", abstract="b",
                      links={"abs": "https://example.org/paper?id={7}}&x=%41"}),
        paper_factory(title="Deep thoughts", abstract="c"),
    ]


def _save_all(client: Client, papers: list[Any], tag: str) -> None:
    for paper in papers:
        assert client.post(f"/library/papers/{paper.pk}/save", {"tags": tag}).status_code == 302


def test_bibtex_export_of_a_tag_parses_with_unique_keys(ada_client: Client, ada: Any, awkward_papers: list[Any]) -> None:
    from library.models import Tag

    _save_all(ada_client, awkward_papers, "awkward")
    tag = Tag.objects.get(user=ada, name="awkward")
    response = ada_client.get("/library/export.bib", {"tag": tag.pk})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/x-bibtex")
    assert 'filename="paperscope-awkward.bib"' in response["Content-Disposition"]
    parsed = bibtexparser.parse_string(response.content.decode())
    assert parsed.failed_blocks == []
    keys = [entry.key for entry in parsed.entries]
    assert len(keys) == len(awkward_papers) == len(set(keys))
    assert {"wang2025dynamic", "wang2025dynamica"} <= set(keys)
    assert {"anondeep", "anondeepa", "anondeepb"} == {k for k in keys if k.startswith("anondeep")}
    by_key = {entry.key: {f.key: f.value for f in entry.fields} for entry in parsed.entries}
    url = next(fields["url"] for fields in by_key.values() if "example.org" in fields.get("url", ""))
    assert url == "https://example.org/paper?id=%7B7%7D%7D&x=%41"  # a stray } no longer ends the field


def test_keys_are_stored_once_and_shared_by_page_export_and_download(ada_client: Client, awkward_papers: list[Any]) -> None:
    first, second = awkward_papers[:2]
    assert citation_key(second) == "wang2025dynamic"  # first come, first served ...
    assert citation_key(first) == "wang2025dynamica"
    first.refresh_from_db()
    assert first.citation_key == "wang2025dynamica"  # ... and never changed afterwards
    download = ada_client.get(f"/papers/{first.pk}/bibtex.bib")
    assert download.content.decode().startswith("@misc{wang2025dynamica,")
    assert "wang2025dynamica" in ada_client.get(f"/papers/{first.pk}/").content.decode()


def test_every_export_of_the_whole_library_parses(ada_client: Client, reader_collection: dict[str, int], awkward_papers: list[Any]) -> None:
    from papers.models import Paper

    _save_all(ada_client, list(Paper.objects.all()), "all")
    text = ada_client.get("/library/export.bib").content.decode()
    parsed = bibtexparser.parse_string(text)
    assert parsed.failed_blocks == [] and len(parsed.entries) == Paper.objects.count()
    assert len({e.key for e in parsed.entries}) == len(parsed.entries)


def test_csv_export_has_one_row_per_paper_and_neutralises_formulas(ada_client: Client, paper_factory: Any) -> None:
    evil = paper_factory(title="=HYPERLINK(\"http://evil.example\")", authors=["@admin"])
    plain = paper_factory(title="Plain title", authors=["Ada Lovelace"], published=dt.date(2024, 5, 1))
    _save_all(ada_client, [evil, plain], "csv")
    ada_client.post(f"/library/papers/{plain.pk}/edit", {"tags": "csv, second", "note": "a note, with a comma"})
    response = ada_client.get("/library/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 2
    by_title = {r["title"]: r for r in rows}
    assert "'=HYPERLINK(\"http://evil.example\")" in by_title and by_title["'=HYPERLINK(\"http://evil.example\")"]["authors"] == "'@admin"
    assert by_title["Plain title"]["note"] == "a note, with a comma" and by_title["Plain title"]["tags"] == "csv; second"
    assert by_title["Plain title"]["year"] == "2024" and by_title["Plain title"]["citation_key"] == "lovelace2024plain"
