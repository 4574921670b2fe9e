"""A Hugging Face Papers listing page saved as plain text.

Layout: a page header ("new", "Get trending papers in your email inbox!", "Subscribe",
"byAK and the research community", a date such as "Mar 13"), then for each paper a title
line, a blank line and an abstract paragraph, papers separated by blank lines. Only titles
and abstracts exist in this format. Titles and abstracts are kept exactly as written (LaTeX
such as ``{p}_{theta}(Y|X)`` or ``\\%`` included); an abstract wrapped over several lines
is joined with single spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

from papers.importers.common import build_record, clean_text, numbered_lines
from papers.records import PaperRecord, RecordError

HEADER_LINES = frozenset(
    {"new", "get trending papers in your email inbox!", "subscribe", "byak and the research community"}
)
_DATE_LINE = re.compile(r"^[A-Z][a-z]{2,8}\.? \d{1,2}(?:, \d{4})?$")
MAX_TITLE_CHARS = 300


def is_header(line: str) -> bool:
    """True for the page-header lines that sit between papers, never in one."""
    line = line.strip()
    return line.lower() in HEADER_LINES or bool(_DATE_LINE.match(line))


def paragraphs(lines: Iterator[tuple[int, str] | RecordError]) -> Iterator[tuple[int, str] | RecordError]:
    """Group non-blank lines into ``(first line number, text)`` paragraphs; a paragraph
    with an undecodable line comes out as that line's RecordError."""
    start = 0
    parts: list[str] = []
    error: RecordError | None = None
    for item in chain(lines, [(0, "")]):  # the final blank line flushes the last paragraph
        if isinstance(item, RecordError):
            error = error or item
            continue
        number, line = item
        if line := clean_text(line):
            start = start or number
            parts.append(line)
        elif parts or error:
            yield error or (start, " ".join(parts))
            start, parts, error = 0, [], None


def parse(stream: BinaryIO, name: str) -> Iterator[PaperRecord | RecordError]:
    """Pair paragraphs into (title, abstract) records, skipping page headers."""
    title: tuple[int, str] | None = None
    skip_abstract = False
    for item in paragraphs(numbered_lines(stream, name)):
        if isinstance(item, RecordError):
            yield item
            # An unreadable title still has its abstract after it: drop that too, so the
            # following titles and abstracts stay paired.
            skip_abstract, title = title is None, None
        elif skip_abstract:
            skip_abstract = False
        elif title is not None:
            yield build_record(source=f"{name}:{title[0]}", title=title[1], abstract=item[1])
            title = None
        elif not is_header(item[1]):
            title = item
    if title is not None:
        yield RecordError(f"{name}:{title[0]}", "missing abstract")
