"""CSV files with a header row import with quoted commas, multi-line cells and line numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from papers.importers import read_records
from papers.records import PaperRecord, RecordError

CSV = (
    "Title , Abstract,authors,categories,published,arxiv_id,doi,url,notes\n"  # 1
    '"Attention, Revisited","We study attention, again, with ""care"".",'
    '"Curie, Marie; Curie, Pierre",cs.LG;stat.ML,2024-03-01,arXiv:2403.00001v2,,https://example.org/a,x\n'  # 2
    "\n"  # 3: blank, skipped
    'Multi-line,"First line of the abstract\nsecond line of the abstract",,cs.CL cs.AI,2024-13-01,,doi:10.5555/XYZ,,\n'  # 4-5
    "No abstract,,,,,,,,\n"  # 6
    "Last,Still read after an error,A. Author,,,,,,\n"  # 7
)


def csv_file(tmp_path: Path, content: bytes = CSV.encode()) -> Path:
    path = tmp_path / "papers.csv"
    path.write_bytes(content)
    return path


def test_quoted_commas_and_quotes_stay_inside_their_cell(tmp_path: Path) -> None:
    first = next(iter(read_records(csv_file(tmp_path))))
    assert isinstance(first, PaperRecord)
    assert first.title == "Attention, Revisited"
    assert first.abstract == 'We study attention, again, with "care".'


def test_authors_split_on_semicolons_only_and_categories_on_spaces_or_semicolons(tmp_path: Path) -> None:
    first, second, _, last = read_records(csv_file(tmp_path))
    assert first.authors == ("Curie, Marie", "Curie, Pierre")
    assert first.categories == ("cs.LG", "stat.ML")
    assert second.categories == ("cs.CL", "cs.AI")
    assert last.authors == ("A. Author",)


def test_header_case_and_spaces_do_not_matter_and_ids_are_normalised(tmp_path: Path) -> None:
    first, second, *_ = read_records(csv_file(tmp_path))
    assert first.published == dt.date(2024, 3, 1)
    assert first.arxiv_id == "2403.00001"
    assert first.links == {
        "url": "https://example.org/a",
        "abs": "https://arxiv.org/abs/2403.00001",
        "pdf": "https://arxiv.org/pdf/2403.00001",
    }
    assert (second.doi, second.published) == ("10.5555/xyz", None)  # month 13: kept, undated


def test_sources_give_the_physical_line_where_each_row_starts(tmp_path: Path) -> None:
    results = list(read_records(csv_file(tmp_path)))
    assert [r.source for r in results] == ["papers.csv:2", "papers.csv:4", "papers.csv:6", "papers.csv:7"]
    assert results[1].abstract == "First line of the abstract\nsecond line of the abstract"
    assert results[2] == RecordError("papers.csv:6", "missing abstract")


def test_a_row_with_invalid_utf8_is_reported_and_the_next_rows_are_read(tmp_path: Path) -> None:
    content = b"\xef\xbb\xbftitle,abstract\nCaf\xe9,latin-1\nGood,row\n"
    results = list(read_records(csv_file(tmp_path, content)))
    assert results[0] == RecordError("papers.csv:2", "invalid UTF-8")
    assert isinstance(results[1], PaperRecord) and results[1].source == "papers.csv:3"


def test_a_header_only_file_gives_nothing(tmp_path: Path) -> None:
    assert list(read_records(csv_file(tmp_path, b"title,abstract\n"))) == []
