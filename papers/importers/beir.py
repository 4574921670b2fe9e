"""A BEIR corpus (``corpus.jsonl``): ``{"_id", "title", "text", "metadata"}`` per line.

``text`` is the abstract. Some corpora leave ``title`` empty; then the first sentence of the
text (at most about 200 characters) stands in as the title. The BEIR ``_id`` is kept as
``links["beir_id"]``, which evaluation uses to match search hits with the qrels. From
``metadata`` only an ``authors`` list, ``doi`` and ``url`` are read; the rest differs
between corpora.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from papers.importers.common import build_record, json_objects, split_authors, text_field
from papers.records import PaperRecord, RecordError

MAX_TITLE_CHARS = 200
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def first_sentence(text: str) -> str:
    """The first sentence of ``text``, cut at a word boundary if it runs past ~200 chars."""
    match = _SENTENCE_END.search(text)
    sentence = text[: match.end()] if match else text
    if len(sentence) <= MAX_TITLE_CHARS:
        return sentence
    cut = sentence[:MAX_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def record_from_doc(doc: dict[str, Any], source: str) -> PaperRecord | RecordError:
    """Map one BEIR document to a record."""
    beir_id = text_field(doc, "_id")
    if not beir_id:
        return RecordError(source, "missing _id")
    text = text_field(doc, "text")
    metadata = doc.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return build_record(
        source=source,
        title=text_field(doc, "title") or first_sentence(text),
        abstract=text,
        authors=split_authors(metadata.get("authors")) if isinstance(metadata.get("authors"), list) else (),
        doi=text_field(metadata, "doi"),
        links={"beir_id": beir_id, "url": text_field(metadata, "url")},
    )


def parse(stream: BinaryIO, name: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one record or error per non-blank line of ``stream``."""
    for item in json_objects(stream, name):
        if isinstance(item, RecordError):
            yield item
        else:
            yield record_from_doc(item[1], item[0])
