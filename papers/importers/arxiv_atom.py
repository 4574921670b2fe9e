"""An arXiv API response (an Atom feed, ``http://export.arxiv.org/api/query?...``).

Per ``<entry>``: id (``http://arxiv.org/abs/<id>v<n>``), title, summary, author/name,
arxiv:primary_category then category terms, published, arxiv:doi, and the abstract page /
PDF links. Titles and summaries are hard-wrapped and indented in the feed, so runs of
whitespace are collapsed. The feed is parsed incrementally and each entry is freed once
read, so memory stays flat on large harvests. ElementTree gives no line numbers for
elements, so sources read "file:entry N"; a malformed feed ends with one RecordError
pointing at the line where parsing stopped, after the entries read before it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import BinaryIO

from papers.importers.common import GZIP_ERRORS, build_record, collapse_space, parse_date
from papers.records import PaperRecord, RecordError

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def _text(entry: ET.Element, path: str) -> str:
    return collapse_space(entry.findtext(path) or "")


def record_from_entry(entry: ET.Element, source: str) -> PaperRecord | RecordError:
    """Map one Atom ``<entry>`` element to a record."""
    entry_id = _text(entry, f"{ATOM}id")
    if "/api/errors" in entry_id:
        # The API reports a bad query as a feed with a single error entry.
        return RecordError(source, f"arXiv API error: {_text(entry, f'{ATOM}summary')}")
    primary = entry.find(f"{ARXIV}primary_category")
    terms = [primary.get("term", "")] if primary is not None else []
    terms += [category.get("term", "") for category in entry.iterfind(f"{ATOM}category")]
    links: dict[str, str] = {}
    for link in entry.iterfind(f"{ATOM}link"):
        if link.get("title") == "pdf":
            links["pdf"] = link.get("href", "")
        elif link.get("rel") == "alternate":
            links["abs"] = link.get("href", "")
    return build_record(
        source=source,
        title=_text(entry, f"{ATOM}title"),
        abstract=_text(entry, f"{ATOM}summary"),
        authors=tuple(name for a in entry.iterfind(f"{ATOM}author") if (name := _text(a, f"{ATOM}name"))),
        categories=tuple(dict.fromkeys(term for term in terms if term)),
        published=parse_date(_text(entry, f"{ATOM}published")),
        arxiv_id=entry_id,
        doi=_text(entry, f"{ARXIV}doi"),
        links=links,
    )


def parse(stream: BinaryIO, name: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one record or error per ``<entry>`` of the feed in ``stream``."""
    number = 0
    root: ET.Element | None = None
    try:
        for event, elem in ET.iterparse(stream, events=("start", "end")):
            if root is None:
                root = elem
            if event == "end" and elem.tag == f"{ATOM}entry":
                number += 1
                yield record_from_entry(elem, f"{name}:entry {number}")
                # Drop the finished entry from the tree, not just its contents, so memory
                # does not grow with the number of entries.
                root.clear()
    except ET.ParseError as exc:
        yield RecordError(f"{name}:{exc.position[0]}", f"malformed XML ({exc})")
    except GZIP_ERRORS as exc:
        yield RecordError(f"{name}:entry {number + 1}", f"truncated or corrupt gzip data ({exc})")
