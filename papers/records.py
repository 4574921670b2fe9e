"""What importers produce: plain records, no ORM (the parse step of the data flow)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PaperRecord:
    """One paper as read from a file, before dedup and storage."""

    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    published: dt.date | None = None
    arxiv_id: str = ""  # normalised: no version suffix, no URL prefix
    doi: str = ""  # normalised: lower case, no resolver prefix
    links: dict[str, str] = field(default_factory=dict)  # e.g. {"pdf": "...", "html": "..."}
    source: str = ""  # "file:line" where the record came from


@dataclass(frozen=True, slots=True)
class RecordError:
    """A record that could not be read; reported as ``source: reason`` and skipped."""

    source: str  # "file:line"
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"
