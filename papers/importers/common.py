"""Helpers shared by the format parsers: byte lines, text cleaning, field parsing, records.

Everything here is pure (no ORM, no Django) so each parser can be tested on a file alone.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from papers.normalize import normalize_arxiv_id, normalize_doi
from papers.records import PaperRecord, RecordError

BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")
_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ].*)?$")
_CATEGORY_SEP = re.compile(r"[\s,;]+")
_AUTHOR_AND = re.compile(r"\s+and\s+|\s*&\s*", re.I)

# Reading a gzip that is cut short or corrupt fails part-way through the file; these are the
# errors gzip raises then, reported as one RecordError instead of a traceback.
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def numbered_lines(stream: BinaryIO, name: str) -> Iterator[tuple[int, str] | RecordError]:
    """Yield ``(line number, text)`` per physical line, or a RecordError for a line that is
    not UTF-8, so one mis-encoded line does not stop the file. Line numbers are 1-based."""
    number = 0
    try:
        for number, raw in enumerate(stream, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield RecordError(f"{name}:{number}", f"invalid UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            if number == 1:
                text = text.removeprefix(BOM)
            yield number, text.rstrip("\r\n")
    except GZIP_ERRORS as exc:
        yield RecordError(f"{name}:{number + 1}", f"truncated or corrupt gzip data ({exc})")


def json_objects(stream: BinaryIO, name: str) -> Iterator[tuple[str, dict[str, Any]] | RecordError]:
    """Yield ``(source, object)`` for each JSON-lines line; blank lines are skipped."""
    for item in numbered_lines(stream, name):
        if isinstance(item, RecordError):
            yield item
            continue
        number, line = item
        source = f"{name}:{number}"
        # A literal NUL is invalid inside a JSON string; dropping it saves the rest of the line.
        line = line.replace("\x00", "").strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RecordError(source, f"invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield RecordError(source, f"expected a JSON object, got {type(obj).__name__}")
            continue
        yield source, obj


def clean_text(value: str) -> str:
    """Drop NULs, replace lone surrogates with U+FFFD and strip outer whitespace.

    PostgreSQL rejects both NUL and unpaired surrogates (JSON can spell either with an
    escape); everything else, right-to-left scripts and emoji included, is kept as it is.
    """
    return _SURROGATE.sub("\ufffd", value.replace("\x00", "")).strip()


def collapse_space(value: str) -> str:
    """Clean ``value`` and turn runs of whitespace (hard-wrapped lines) into single spaces."""
    return " ".join(clean_text(value).split())


def text_field(obj: Mapping[str, Any], *keys: str) -> str:
    """The first of ``keys`` whose value is a non-empty string, cleaned; "" if none is."""
    for key in keys:
        value = obj.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and (value := clean_text(value)):
            return value
    return ""


def split_authors(value: Any, *, split_commas: bool = True) -> tuple[str, ...]:
    """Author names from a list (of names or ``{"name": ...}``) or from one string.

    A string is split on ";" when it has one, otherwise on "," and "and"/"&"
    ("A, B and C"); pass ``split_commas=False`` where commas belong to names ("Last, First").
    """
    if isinstance(value, str):
        if ";" in value or not split_commas:
            parts: Iterable[Any] = value.split(";")
        else:
            parts = (p for chunk in value.split(",") for p in _AUTHOR_AND.split(chunk))
    elif isinstance(value, list | tuple):
        parts = (p.get("name") if isinstance(p, dict) else p for p in value)
    else:
        return ()
    names = (collapse_space(p) for p in parts if isinstance(p, str))
    return tuple(n for n in names if n)


def split_categories(value: Any) -> tuple[str, ...]:
    """Categories from a list or a string separated by spaces, commas or semicolons."""
    if isinstance(value, str):
        parts: Iterable[Any] = _CATEGORY_SEP.split(value)
    elif isinstance(value, list | tuple):
        parts = value
    else:
        return ()
    seen: dict[str, None] = {}  # ordered set: the primary category stays first
    for part in parts:
        if isinstance(part, str) and (part := clean_text(part)):
            seen.setdefault(part, None)
    return tuple(seen)


def parse_date(value: Any) -> dt.date | None:
    """A date from "YYYY-MM-DD" or a full ISO datetime; None when absent or invalid."""
    if not isinstance(value, str) or not (match := _ISO_DATE.match(value.strip())):
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def build_record(
    *,
    source: str,
    title: str,
    abstract: str,
    authors: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    published: dt.date | None = None,
    arxiv_id: str = "",
    doi: str = "",
    links: Mapping[str, Any] | None = None,
) -> PaperRecord | RecordError:
    """Validate and assemble one record, or explain why it cannot be one.

    Title and abstract must both be present. Identifiers go through ``papers.normalize``;
    links for a known arXiv id or DOI are derived here and win over links given in the file,
    so the same paper gets the same canonical URLs whichever file it came from.
    """
    title, abstract = clean_text(title), clean_text(abstract)
    if not title and not abstract:
        return RecordError(source, "empty title and abstract")
    if not title:
        return RecordError(source, "missing title")
    if not abstract:
        return RecordError(source, "missing abstract")
    arxiv_id, doi = normalize_arxiv_id(arxiv_id), normalize_doi(doi)
    merged = {k: clean_text(v) for k, v in (links or {}).items() if isinstance(k, str) and isinstance(v, str)}
    if arxiv_id:
        merged["abs"] = f"https://arxiv.org/abs/{arxiv_id}"
        merged["pdf"] = f"https://arxiv.org/pdf/{arxiv_id}"
    if doi:
        merged["doi"] = f"https://doi.org/{doi}"
    return PaperRecord(
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        published=published,
        arxiv_id=arxiv_id,
        doi=doi,
        links={k: v for k, v in merged.items() if v},
        source=source,
    )
