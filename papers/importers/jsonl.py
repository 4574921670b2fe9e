"""Generic JSON lines: one paper object per line.

Fields (unknown fields are ignored):

- ``title`` (required)
- ``abstract`` (required; aliases ``summary``, ``text``)
- ``authors``: a list of names (or of ``{"name": ...}``), or one string "A, B and C" / "A; B"
- ``categories``: a list, or one string separated by spaces or commas ("cs.LG stat.ML")
- ``published``: "YYYY-MM-DD" or a full ISO datetime (alias ``date``); an invalid date
  keeps the record with no date and a warning naming the line
- ``journal_ref``, ``license`` (a URL), as arXiv gives them
- ``arxiv_id``: any arXiv id form ("arXiv:2301.00001v2", abs/pdf URL); alias ``id`` when it
  looks like an arXiv id
- ``doi``: bare or as a resolver URL
- ``url``, ``pdf_url``: stored as links "url" and "pdf"
- ``links``: an object of name -> URL, stored as given

The arXiv abstracts corpus (id, title, abstract, authors, categories, published) is this format.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from papers.importers.common import (
    build_record,
    json_objects,
    split_authors,
    split_categories,
    text_field,
)
from papers.records import PaperRecord, RecordError


def record_from_fields(
    fields: Mapping[str, Any], source: str, *, split_commas: bool = True
) -> PaperRecord | RecordError:
    """Map the documented field names to a record (shared with the CSV parser)."""
    given = fields.get("links")
    links: dict[str, Any] = dict(given) if isinstance(given, Mapping) else {}
    for key, field in (("url", "url"), ("pdf", "pdf_url")):
        if value := text_field(fields, field):
            links[key] = value
    return build_record(
        source=source,
        title=text_field(fields, "title"),
        abstract=text_field(fields, "abstract", "summary", "text"),
        authors=split_authors(fields.get("authors"), split_commas=split_commas),
        categories=split_categories(fields.get("categories")),
        published=text_field(fields, "published", "date"),
        arxiv_id=text_field(fields, "arxiv_id", "id"),
        doi=text_field(fields, "doi"),
        links=links,
        journal_ref=text_field(fields, "journal_ref", "journal-ref"),
        license=text_field(fields, "license"),
    )


def parse(stream: BinaryIO, name: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one record or error per non-blank line of ``stream``."""
    for item in json_objects(stream, name):
        if isinstance(item, RecordError):
            yield item
        else:
            yield record_from_fields(item[1], item[0])
