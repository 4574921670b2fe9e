"""The Kaggle arXiv metadata snapshot (``arxiv-metadata-oai-snapshot.json``), JSON lines.

Fields used: id, title, abstract, doi, categories (space separated, primary first),
versions ``[{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}, ...]``,
update_date ("YYYY-MM-DD"), journal-ref, license, authors_parsed ``[[last, first, suffix], ...]`` and authors
(a string, used only when authors_parsed is missing). Titles and abstracts are hard-wrapped
in the snapshot, so runs of whitespace are collapsed. ``published`` is the date the first
version was submitted, else update_date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO

from papers.importers.common import (
    build_record,
    collapse_space,
    json_objects,
    parse_date,
    split_authors,
    split_categories,
    text_field,
)
from papers.records import PaperRecord, RecordError


def first_version_date(versions: Any, *, last: bool = False) -> dt.date | None:
    """The date of the first (or last) version's RFC 2822 ``created`` timestamp, if readable."""
    if not isinstance(versions, list) or not versions or not isinstance(versions[-1 if last else 0], dict):
        return None
    created = versions[-1 if last else 0].get("created")
    if not isinstance(created, str):
        return None
    try:
        return parsedate_to_datetime(created).date()
    except (TypeError, ValueError):
        return None


def parsed_authors(value: Any) -> tuple[str, ...]:
    """"First Last Suffix" names from ``authors_parsed`` rows ``[last, first, suffix]``."""
    if not isinstance(value, list):
        return ()
    names = []
    for row in value:
        if isinstance(row, list) and row and all(isinstance(part, str) for part in row):
            last, first, suffix = (row + ["", ""])[:3]
            if name := collapse_space(f"{first} {last} {suffix}"):
                names.append(name)
    return tuple(names)


def record_from_snapshot(obj: dict[str, Any], source: str) -> PaperRecord | RecordError:
    """Map one snapshot object to a record."""
    arxiv_id = text_field(obj, "id")
    return build_record(
        source=source,
        title=collapse_space(text_field(obj, "title")),
        abstract=collapse_space(text_field(obj, "abstract")),
        authors=parsed_authors(obj.get("authors_parsed")) or split_authors(obj.get("authors")),
        categories=split_categories(obj.get("categories")),
        published=first_version_date(obj.get("versions")) or parse_date(obj.get("update_date")),
        arxiv_id=arxiv_id,
        doi=text_field(obj, "doi"),
        journal_ref=text_field(obj, "journal-ref"),
        license=text_field(obj, "license"),
        revised=first_version_date(obj.get("versions"), last=True),
    )


def parse(stream: BinaryIO, name: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one record or error per non-blank line of ``stream``."""
    for item in json_objects(stream, name):
        if isinstance(item, RecordError):
            yield item
        else:
            yield record_from_snapshot(item[1], item[0])
