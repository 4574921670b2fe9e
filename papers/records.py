"""What importers produce: plain records, no ORM (the parse step of the data flow).

Every field has a size limit (``LIMITS``). ``build_record`` in ``papers.importers.common``
enforces them: a value over its limit is cut (or dropped) and the record carries a warning
saying so, so the rest of the record is still imported and the import report names the line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Character limits per field. arXiv caps abstracts at 1,920 characters and titles far below
# 1,000; the largest abstract in the shipped benchmark corpora is under 10,000 characters.
# Large collaborations list thousands of authors: the first 1,000 are kept.
LIMITS = {
    "title": 1_000,
    "abstract": 20_000,
    "author": 300,  # one name
    "authors": 1_000,  # names per paper
    "category": 64,
    "categories": 30,
    "link": 2_000,  # one URL
    "links": 20,
    "journal_ref": 500,
    "license": 300,
}


@dataclass(frozen=True, slots=True)
class PaperRecord:
    """One paper as read from a file or a harvest, before dedup and storage."""

    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    published: dt.date | None = None
    arxiv_id: str = ""  # normalised: no version suffix, no URL prefix
    doi: str = ""  # normalised: lower case, no resolver prefix
    links: dict[str, str] = field(default_factory=dict)  # e.g. {"pdf": "...", "html": "..."}; http(s) only
    source: str = ""  # "file:line" where the record came from
    journal_ref: str = ""
    license: str = ""  # a licence URL, as arXiv gives it
    revised: dt.date | None = None  # the date of the latest version, when the source says
    warnings: tuple[str, ...] = ()  # fields that could not be read or were cut (the rest is imported)


@dataclass(frozen=True, slots=True)
class RecordError:
    """A record that could not be read; reported as ``source: reason`` and skipped."""

    source: str  # "file:line"
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"
