"""One bad line costs one RecordError with its line number; the good lines still import."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

from papers.importers import read_records
from papers.records import PaperRecord, RecordError


def paper(title: str, **fields: object) -> bytes:
    return json.dumps({"title": title, "abstract": f"Abstract of {title}.", **fields}).encode()


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_each_broken_line_gives_one_error_at_its_line_and_parsing_goes_on(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "papers.jsonl",
        [
            b"\xef\xbb\xbf" + paper("Starts with a BOM"),  # 1
            b'{"title": "Broken", "abstract": ',  # 2: invalid JSON
            json.dumps({"abstract": "No title here."}).encode(),  # 3
            b'["a", "list"]',  # 4: not an object
            b'{"title": "Latin-1 caf\xe9", "abstract": "x"}',  # 5: not UTF-8
            b"",  # 6: blank, skipped silently
            paper("Still read after the errors"),  # 7
            json.dumps({"title": "No abstract"}).encode(),  # 8
            json.dumps({"title": " ", "abstract": ""}).encode(),  # 9
        ],
    )
    results = list(read_records(path))
    good = [r for r in results if isinstance(r, PaperRecord)]
    errors = [r for r in results if isinstance(r, RecordError)]
    assert [(r.source, r.title) for r in good] == [
        ("papers.jsonl:1", "Starts with a BOM"),
        ("papers.jsonl:7", "Still read after the errors"),
    ]
    assert [e.source for e in errors] == [f"papers.jsonl:{n}" for n in (2, 3, 4, 5, 8, 9)]
    reasons = [e.reason for e in errors]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1] == "missing title"
    assert reasons[2] == "expected a JSON object, got list"
    assert reasons[3].startswith("invalid UTF-8")
    assert reasons[4:] == ["missing abstract", "empty title and abstract"]


def test_nul_characters_are_removed_from_raw_bytes_and_from_escapes(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "nul.jsonl",
        [
            b'{"title": "Raw\x00 NUL", "abstract": "kept"}',
            json.dumps({"title": "Escaped\u0000 NUL", "abstract": "kept\u0000"}).encode(),
        ],
    )
    assert [(r.title, r.abstract) for r in read_records(path)] == [("Raw NUL", "kept"), ("Escaped NUL", "kept")]


def test_lone_surrogates_become_replacement_characters(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "surrogates.jsonl",
        [b'{"title": "Lone \\ud800 surrogate", "abstract": "Pair \\ud83d\\ude00 is an emoji"}'],
    )
    [record] = read_records(path)
    assert isinstance(record, PaperRecord)
    assert record.title == "Lone \ufffd surrogate"
    assert record.abstract == "Pair \U0001f600 is an emoji"
    record.title.encode("utf-8")  # storable: no surrogate left


def test_right_to_left_text_and_emoji_are_kept_and_outer_space_is_stripped(tmp_path: Path) -> None:
    title, abstract = "تعلم الآلة 🤖 للجميع", "ملخص قصير.\u200f"
    path = write_lines(tmp_path / "rtl.jsonl", [json.dumps({"title": f"  {title}\n", "abstract": abstract}).encode()])
    [record] = read_records(path)
    assert isinstance(record, PaperRecord)
    assert (record.title, record.abstract) == (title, abstract)


def test_windows_line_endings_do_not_change_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(paper("One") + b"\r\n" + b"oops\r\n" + paper("Three") + b"\r\n")
    results = list(read_records(path))
    assert [r.source for r in results] == ["crlf.jsonl:1", "crlf.jsonl:2", "crlf.jsonl:3"]
    assert isinstance(results[1], RecordError)


def test_a_bad_date_keeps_the_record_without_a_date(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "dates.jsonl", [paper("Feb 30", published="2024-02-30"), paper("Text", published="soon")])
    assert [r.published for r in read_records(path)] == [None, None]


def test_a_truncated_gzip_yields_the_lines_before_the_cut_and_then_an_error(tmp_path: Path) -> None:
    # Hashes do not compress, so the cut lands well past the first 64 KiB that detection reads.
    data = gzip.compress(b"\n".join(paper(hashlib.sha256(str(n).encode()).hexdigest()) for n in range(5000)) + b"\n")
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    results = list(read_records(path))
    assert isinstance(results[-1], RecordError) and "gzip" in results[-1].reason
    assert all(isinstance(r, PaperRecord) for r in results[:-1]) and len(results) > 100
