"""Where a paper's field values came from: a source (which, when) or a curator (who, when).

``Paper.provenance`` maps a field name to one entry::

    {"origin": "source", "source": "arxiv-sample-300.jsonl", "record": "arxiv-sample-300.jsonl:12", "at": "..."}
    {"origin": "curator", "by": "alice", "at": "...", "source_says": {"value": ..., "source": ..., "at": ...}}

A field with no entry was stored before provenance was kept (or is empty). Curation wins:
an import or harvest never writes a curated field; when its source later carries another value,
that value waits under ``source_says`` for a curator to accept it. Pure functions, no ORM.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# The fields an import or harvest writes, in the order the admin shows them.
TRACKED: tuple[str, ...] = (
    "title",
    "abstract",
    "authors",
    "categories",
    "published",
    "revised",
    "arxiv_id",
    "doi",
    "journal_ref",
    "license",
    "links",
)
DATE_FIELDS = frozenset({"published", "revised"})
Provenance = dict[str, dict[str, Any]]


def stamp(now: dt.datetime | None = None) -> str:
    """An ISO timestamp (UTC, seconds) for provenance entries."""
    return (now or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()


def from_source(*, source: str, record: str, at: str) -> dict[str, Any]:
    return {"origin": "source", "source": source, "record": record, "at": at}


def from_curator(*, by: str, at: str, note: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {"origin": "curator", "by": by, "at": at}
    if note:
        entry["note"] = note
    return entry


def is_curated(provenance: Provenance, name: str) -> bool:
    return (provenance.get(name) or {}).get("origin") == "curator"


def source_of(provenance: Provenance, name: str) -> str | None:
    """The source that set ``name``, or None when a curator did or nobody knows."""
    entry = provenance.get(name) or {}
    return entry.get("source") if entry.get("origin") == "source" else None


def to_json(value: Any) -> Any:
    """A field value as JSON (dates as ISO strings; lists and dicts as they are)."""
    return value.isoformat() if isinstance(value, dt.date) else value


def from_json(name: str, value: Any) -> Any:
    """The inverse of ``to_json`` for field ``name``."""
    if name in DATE_FIELDS and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def pending(provenance: Provenance) -> dict[str, dict[str, Any]]:
    """Curated fields whose source now says something else: ``{field: source_says}``."""
    return {
        name: entry["source_says"]
        for name in TRACKED
        if (entry := provenance.get(name) or {}).get("origin") == "curator" and entry.get("source_says")
    }
