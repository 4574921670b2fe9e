"""Spelling correction against the collection's own words (symspellpy).

Only a word the collection does not hold is ever corrected, and only to a word it holds (at
least SPELLING_MIN_COUNT times, search/keyword.py): "segmantation of medical imags" becomes
"segmentation of medical images", while a rare but real term ("SciFact", "Timofte") is left
alone. The dictionary is the build's ``keyword/words.txt``, loaded once per process and build.

How far a correction may reach grows with the word: short random strings are one or two edits
away from many real words, so words under five letters are never corrected and words under
nine get one edit. The nonsense benchmark (docs/relevance.md) checks that random letter strings
still find nothing.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.keyword import KeywordIndex, _stopwords, stem

_WORD = re.compile(r"(?u)\b[^\W\d_]+\b")
MIN_LENGTH = 5  # shorter words are never corrected
TWO_EDITS_FROM = 9  # words this long may be two edits away
_lock = threading.Lock()


@dataclass(frozen=True)
class Correction:
    """A query with its misspelt words replaced; ``changed`` lists (typed, corrected)."""

    original: str
    corrected: str
    changed: tuple[tuple[str, str], ...]

    def __bool__(self) -> bool:
        return bool(self.changed)


@functools.lru_cache(maxsize=2)
def _speller(words_file: Path) -> Any:
    from symspellpy import SymSpell

    # A prefix of 5 finds the same corrections as 7 at a fraction of the memory (docs/relevance.md).
    speller = SymSpell(max_dictionary_edit_distance=2, prefix_length=5)
    speller.load_dictionary(str(words_file), term_index=0, count_index=1, separator=" ", encoding="utf-8")
    return speller


def forget_loaded() -> None:
    """Drop the dictionaries loaded so far (the next ``speller_for`` loads again; for measuring)."""
    _speller.cache_clear()


def speller_for(index: KeywordIndex) -> Any:
    """The build's SymSpell dictionary, loaded on first use (None for a build without words)."""
    if index.words_file is None:
        return None
    with _lock:  # one load per process, even when two requests ask at once
        return _speller(index.words_file)


def _known(word: str, index: KeywordIndex) -> bool:
    lowered = word.lower()
    return lowered in _stopwords() or index.holds(stem(lowered))


def correct(query: str, index: KeywordIndex | None) -> Correction:
    """The query with each word the collection lacks replaced by its closest frequent word."""
    if index is None or not query.strip():
        return Correction(query, query, ())
    candidates = [m for m in _WORD.finditer(query) if len(m.group()) >= MIN_LENGTH and not _known(m.group(), index)]
    if not candidates:
        return Correction(query, query, ())
    speller = speller_for(index)
    if speller is None:
        return Correction(query, query, ())
    from symspellpy import Verbosity

    out: list[str] = []
    changed: list[tuple[str, str]] = []
    position = 0
    for match in candidates:
        word = match.group()
        reach = 2 if len(word) >= TWO_EDITS_FROM else 1
        found = speller.lookup(word.lower(), Verbosity.CLOSEST, max_edit_distance=reach, transfer_casing=True)
        if not found or found[0].distance == 0:
            continue
        # Among the closest, the most frequent word wins (symspellpy sorts them so).
        replacement = found[0].term
        out.append(query[position : match.start()])
        out.append(replacement)
        position = match.end()
        changed.append((word, replacement))
    out.append(query[position:])
    return Correction(query, "".join(out), tuple(changed))


def suggestions(query: str, index: KeywordIndex | None, *, limit: int = 3) -> list[str]:
    """Other searches to offer when a query found nothing: its words spelt as the collection
    spells them (reaching further than ``correct``), and the query without the words the
    collection lacks."""
    if index is None or not query.strip():
        return []
    words = list(_WORD.finditer(query))
    unknown = [m for m in words if len(m.group()) >= 3 and not _known(m.group(), index)]
    if not unknown:
        return []
    found: list[str] = []
    speller = speller_for(index)
    if speller is not None:
        from symspellpy import Verbosity

        out, position = [], 0
        for match in unknown:
            near = speller.lookup(match.group().lower(), Verbosity.CLOSEST, max_edit_distance=2, transfer_casing=True)
            if near and near[0].distance:
                out += [query[position : match.start()], near[0].term]
                position = match.end()
        spelt = "".join(out) + query[position:]
        if out and spelt != query:
            found.append(spelt)
    kept = " ".join(m.group() for m in words if m not in unknown)
    if kept and kept != query and len(words) > len(unknown):
        found.append(kept)
    return list(dict.fromkeys(found))[:limit]
