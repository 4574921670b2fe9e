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
from papers.records import LIMITS, PaperRecord, RecordError

BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")
_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ].*)?$")
_CATEGORY_SEP = re.compile(r"[\s,;]+")
_AUTHOR_AND = re.compile(r"\s+and\s+|\s*&\s*", re.I)

# Reading a gzip that is cut short or corrupt fails part-way through the file; these are the
# errors gzip raises then, reported as one RecordError instead of a traceback.
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)

# No record needs a longer line (1,000 authors and a 20,000-character abstract fit in well under
# 1 MiB); a longer one is reported and skipped without ever being held in memory whole.
MAX_LINE_BYTES = 4 * 1024 * 1024
_SAFE_SCHEMES = ("http://", "https://")
# Link entries that hold an identifier rather than a URL (evaluation matches BEIR qrels by it);
# they are never rendered as an href.
ID_LINK_KEYS = frozenset({"beir_id"})


def numbered_lines(stream: BinaryIO, name: str) -> Iterator[tuple[int, str] | RecordError]:
    """Yield ``(line number, text)`` per physical line, or a RecordError for a line that is
    not UTF-8, so one mis-encoded line does not stop the file. Line numbers are 1-based."""
    number = 0
    try:
        while raw := stream.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass  # read past the rest of the line in bounded pieces
                yield RecordError(f"{name}:{number}", f"line longer than {MAX_LINE_BYTES // 1048576} MiB; skipped")
                continue
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


def _cut(text: str, limit: int) -> str:
    """``text`` cut at a word boundary within ``limit`` characters, with an ellipsis."""
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[-200:] else cut).rstrip() + "…"


def safe_url(value: str) -> str:
    """``value`` when it is an absolute http(s) URL without spaces or quotes, else ""."""
    value = value.strip()
    ok = value.lower().startswith(_SAFE_SCHEMES) and len(value) > 8 and not any(c in value for c in ' "<>\'\\\n\r\t')
    return value if ok else ""


def _capped(
    warnings: list[str],
    *,
    title: str,
    abstract: str,
    authors: tuple[str, ...],
    categories: tuple[str, ...],
    links: dict[str, str],
    journal_ref: str,
    license: str,
) -> tuple[str, str, tuple[str, ...], tuple[str, ...], dict[str, str], str, str]:
    """Every field within its limit (``papers.records.LIMITS``), a warning for each cut."""
    if len(title) > LIMITS["title"]:
        warnings.append(f"title: {len(title):,} characters, cut to {LIMITS['title']:,}")
        title = _cut(title, LIMITS["title"])
    if len(abstract) > LIMITS["abstract"]:
        warnings.append(f"abstract: {len(abstract):,} characters, cut to {LIMITS['abstract']:,}")
        abstract = _cut(abstract, LIMITS["abstract"])
    if len(authors) > LIMITS["authors"]:
        warnings.append(f"authors: {len(authors):,} names, kept the first {LIMITS['authors']:,}")
        authors = authors[: LIMITS["authors"]]
    if any(len(a) > LIMITS["author"] for a in authors):
        warnings.append(f"authors: a name longer than {LIMITS['author']} characters was cut")
        authors = tuple(a if len(a) <= LIMITS["author"] else _cut(a, LIMITS["author"]) for a in authors)
    long_categories = [c for c in categories if len(c) > LIMITS["category"]]
    if long_categories:
        warnings.append(f"categories: dropped {len(long_categories)} longer than {LIMITS['category']} characters ({long_categories[0][:40]!r}…)")
        categories = tuple(c for c in categories if len(c) <= LIMITS["category"])
    if len(categories) > LIMITS["categories"]:
        warnings.append(f"categories: {len(categories)} given, kept the first {LIMITS['categories']}")
        categories = categories[: LIMITS["categories"]]
    unsafe = sorted(
        k
        for k, v in links.items()
        if (len(v) > 200 if k in ID_LINK_KEYS else not safe_url(v) or len(v) > LIMITS["link"])
    )
    if unsafe:
        warnings.append(f"links: dropped {', '.join(unsafe)[:200]} (only http(s) URLs up to {LIMITS['link']:,} characters)")
        links = {k: v for k, v in links.items() if k not in unsafe}
    if len(links) > LIMITS["links"]:
        warnings.append(f"links: {len(links)} given, kept the first {LIMITS['links']}")
        links = dict(list(links.items())[: LIMITS["links"]])
    if len(journal_ref) > LIMITS["journal_ref"]:
        warnings.append(f"journal_ref: cut to {LIMITS['journal_ref']} characters")
        journal_ref = _cut(journal_ref, LIMITS["journal_ref"])
    if license and not (safe_url(license) and len(license) <= LIMITS["license"]):
        warnings.append("license: not an http(s) URL within limits; dropped")
        license = ""
    return title, abstract, authors, categories, links, journal_ref, license


def build_record(
    *,
    source: str,
    title: str,
    abstract: str,
    authors: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    published: dt.date | str | None = None,
    arxiv_id: str = "",
    doi: str = "",
    links: Mapping[str, Any] | None = None,
    journal_ref: str = "",
    license: str = "",
    revised: dt.date | None = None,
) -> PaperRecord | RecordError:
    """Validate and assemble one record, or explain why it cannot be one.

    Title and abstract must both be present. Identifiers go through ``papers.normalize``;
    links for a known arXiv id or DOI are derived here and win over links given in the file,
    so the same paper gets the same canonical URLs whichever file it came from. A field that
    cannot be read (a date that is not one, a link that is not http(s)) or is over its size
    limit becomes a warning on the record; the rest of the record is kept.
    """
    title, abstract = clean_text(title), clean_text(abstract)
    if not title and not abstract:
        return RecordError(source, "empty title and abstract")
    if not title:
        return RecordError(source, "missing title")
    if not abstract:
        return RecordError(source, "missing abstract")
    warnings: list[str] = []
    if isinstance(published, str):
        raw, published = published.strip(), parse_date(published)
        if raw and published is None:
            warnings.append(f"published: {raw[:40]!r} is not a date (YYYY-MM-DD); imported without one")
    given_arxiv_id, given_doi = clean_text(arxiv_id), clean_text(doi)
    arxiv_id, doi = normalize_arxiv_id(given_arxiv_id), normalize_doi(given_doi)
    if given_doi and not doi:
        warnings.append(f"doi: {given_doi[:60]!r} is not a DOI; imported without one")
    merged = {k[:40]: clean_text(v) for k, v in (links or {}).items() if isinstance(k, str) and isinstance(v, str)}
    merged = {k: v for k, v in merged.items() if v}
    if arxiv_id:
        merged["abs"] = f"https://arxiv.org/abs/{arxiv_id}"
        merged["pdf"] = f"https://arxiv.org/pdf/{arxiv_id}"
    if doi:
        merged["doi"] = f"https://doi.org/{doi}"
    title, abstract, authors, categories, merged, journal_ref, license = _capped(
        warnings,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        links=merged,
        journal_ref=collapse_space(journal_ref),
        license=clean_text(license),
    )
    return PaperRecord(
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        published=published,
        arxiv_id=arxiv_id,
        doi=doi,
        links=merged,
        source=source,
        journal_ref=journal_ref,
        license=license,
        revised=revised,
        warnings=tuple(warnings),
    )
