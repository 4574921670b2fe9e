"""Every format is recognised from its content, gzipped or not, whatever the file is called."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from papers.importers import FORMATS, detect_format, read_records
from papers.records import PaperRecord

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared data not checked out")

JSONL = json.dumps({"id": "2301.00001", "title": "A title", "abstract": "An abstract."}) + "\n"
KAGGLE = json.dumps(
    {"id": "0704.0002", "submitter": "Louis Theran", "title": "T", "abstract": "A", "versions": []}
) + "\n"
BEIR = json.dumps({"_id": "7", "title": "T", "text": "An abstract.", "metadata": {}}) + "\n"
CSV = "title,abstract,authors\nA title,An abstract,A. Author\n"
ATOM = '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"></feed>\n'
HFPAGE = (
    "new\n\nSubscribe\n\nMar 13\n\nA Short Title\n\n"
    "A much longer abstract paragraph that explains what the paper does and why.\n"
)
OAI = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
    "<responseDate>2026-12-01T00:00:00Z</responseDate><ListRecords></ListRecords></OAI-PMH>\n"
)
SAMPLES = {"jsonl": JSONL, "arxiv-kaggle": KAGGLE, "beir": BEIR, "csv": CSV, "arxiv-atom": ATOM, "arxiv-oai": OAI, "hfpage": HFPAGE}


def test_formats_lists_auto_and_every_parser() -> None:
    assert FORMATS == ("auto", "hfpage", "jsonl", "csv", "arxiv-kaggle", "arxiv-atom", "arxiv-oai", "beir")
    assert set(SAMPLES) == set(FORMATS) - {"auto"}


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_each_format_is_detected_from_its_content(fmt: str) -> None:
    assert detect_format(SAMPLES[fmt].encode()) == fmt


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_detection_ignores_a_byte_order_mark_and_leading_blank_lines(fmt: str) -> None:
    assert detect_format(b"\xef\xbb\xbf\n\n" + SAMPLES[fmt].encode()) == fmt


def test_json_lines_are_classified_by_the_first_object_that_parses() -> None:
    head = b"{broken\n\n" + BEIR.encode() + JSONL.encode()
    assert detect_format(head) == "beir"


def test_a_json_file_whose_first_lines_do_not_parse_is_still_json_lines() -> None:
    assert detect_format(b'{"title": "cut off by the 64 KiB lim') == "jsonl"


@pytest.mark.parametrize("fmt", ["jsonl", "beir", "csv", "hfpage", "arxiv-kaggle"])
def test_gzipped_files_are_detected_and_read_whatever_their_name(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "upload.bin"  # neither the name nor the suffix gives anything away
    path.write_bytes(gzip.compress(SAMPLES[fmt].encode()))
    records = list(read_records(path))
    assert len(records) == 1 and isinstance(records[0], PaperRecord)
    assert records[0].source.startswith("upload.bin:")


def test_the_file_name_does_not_decide_the_format(tmp_path: Path) -> None:
    path = tmp_path / "papers.csv"
    path.write_text(JSONL)
    [record] = read_records(path)
    assert isinstance(record, PaperRecord) and record.arxiv_id == "2301.00001"


def test_an_open_binary_file_is_read_like_a_path() -> None:
    upload = io.BytesIO(gzip.compress(BEIR.encode()))
    [record] = read_records(upload, name="corpus.jsonl.gz")
    assert isinstance(record, PaperRecord)
    assert record.source == "corpus.jsonl.gz:1" and record.links["beir_id"] == "7"
    assert not upload.closed  # the caller's file stays the caller's


@needs_data
@pytest.mark.parametrize(
    ("relative", "fmt"),
    [
        ("hf-papers/listing.txt", "hfpage"),
        ("arxiv-abstracts-115k/sample-1k.jsonl", "jsonl"),
        ("arxiv-abstracts-115k/papers.jsonl.gz", "jsonl"),
        ("cranfield/corpus.jsonl", "beir"),
        ("beir-scifact/corpus.jsonl", "beir"),
    ],
)
def test_the_shared_data_files_are_detected(relative: str, fmt: str) -> None:
    path = DATA / relative
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as file:
        head = file.read(64 * 1024)
    assert detect_format(head) == fmt


def test_an_unknown_format_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format 'bibtex'"):
        read_records(io.BytesIO(JSONL.encode()), fmt="bibtex")


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"%PDF-1.7\n\x00\x01\x02\xff\xfe", b"just one line of prose\n"])
def test_content_of_no_known_format_is_refused_before_any_record(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "mystery.dat"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="cannot detect the format"):
        read_records(path)


def test_a_file_that_claims_gzip_but_is_not_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.gz"
    path.write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(ValueError, match="not valid gzip data"):
        read_records(path)
