"""Deduplication is safe and the import report is true record by record: the real SciFact corpus
(documents that share a title but not a text) becomes exactly one paper per document, same-title
pairs go to the curators' queue, a later record with more metadata fills only empty fields, and
fields that cannot be read or are over their limit are warnings with file:line, not silent losses."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from papers.models import DuplicateCandidate, Paper
from papers.records import LIMITS
from tests.conftest import DATA_DIR

SCIFACT = DATA_DIR / "beir-scifact" / "corpus.jsonl"


def _import(path: Path, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_papers", str(path), "--no-embed", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_the_scifact_corpus_becomes_one_paper_per_document_and_same_titles_are_queued() -> None:
    documents = [json.loads(line) for line in SCIFACT.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(documents) == 5183

    out, err = _import(SCIFACT, "--format", "beir")

    # "summary" x3 and "corresponding author" x2 are different documents with the same title.
    assert "5183 created (3 queued as possible duplicates), 0 updated, 0 merged, 0 unchanged, 0 rejected, 0 warnings" in out
    assert err == ""
    assert Paper.objects.count() == 5183
    assert {p.links["beir_id"] for p in Paper.objects.all()} == {d["_id"] for d in documents}
    pairs = {frozenset({c.paper_a.links["beir_id"], c.paper_b.links["beir_id"]}) for c in DuplicateCandidate.objects.all()}
    assert pairs == {
        frozenset({"885056", "13492264"}),
        frozenset({"885056", "14178995"}),
        frozenset({"13492264", "14178995"}),
        frozenset({"14717213", "16929739"}),
    }
    assert all(c.reason == DuplicateCandidate.Reason.TITLE for c in DuplicateCandidate.objects.all())

    again, _ = _import(SCIFACT, "--format", "beir")
    assert "0 created, 0 updated, 0 merged, 5183 unchanged, 0 rejected" in again
    assert DuplicateCandidate.objects.count() == 4


@pytest.mark.django_db
def test_a_later_record_with_more_metadata_fills_only_what_is_empty(tmp_path: Path) -> None:
    listing = tmp_path / "listing.jsonl"
    listing.write_text(json.dumps({"title": "Graph Transformers at Scale", "abstract": "We scale graph transformers to billions of edges."}) + "\n")
    _import(listing)
    arxiv = tmp_path / "arxiv.jsonl"
    arxiv.write_text(
        json.dumps(
            {
                "id": "2512.00007v2",
                "title": "Graph transformers at scale.",
                "abstract": "We scale graph   transformers to billions of edges",  # the same text, spaced and punctuated differently
                "authors": ["Ada Lovelace", "Alan Turing"],
                "categories": ["cs.LG"],
                "published": "2025-12-01",
            }
        )
        + "\n"
    )

    out, _ = _import(arxiv)

    assert "0 created, 0 updated, 1 merged" in out
    paper = Paper.objects.get()
    assert paper.title == "Graph Transformers at Scale"  # the first source's value stays
    assert paper.arxiv_id == "2512.00007" and paper.authors == ["Ada Lovelace", "Alan Turing"]
    assert str(paper.published) == "2025-12-01" and paper.links["abs"] == "https://arxiv.org/abs/2512.00007"
    assert paper.provenance["authors"]["source"] == "arxiv.jsonl"
    assert paper.provenance["title"]["source"] == "listing.jsonl"


@pytest.mark.django_db
def test_same_title_with_a_different_abstract_is_a_new_paper_in_the_duplicate_queue(tmp_path: Path) -> None:
    first = {"title": "Progress in Documentation", "abstract": "A survey of indexing languages in 1970."}
    second = {"title": "Progress in documentation", "abstract": "Machine translation of technical reports."}
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n" + json.dumps(first) + "\n")

    out, _ = _import(path)

    assert "2 created (1 queued as possible duplicates), 0 updated, 1 merged, 0 unchanged" in out  # line 3 repeats line 1
    assert sorted(Paper.objects.values_list("abstract", flat=True)) == sorted([first["abstract"], second["abstract"]])
    candidate = DuplicateCandidate.objects.get()
    assert candidate.reason == DuplicateCandidate.Reason.TITLE and "same title" in candidate.detail


@pytest.mark.django_db
def test_unreadable_or_oversized_fields_are_warnings_with_their_line_and_the_rest_is_imported(tmp_path: Path) -> None:
    path = tmp_path / "papers.csv"
    path.write_text(
        "title,abstract,published,url\n"
        "Good paper,A fine abstract.,2025-01-02,https://example.org/a\n"
        "Bad date,An abstract with a bad date.,2025-13-45,https://example.org/b\n"
        f"Huge,{'word ' * (LIMITS['abstract'] // 4)},2025-01-03,javascript:alert(1)\n",
        encoding="utf-8",
    )

    out, err = _import(path)

    assert "3 created" in out and "0 rejected, 3 warnings" in out
    assert "papers.csv:3: published: '2025-13-45' is not a date" in err
    assert f"papers.csv:4: abstract: {len('word ' * (LIMITS['abstract'] // 4)) - 1:,} characters, cut to {LIMITS['abstract']:,}" in err
    assert "papers.csv:4: links: dropped url (only http(s) URLs" in err
    bad_date = Paper.objects.get(title="Bad date")
    assert bad_date.published is None and bad_date.links["url"] == "https://example.org/b"
    huge = Paper.objects.get(title="Huge")
    assert len(huge.abstract) <= LIMITS["abstract"] and huge.abstract.endswith("…")
    assert "url" not in huge.links
