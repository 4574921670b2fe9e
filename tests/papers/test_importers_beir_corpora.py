"""BEIR corpora import whole, keep their document ids, and report empty documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from papers.importers import read_records
from papers.records import PaperRecord, RecordError

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared data not checked out")


@needs_data
def test_cranfield_gives_1398_records_and_two_errors_for_its_empty_documents() -> None:
    results = list(read_records(DATA / "cranfield" / "corpus.jsonl"))
    records = [r for r in results if isinstance(r, PaperRecord)]
    errors = [r for r in results if isinstance(r, RecordError)]
    assert len(records) == 1398
    assert errors == [
        RecordError("corpus.jsonl:471", "empty title and abstract"),
        RecordError("corpus.jsonl:995", "empty title and abstract"),
    ]
    assert records[0].links == {"beir_id": "1"}
    assert records[0].title == "experimental investigation of the aerodynamics of a wing in a slipstream ."


@needs_data
def test_scifact_gives_all_5183_records_with_unique_beir_ids() -> None:
    results = list(read_records(DATA / "beir-scifact" / "corpus.jsonl"))
    assert len(results) == 5183
    assert all(isinstance(r, PaperRecord) for r in results)
    ids = {r.links["beir_id"] for r in results if isinstance(r, PaperRecord)}
    assert len(ids) == 5183 and "4983" in ids


def test_an_empty_title_is_replaced_by_the_first_sentence_of_the_text(tmp_path: Path) -> None:
    long_sentence = "word " * 80 + "end."
    docs = [
        {"_id": "a", "title": "", "text": "Short first sentence. Then the rest of the abstract.", "metadata": {}},
        {"_id": "b", "title": "", "text": long_sentence, "metadata": {}},
        {"_id": "c", "title": "Has a title", "text": "", "metadata": {}},
        {"title": "No id", "text": "Some text."},
    ]
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(doc) + "\n" for doc in docs))
    short, long, no_text, no_id = read_records(path, fmt="beir")
    assert isinstance(short, PaperRecord) and isinstance(long, PaperRecord)
    assert short.title == "Short first sentence."
    assert short.abstract == "Short first sentence. Then the rest of the abstract."
    assert len(long.title) <= 201 and long.title.endswith("word…")
    assert no_text == RecordError("corpus.jsonl:3", "missing abstract")
    assert no_id == RecordError("corpus.jsonl:4", "missing _id")


def test_metadata_authors_doi_and_url_are_kept(tmp_path: Path) -> None:
    doc = {
        "_id": "PMC1",
        "title": "T",
        "text": "Abstract.",
        "metadata": {"authors": ["A. One", "B. Two"], "doi": "10.1/ABC", "url": "https://example.org/p"},
    }
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps(doc) + "\n")
    [record] = read_records(path)
    assert isinstance(record, PaperRecord)
    assert record.authors == ("A. One", "B. Two")
    assert record.links == {"beir_id": "PMC1", "url": "https://example.org/p", "doi": "https://doi.org/10.1/abc"}
