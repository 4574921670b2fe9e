"""An OAI-PMH ``ListRecords`` page in arXiv's own metadata format (``metadataPrefix=arXiv``).

What the harvester (``harvest``) receives page by page, and what ``import_papers`` reads from a
saved page. Per ``<record>``: the header's datestamp (and ``status="deleted"``), and from
``<arXiv xmlns="http://arxiv.org/OAI/arXiv/">``: id, created (the first version: ``published``),
updated (the latest version: ``revised``), authors as keyname + forenames (+ suffix), title,
abstract, categories (space separated, primary first), doi, journal-ref and license. Titles
and abstracts are hard-wrapped in arXiv's metadata, so runs of whitespace are collapsed.

The page is parsed strictly (lxml without recovery, no entities, no network): a malformed page
is an error for the whole page, never a silently shortened list of records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from papers.importers.common import build_record, collapse_space, parse_date
from papers.records import PaperRecord, RecordError

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
MAX_PAGE_BYTES = 64 * 1024 * 1024  # arXiv pages hold 1,000 records, a few MB


class MalformedPage(ValueError):
    """The page is not well-formed OAI-PMH XML."""


@dataclass
class Page:
    """One ListRecords page: records (or errors), their datestamps, and how the list goes on."""

    records: list[PaperRecord | RecordError] = field(default_factory=list)
    datestamps: list[str] = field(default_factory=list)  # of every record, deleted ones included
    deleted: list[str] = field(default_factory=list)  # arXiv ids the source marks deleted
    token: str = ""  # the resumption token: "" when this is the last page
    complete_size: int | None = None
    error: tuple[str, str] | None = None  # an OAI-PMH <error code="...">: (code, message)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(recover=False, resolve_entities=False, no_network=True, huge_tree=False)


def _text(element: etree._Element | None, path: str) -> str:
    return collapse_space(element.findtext(path) or "") if element is not None else ""


def _authors(metadata: etree._Element) -> tuple[str, ...]:
    names = []
    for author in metadata.iterfind(f"{ARXIV}authors/{ARXIV}author"):
        parts = (_text(author, f"{ARXIV}forenames"), _text(author, f"{ARXIV}keyname"), _text(author, f"{ARXIV}suffix"))
        if name := collapse_space(" ".join(p for p in parts if p)):
            names.append(name)
    return tuple(names)


def record_from_metadata(metadata: etree._Element, source: str) -> PaperRecord | RecordError:
    """Map one ``<arXiv>`` metadata element to a record."""
    arxiv_id = _text(metadata, f"{ARXIV}id")
    if not arxiv_id:
        return RecordError(source, "arXiv record without an <id>")
    created, updated = _text(metadata, f"{ARXIV}created"), _text(metadata, f"{ARXIV}updated")
    record = build_record(
        source=source,
        title=_text(metadata, f"{ARXIV}title"),
        abstract=_text(metadata, f"{ARXIV}abstract"),
        authors=_authors(metadata),
        categories=tuple(dict.fromkeys(_text(metadata, f"{ARXIV}categories").split())),
        published=created,
        arxiv_id=arxiv_id,
        doi=_text(metadata, f"{ARXIV}doi"),
        journal_ref=_text(metadata, f"{ARXIV}journal-ref"),
        license=_text(metadata, f"{ARXIV}license"),
        revised=parse_date(updated) or parse_date(created),
    )
    if isinstance(record, PaperRecord) and not record.arxiv_id:
        return RecordError(source, f"not an arXiv id: {arxiv_id[:60]!r}")
    return record


def parse_page(content: bytes, name: str) -> Page:
    """Parse one page. Raises MalformedPage when it is not well-formed XML."""
    if len(content) > MAX_PAGE_BYTES:
        raise MalformedPage(f"{name}: page larger than {MAX_PAGE_BYTES // 1048576} MB")
    try:
        root = etree.fromstring(content, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedPage(f"{name}: not well-formed XML ({exc})") from exc
    if root.tag != f"{OAI}OAI-PMH":
        raise MalformedPage(f"{name}: not an OAI-PMH response (root element {root.tag!r})")
    page = Page()
    if (error := root.find(f"{OAI}error")) is not None:
        page.error = (error.get("code", ""), collapse_space(error.text or ""))
        return page
    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        raise MalformedPage(f"{name}: no ListRecords element")
    for number, record in enumerate(listing.iterfind(f"{OAI}record"), start=1):
        header = record.find(f"{OAI}header")
        identifier = _text(header, f"{OAI}identifier") or f"record {number}"
        source = f"{name}:{identifier}"
        page.datestamps.append(_text(header, f"{OAI}datestamp"))
        if header is not None and header.get("status") == "deleted":
            page.deleted.append(identifier.rsplit(":", 1)[-1])
            continue
        metadata = record.find(f"{OAI}metadata/{ARXIV}arXiv")
        if metadata is None:
            page.records.append(RecordError(source, "record without arXiv metadata"))
            continue
        page.records.append(record_from_metadata(metadata, source))
    token = listing.find(f"{OAI}resumptionToken")
    if token is not None:
        page.token = (token.text or "").strip()
        size = token.get("completeListSize")
        page.complete_size = int(size) if size and size.isdigit() else None
    return page


def parse(stream: BinaryIO, name: str) -> Iterator[PaperRecord | RecordError]:
    """Yield the records of a saved ListRecords page (``import_papers --format arxiv-oai``)."""
    content = stream.read(MAX_PAGE_BYTES + 1)
    try:
        page = parse_page(content, name)
    except MalformedPage as exc:
        yield RecordError(f"{name}:1", str(exc).removeprefix(f"{name}: "))
        return
    if page.error:
        yield RecordError(f"{name}:1", f"OAI-PMH error {page.error[0]}: {page.error[1]}")
    yield from page.records
