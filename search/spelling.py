"""Spelling correction against the collection's own words (symspellpy).

Only a word the collection does not hold is ever corrected, and only to a word it holds (at
least SPELLING_MIN_COUNT times, search/keyword.py): "segmantation of medical images" becomes
"segmentation of medical images", while a rare but real term ("SciFact", "Timofte") is left
alone. Words are compared by stem, so a slip that keeps a real word's stem ("imags", stemmed
as "images" is) already matches and is left as typed. The dictionary is the build's
``keyword/words.txt``, loaded once per process and build.

How far a correction may reach grows with the word: short random strings are one or two edits
away from many real words, so words under five letters are never corrected and words under
nine get one edit. The nonsense benchmark (docs/relevance.md) checks that random letter strings
still find nothing.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from search.keyword import KeywordIndex, SortedVocab, _stopwords, stem

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


# symspellpy's own dictionary keeps every word and, for each "delete" of a word's first
# PREFIX_LENGTH letters, a Python list of the words it came from: ~59 MB of objects in every web
# process at 135k words (the 2.6M benchmark's vocabulary; docs/scale.md). Its lookup only asks that
# dictionary ``in`` and ``[]``, so it runs unchanged over ``_Words`` and ``_Deletes`` below: the same
# facts in a few numpy arrays (~6 MB at 135k words). Deletes depend only on a word's prefix, so
# they are stored once per distinct prefix, and each list is rebuilt in the file's order (the
# order symspellpy appends in, which decides ties) when a lookup asks for it. symspellpy is
# pinned; tests/search/test_compact_spelling_dictionary_answers_exactly_as_symspellpy_does.py
# compares every answer with symspellpy's own dictionary.
PREFIX_LENGTH = 5  # a prefix of 5 finds the same corrections as 7 at a fraction of the memory (docs/relevance.md)
MAX_DISTANCE = 2


class _Sorted(Mapping[str, Any]):
    """A read-only mapping whose keys are a byte-sorted vocabulary (``keys_vocab``); subclasses
    say what a key's rank maps to (``_value``)."""

    keys_vocab: SortedVocab

    def _value(self, rank: int) -> Any:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        rank = self.keys_vocab.get(key)
        if rank is None:
            raise KeyError(key)
        return self._value(rank)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.keys_vocab.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys_vocab.terms())

    def __len__(self) -> int:
        return len(self.keys_vocab)


class _Words(_Sorted):
    """word -> count over a byte-sorted vocabulary and its counts."""

    def __init__(self, vocab: SortedVocab, counts: np.ndarray) -> None:
        self.keys_vocab, self.counts = vocab, counts

    def _value(self, rank: int) -> int:
        return int(self.counts[rank])


class _Deletes(_Sorted):
    """delete -> the words (in the file's order) whose prefix yields it: delete -> prefixes ->
    their words' file positions, merged and sorted on request."""

    def __init__(self, keys: SortedVocab, key_prefixes: tuple[np.ndarray, np.ndarray],
                 prefix_words: tuple[np.ndarray, np.ndarray], rank_of: np.ndarray, vocab: SortedVocab) -> None:
        self.keys_vocab, self.key_prefixes, self.prefix_words = keys, key_prefixes, prefix_words
        self.rank_of, self.vocab = rank_of, vocab

    def _value(self, rank: int) -> list[str]:
        indptr, prefixes = self.key_prefixes
        starts, members = self.prefix_words
        groups = [members[starts[p] : starts[p + 1]] for p in prefixes[indptr[rank] : indptr[rank + 1]].tolist()]
        positions = np.sort(np.concatenate(groups)) if len(groups) > 1 else groups[0]
        return [self.vocab.term(word) for word in self.rank_of[positions].tolist()]

    @property
    def nbytes(self) -> int:
        arrays = (*self.key_prefixes, *self.prefix_words, self.rank_of, self.keys_vocab.blob, self.keys_vocab.offsets)
        return sum(a.nbytes for a in arrays)


def _csr(groups: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, members) of ``0..len(groups)-1`` grouped by ``groups`` (members ascending)."""
    order = np.argsort(groups, kind="stable")
    indptr = np.zeros(count + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(groups, minlength=count))
    return indptr, order.astype(np.int32)


def _bytes_sorted(terms: list[str]) -> tuple[SortedVocab, np.ndarray]:
    """(vocabulary of ``terms`` in UTF-8 byte order, each term's rank in it)."""
    encoded = [t.encode("utf-8") for t in terms]
    order = sorted(range(len(terms)), key=encoded.__getitem__)
    rank_of = np.empty(len(terms), dtype=np.int32)
    rank_of[order] = np.arange(len(terms), dtype=np.int32)
    blob, offsets = SortedVocab.arrays([terms[i] for i in order])
    return SortedVocab(blob, offsets), rank_of


def load_dictionary(words_file: Path) -> Any:
    """A SymSpell over ``words_file`` ("word count" lines, most frequent first) whose dictionary
    is held in arrays; ``lookup`` answers exactly as symspellpy's ``load_dictionary`` would."""
    from symspellpy import SymSpell

    speller = SymSpell(max_dictionary_edit_distance=MAX_DISTANCE, prefix_length=PREFIX_LENGTH)
    words: list[str] = []
    counts: list[int] = []
    with open(words_file, encoding="utf-8") as handle:
        for line in handle:
            word, _, count = line.rstrip("\n").rpartition(" ")
            # As symspellpy's loader: no word with a count below 1; a repeated word sums its counts.
            if word and count.isdigit() and int(count) > 0:
                words.append(word)
                counts.append(int(count))
    words, counts = _summed(words, counts)
    vocab, rank_of = _bytes_sorted(words)
    by_rank = np.zeros(len(words), dtype=np.int64)
    by_rank[rank_of] = counts
    prefix_list = [w[:PREFIX_LENGTH] for w in words]
    distinct = list(dict.fromkeys(prefix_list))
    prefix_id = {p: i for i, p in enumerate(distinct)}
    word_prefix = np.fromiter((prefix_id[p] for p in prefix_list), dtype=np.int64, count=len(words))
    edits: dict[str, list[int]] = {}
    for i, prefix in enumerate(distinct):
        # symspellpy's own delete generation (a word's deletes are its prefix's).
        for delete in speller._edits_prefix(prefix):
            edits.setdefault(delete, []).append(i)
    keys, key_rank = _bytes_sorted(list(edits))
    key_of_pair = np.repeat(key_rank, [len(v) for v in edits.values()]).astype(np.int64)
    prefix_of_pair = np.fromiter((i for v in edits.values() for i in v), dtype=np.int32, count=len(key_of_pair))
    indptr, order = _csr(key_of_pair, len(keys))
    speller._words = _Words(vocab, by_rank)
    speller._deletes = _Deletes(
        keys, (indptr, prefix_of_pair[order]), _csr(word_prefix, len(distinct)), rank_of, vocab
    )
    speller._max_length = max((len(w) for w in words), default=0)
    return speller


def _summed(words: list[str], counts: list[int]) -> tuple[list[str], list[int]]:
    """Each word once, at its first place, with the sum of its counts."""
    total: dict[str, int] = {}
    for word, count in zip(words, counts, strict=True):
        total[word] = total.get(word, 0) + count
    return list(total), list(total.values())


@functools.lru_cache(maxsize=2)
def _speller(words_file: Path) -> Any:
    return load_dictionary(words_file)


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
