"""Generic JSON lines accept the documented field names, aliases and value shapes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from papers.importers import read_records
from papers.records import PaperRecord

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "arxiv-abstracts-115k"


def one_record(tmp_path: Path, **fields: Any) -> PaperRecord:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"title": "T", "abstract": "A", **fields}) + "\n")
    [record] = read_records(path, fmt="jsonl")
    assert isinstance(record, PaperRecord), record
    return record


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        (["A. One", " B. Two ", ""], ("A. One", "B. Two")),
        ([{"name": "A. One"}, {"name": "B. Two"}], ("A. One", "B. Two")),
        ("A. One, B. Two and C. Three", ("A. One", "B. Two", "C. Three")),
        ("A. One, B. Two, and C. Three", ("A. One", "B. Two", "C. Three")),
        ("One, Ann; Two, Bob", ("One, Ann", "Two, Bob")),
        (None, ()),
    ],
)
def test_authors_come_as_a_list_or_a_string(tmp_path: Path, authors: Any, expected: tuple[str, ...]) -> None:
    assert one_record(tmp_path, authors=authors).authors == expected


@pytest.mark.parametrize(
    ("categories", "expected"),
    [(["cs.LG", "stat.ML"], ("cs.LG", "stat.ML")), ("cs.LG stat.ML", ("cs.LG", "stat.ML")), ("cs.LG, cs.LG", ("cs.LG",))],
)
def test_categories_come_as_a_list_or_a_separated_string(tmp_path: Path, categories: Any, expected: tuple[str, ...]) -> None:
    assert one_record(tmp_path, categories=categories).categories == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"published": "2025-10-08"}, dt.date(2025, 10, 8)),
        ({"published": "2025-10-08T23:59:00Z"}, dt.date(2025, 10, 8)),
        ({"date": "2025-10-08 10:00:00+02:00"}, dt.date(2025, 10, 8)),
        ({"published": "08/10/2025"}, None),
        ({"published": 2025}, None),
    ],
)
def test_published_accepts_dates_and_iso_datetimes(tmp_path: Path, fields: dict[str, Any], expected: dt.date | None) -> None:
    assert one_record(tmp_path, **fields).published == expected


def test_abstract_aliases_summary_and_text(tmp_path: Path) -> None:
    path = tmp_path / "aliases.jsonl"
    path.write_text(json.dumps({"title": "S", "summary": "From summary"}) + "\n" + json.dumps({"title": "X", "text": "From text"}) + "\n")
    assert [r.abstract for r in read_records(path, fmt="jsonl")] == ["From summary", "From text"]


def test_id_counts_as_arxiv_id_only_when_it_looks_like_one(tmp_path: Path) -> None:
    assert one_record(tmp_path, id="2510.06010v3").arxiv_id == "2510.06010"
    assert one_record(tmp_path, id="paper-17").arxiv_id == ""
    assert one_record(tmp_path, arxiv_id="https://arxiv.org/abs/2510.06010v1", id="x").arxiv_id == "2510.06010"


def test_links_combine_given_urls_with_canonical_arxiv_and_doi_links(tmp_path: Path) -> None:
    record = one_record(
        tmp_path,
        arxiv_id="arXiv:2301.00001v2",
        doi="https://doi.org/10.48550/arXiv.2301.00001",
        url="https://example.org/paper",
        pdf_url="https://example.org/paper.pdf",
        links={"code": "https://github.com/example/paper", "bad": 3},
    )
    assert record.links == {
        "code": "https://github.com/example/paper",
        "url": "https://example.org/paper",
        "abs": "https://arxiv.org/abs/2301.00001",
        "pdf": "https://arxiv.org/pdf/2301.00001",  # canonical wins over the given pdf_url
        "doi": "https://doi.org/10.48550/arxiv.2301.00001",
    }


def test_a_given_pdf_url_is_kept_when_there_is_no_arxiv_id(tmp_path: Path) -> None:
    assert one_record(tmp_path, pdf_url="https://example.org/p.pdf").links == {"pdf": "https://example.org/p.pdf"}


@pytest.mark.skipif(not (DATA / "sample-1k.jsonl").is_file(), reason="shared data not checked out")
def test_the_arxiv_abstracts_sample_reads_completely() -> None:
    records = list(read_records(DATA / "sample-1k.jsonl"))
    assert len(records) == 1000 and all(isinstance(r, PaperRecord) for r in records)
    first = records[0]
    assert (first.arxiv_id, first.categories, first.published) == ("2503.13260", ("cs.CV",), dt.date(2025, 3, 18))
    assert first.authors[0] == "Amit Zalcher"
