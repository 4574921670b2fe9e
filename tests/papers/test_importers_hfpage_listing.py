"""The Hugging Face Papers listing the project started from imports exactly as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from papers.importers import read_records
from papers.records import PaperRecord

LISTING = Path(__file__).resolve().parents[3] / "shared" / "data" / "hf-papers" / "listing.txt"
pytestmark = pytest.mark.skipif(not LISTING.is_file(), reason="shared data not checked out")


def source_pairs() -> list[tuple[int, str, str]]:
    """(line number, title, abstract) straight from the file: papers start at line 11."""
    lines = LISTING.read_text(encoding="utf-8").split("\n")
    return [(n + 1, lines[n].strip(), lines[n + 2].strip()) for n in range(10, len(lines), 4)]


def test_it_finds_exactly_61_papers_and_no_errors() -> None:
    records = list(read_records(LISTING))
    assert len(records) == 61
    assert all(isinstance(record, PaperRecord) for record in records)


def test_titles_and_abstracts_equal_the_source_lines() -> None:
    records = list(read_records(LISTING))
    expected = source_pairs()
    assert len(expected) == 61
    assert [(r.source, r.title, r.abstract) for r in records] == [
        (f"listing.txt:{line}", title, abstract) for line, title, abstract in expected
    ]


def test_it_skips_the_page_header() -> None:
    titles = {record.title for record in read_records(LISTING)}
    header = {"new", "Get trending papers in your email inbox!", "Subscribe", "byAK and the research community", "Mar 13"}
    assert not titles & header
    assert next(iter(read_records(LISTING))).title.startswith("Sequence to Sequence Reward Modeling")


def test_latex_and_escapes_survive_untouched() -> None:
    abstracts = " ".join(record.abstract for record in read_records(LISTING))
    assert "{p}_{theta}(Y|X)" in abstracts
    assert "\\%" in abstracts


def test_it_is_detected_without_a_format_name() -> None:
    assert len(list(read_records(LISTING, fmt="auto"))) == len(list(read_records(LISTING, fmt="hfpage")))


def test_a_title_without_abstract_at_the_end_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "page.txt"
    path.write_text("new\n\nMar 13\n\nA title\n\nIts abstract, which is longer than the title.\n\nA lone title\n")
    records = list(read_records(path, fmt="hfpage"))
    assert isinstance(records[0], PaperRecord) and records[0].source == "page.txt:5"
    assert records[1].source == "page.txt:9" and records[1].reason == "missing abstract"
