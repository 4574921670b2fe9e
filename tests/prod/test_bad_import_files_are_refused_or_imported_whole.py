"""Malformed, mis-encoded and hostile import files: a clear error per bad record, the good
records imported exactly, nothing half-imported, and never a crash."""

from __future__ import annotations

import codecs
import gzip
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from papers.models import Paper
from papers.records import LIMITS
from tests.prod.corpus import SCRIPT, TEXTS

GOOD = {"id": "2401.00001", "title": "Attention is what you need", "abstract": "We study attention in transformers."}


def _jsonl(*rows: object) -> bytes:
    return b"".join((row if isinstance(row, bytes) else json.dumps(row).encode()) + b"\n" for row in rows)


def _import(path: Path, fmt: str = "auto") -> tuple[int, str]:
    """Run import_papers like an operator would; returns (papers created, what it printed)."""
    before = Paper.objects.count()
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_papers", str(path), "--format", fmt, "--no-embed", stdout=out, stderr=err)
    except CommandError as exc:
        err.write(f"CommandError: {exc}")
    return Paper.objects.count() - before, out.getvalue() + err.getvalue()


def _assert_clean_text() -> None:
    for title, abstract in Paper.objects.values_list("title", "abstract"):
        for text in (title, abstract):
            assert "\x00" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
            assert not text.startswith("\ufeff")


# name: (content, format, titles of the papers created, what the report names). Each file has
# its one outcome: the papers it creates (exactly) and the file:line of each record refused or
# warned about (or the file, when the whole file is refused); wording aside, those stay stable.
FILES: dict[str, tuple[bytes, str, list[str], list[str]]] = {
    "empty.jsonl": (b"", "auto", [], ["empty.jsonl: cannot detect the format"]),
    "only-newlines.jsonl": (b"\n\n\n", "jsonl", [], ["nothing could be imported"]),
    "bom.jsonl": (codecs.BOM_UTF8 + _jsonl(GOOD), "auto", [GOOD["title"]], []),
    "bom.csv": (codecs.BOM_UTF8 + b"title,abstract,arxiv_id\r\nBOM paper,An abstract.,2401.00002\r\n", "auto", ["BOM paper"], []),
    "malformed-lines.jsonl": (
        _jsonl(GOOD, b'{"title": "broken', b"not json at all", b"[1, 2]", {"title": 5}),
        "jsonl",
        [GOOD["title"]],
        ["malformed-lines.jsonl:2: invalid JSON", "malformed-lines.jsonl:3: invalid JSON", "malformed-lines.jsonl:4:", "malformed-lines.jsonl:5:"],
    ),
    # A NUL (escaped or raw) and a lone surrogate never reach the database: dropped or replaced.
    "nul-escape.jsonl": (_jsonl({**GOOD, "id": "2401.00003", "title": "Nul\u0000 title"}), "jsonl", ["Nul title"], []),
    "raw-nul-bytes.jsonl": (b"\x00" * 100 + b"\n" + _jsonl({**GOOD, "id": "2401.00004"}), "jsonl", [GOOD["title"]], []),
    "lone-surrogate.jsonl": (
        _jsonl(b'{"id": "2401.00005", "title": "Surrogate \\ud800 title", "abstract": "x"}'), "jsonl", ["Surrogate \ufffd title"], []
    ),
    "latin-1.csv": ("title,abstract\r\nCaf\xe9 physics,R\xe9sum\xe9 of results\r\n".encode("latin-1"), "csv", [], ["latin-1.csv:2: invalid UTF-8"]),
    "latin-1.jsonl": ('{"title": "Caf\xe9 physics", "abstract": "R\xe9sum\xe9"}\n'.encode("latin-1"), "jsonl", [], ["latin-1.jsonl:1: invalid UTF-8"]),
    "utf-16.jsonl": (_jsonl(GOOD).decode().encode("utf-16"), "auto", [], ["utf-16.jsonl: cannot detect the format"]),
    "100kB-one-line.jsonl": (b"x" * 100_000, "auto", [], ["100kB-one-line.jsonl: cannot detect the format"]),
    # Imported, its title cut to the title limit with a warning naming the line.
    "100kB-title.jsonl": (_jsonl({**GOOD, "id": "2401.00006", "title": "t" * 100_000}), "jsonl", ["t" * (LIMITS["title"] - 1) + "…"], ["100kB-title.jsonl:1: title"]),
    "random-binary.jsonl": (bytes(range(256)) * 400, "auto", [], ["random-binary.jsonl: cannot detect the format"]),
    "truncated.gz": (gzip.compress(_jsonl(GOOD) * 50)[:60], "auto", [], ["truncated.gz: not valid gzip"]),
    "billion-laughs.atom": (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode() for i in range(1, 10))
        + b']><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol9;</title></entry></feed>',
        "arxiv-atom",
        [],
        ["billion-laughs.atom:1: malformed XML"],
    ),
    "external-entity.atom": (
        b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2401.00007v1</id>'
        b"<title>&xxe;</title><summary>s</summary></entry></feed>",
        "arxiv-atom",
        [],
        ["external-entity.atom:1: malformed XML"],
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", FILES)
def test_a_bad_file_has_its_one_outcome_and_leaves_only_whole_papers(name: str, tmp_path: Path) -> None:
    content, fmt, titles, reported = FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    created, printed = _import(path, fmt)
    assert created == len(titles), printed
    assert sorted(Paper.objects.values_list("title", flat=True)) == sorted(titles)
    for fragment in reported:
        assert fragment in printed, printed
    if not titles:
        assert "nothing could be imported" in printed
    _assert_clean_text()
    assert "root:" not in "".join(Paper.objects.values_list("title", flat=True))  # no external entity resolved


@pytest.mark.django_db
def test_good_records_with_hostile_text_are_imported_exactly(tmp_path: Path) -> None:
    rows = [
        {"id": f"2402.{n:05d}", "title": f"{label}: {text}"[:500] or "x", "abstract": f"Abstract {n} {text}"[:2000], "authors": [text[:100] or "A"]}
        for n, (label, text) in enumerate(TEXTS.items(), start=1)
        if "\x00" not in text and label not in ("empty", "spaces")
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(_jsonl(*rows))
    created, printed = _import(path, "jsonl")
    assert created == len(rows), printed
    stored = {p.arxiv_id: p for p in Paper.objects.all()}
    for row in rows:
        paper = stored[row["id"]]
        assert paper.title == " ".join(row["title"].split()) or paper.title == row["title"].strip(), row["title"][:80]
    assert any(SCRIPT in p.title for p in stored.values())
