from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from papers.models import Paper


@pytest.mark.django_db
def test_broken_lines_are_reported_with_their_line_number_and_good_lines_imported(tmp_path: Path) -> None:
    good = {"title": "Sparse attention for long documents", "abstract": "We study sparse attention.", "arxiv_id": "2401.00001v2"}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"title": "", "abstract": "no title here"}),
        json.dumps({"title": "Graph neural networks for molecules", "abstract": "Message passing on molecular graphs.", "doi": "10.1234/ABC"}),
        "[1, 2, 3]",
    ]
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, err = StringIO(), StringIO()
    call_command("import_papers", str(path), "--no-embed", stdout=out, stderr=err)
    reported = err.getvalue()
    assert "papers.jsonl:2:" in reported
    assert "papers.jsonl:3:" in reported
    assert "papers.jsonl:5:" in reported
    assert "papers.jsonl:1:" not in reported and "papers.jsonl:4:" not in reported
    assert "2 created" in out.getvalue() and "3 rejected" in out.getvalue()
    first = Paper.objects.get(arxiv_id="2401.00001")  # version suffix stripped
    assert first.title == good["title"]
    assert Paper.objects.get(doi="10.1234/abc").title.startswith("Graph neural")


@pytest.mark.django_db
def test_a_file_with_nothing_importable_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("{oops\n{\"title\": 3}\n", encoding="utf-8")
    with pytest.raises(CommandError, match="nothing could be imported"):
        call_command("import_papers", str(path), "--format", "jsonl", stdout=StringIO(), stderr=StringIO())
    assert Paper.objects.count() == 0


@pytest.mark.django_db
def test_records_are_deduplicated_by_arxiv_id_doi_then_title(tmp_path: Path) -> None:
    rows = [
        {"title": "A study of things", "abstract": "First version.", "arxiv_id": "2401.12345v1"},
        {"title": "A Study of Things!", "abstract": "First version.", "arxiv_id": "2401.12345v3", "doi": "10.5555/x"},
        {"title": "Another paper", "abstract": "Text.", "doi": "https://doi.org/10.5555/Y"},
        {"title": "Another paper, retitled", "abstract": "Text.", "doi": "10.5555/y"},
        {"title": "Title Only Match", "abstract": "Body."},
        {"title": "title only match", "abstract": "Body."},
    ]
    path = tmp_path / "dups.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = StringIO()
    call_command("import_papers", str(path), "--no-embed", stdout=out, stderr=StringIO())
    assert Paper.objects.count() == 3
    assert Paper.objects.get(arxiv_id="2401.12345").doi == "10.5555/x"
    assert Paper.objects.get(doi="10.5555/y").title == "Another paper, retitled"
