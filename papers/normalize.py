"""Identifier and title normalisation used for dedup (pure functions)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

_ARXIV_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?(?:export\.)?arxiv\.org/(?:abs|pdf|html)/|^arxiv:\s*", re.I)
_ARXIV_NEW = re.compile(r"^(\d{4}\.\d{4,5})(?:v\d+)?(?:\.pdf)?$", re.I)
_ARXIV_OLD = re.compile(r"^([a-z][a-z\-]*)(\.[a-z]{2})?/(\d{7})(?:v\d+)?(?:\.pdf)?$", re.I)
_DOI_URL = re.compile(r"^(?:https?://)?(?:dx\.|www\.)?doi\.org/", re.I)
_DOI_LABEL = re.compile(r"^doi:\s*", re.I)
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_arxiv_id(value: str) -> str:
    """Return the arXiv id without URL prefix or version suffix, or "" if it is not one."""
    value = _ARXIV_PREFIX.sub("", (value or "").strip()).strip("/")
    # Keep the id alone when a citation follows it: "2301.00001 [cs.LG]".
    value = (value.split() or [""])[0]
    if match := _ARXIV_NEW.match(value):
        return match.group(1)
    if match := _ARXIV_OLD.match(value):
        # Old-style ids are written "hep-th/9901001" and "math.GT/0309136"; fix the case so
        # the same paper always gets the same key.
        archive, subject, number = match.groups()
        return f"{archive.lower()}{(subject or '').upper()}/{number}"
    return ""


def normalize_doi(value: str) -> str:
    """Return a DOI in lower case without resolver prefix, or "" if it is not one."""
    value = (value or "").strip()
    if _DOI_URL.match(value):
        value = unquote(_DOI_URL.sub("", value))  # resolver URLs percent-encode the DOI
    value = _DOI_LABEL.sub("", value)
    # A DOI has no spaces; some sources list several DOIs in one field: keep the first.
    value = (value.split() or [""])[0]
    return value.lower() if value.startswith("10.") and "/" in value else ""


def normalize_title(value: str) -> str:
    """Casefolded title with accents, punctuation and runs of space removed (dedup key)."""
    value = unicodedata.normalize("NFKD", value or "")
    value = "".join(ch for ch in value if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", value.casefold()).split())
