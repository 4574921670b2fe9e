"""Keyword retrieval: BM25 over "title. abstract" in immutable segments, built with the vectors.

The keyword index lives in the same immutable build directory as the vector index and is listed
in the same manifest, so both always describe the same papers (invariant 3). Ids are Paper
primary keys; nothing is pickled (``.npy`` loaded with ``allow_pickle=False``, and JSON).

Segments (docs/scale.md, "Keyword index"): each holds the term frequencies and document lengths
of some papers in bm25s's sparse column layout (terms sorted, one posting list per term), never
changed once written. BM25 is computed at query time from collection-wide statistics (live
document count, document frequencies, average length), so the scores equal those of one index
over the whole collection. An incremental build writes one new segment for the papers added or
changed, marks removed papers' positions in ``ids.npy`` (-1) and hard-links every other segment
from its base build; small segments are merged when the newer ones together grow as large as
the one before them (``merge_plan``), which also drops the removed papers for good.

Text analysis is ours rather than ``bm25s.tokenize`` so that highlighting (search/explain.py)
can find exactly the words that matched: lower-case word tokens of two or more characters,
English stop words removed, Snowball (Porter2) stems from PyStemmer.
"""

from __future__ import annotations

import array
import functools
import hashlib
import itertools
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numba
import numpy as np

from search.vector_index import sorted_lookup

SUBDIR = "keyword"
AUTHORS_SUBDIR = "keyword/authors"
IDS_FILE = "ids.npy"  # paper id of every position, -1 where a paper was removed since its segment
SEGMENTS_FILE = "segments.json"  # the segments in position order, BM25 parameters, live totals
# Written only when the live ids are not ascending (after an incremental build): the live ids
# sorted and their positions, binary-searched, memory-mapped.
ORDER_FILES = ("ids.sorted.npy", "ids.order.npy")
WORDS_FILE = "words.txt"
WORD_COUNTS_FILE = "words.counts.txt"  # every word's count; an incremental build adds to it
# Exact-title lookup without the database: 64-bit hashes of each paper's normalised title,
# sorted, with the paper ids in the same order (binary-searched, memory-mapped).
TITLE_FILES = ("titles.hash.npy", "titles.ids.npy")
# Spelling suggestions: words of four or more letters seen at least three times. At 115k papers
# that is ~69k words, which symspellpy loads in ~3 s and ~31 MB per process (docs/relevance.md).
SPELLING_MIN_COUNT = 3
_WORD = re.compile(r"(?u)\b[^\W\d_]{4,}\b")
# A segment: its papers' ids, its vocabulary as sorted UTF-8 terms (one byte blob + offsets;
# a term's id is its rank), the posting lists (CSC: indptr per term, local document numbers,
# term frequencies) and every document's length in tokens.
VOCAB_FILES = ("vocab.terms.npy", "vocab.offsets.npy")
SEGMENT_FILES = (IDS_FILE, *VOCAB_FILES, "postings.indptr.npy", "postings.docs.npy", "postings.tfs.npy", "lengths.npy")
# A segment is merged with the newer ones after it once they hold at least 1/MERGE_RATIO of its
# live papers, or once this share of its papers were removed.
MERGE_RATIO = 1.0
# A full build indexes the collection in slices of this many papers, one segment each (memory).
FULL_BUILD_SEGMENT = 250_000
MERGE_DEAD_SHARE = 0.25
# Same token pattern as bm25s's default tokenizer: words of two or more characters.
TOKEN = re.compile(r"(?u)\b\w\w+\b")
# ``top`` first takes the k-th best score among every SAMPLE_STRIDE-th paper (a lower bound of the
# k-th best of all), so only the papers scoring at least that are partitioned, not every match.
SAMPLE_STRIDE = 64


# The scoring loop, compiled (numba) rather than numpy fancy indexing: ``a[docs] += x`` gathers,
# adds and scatters through temporaries, ~11 ns a posting; one fused loop over a posting list adds
# a paper's BM25 part and its idf share together in ~5 ns (2.1M postings a query at 2.6M papers:
# 33 ms became 10, docs/scale.md). float32 arithmetic in the same order as the numpy expression
# it replaced, so the scores are bit-for-bit those of bm25s's float32 formula. ``nogil``: a web
# process's threads score in parallel. Compiled on first use, ~0.5 s, or by ``compile_kernels``
# (gunicorn's master, before it forks); not cached on disk, so nothing needs a writable code
# directory.
#
# The loop goes a block of SCORE_BLOCK papers at a time, every query term's postings within the
# block before the next block (each term's place kept in ``cursor``), so a block's scores, shares
# and lengths are reused from cache by all the terms instead of read once per term over the whole
# segment. Each paper still gets its terms' parts in query order, so the sums are the same bit for
# bit. The gain is modest (2.6M papers: p50 16.1 -> 13.6 ms, p99 30.1 -> 33.7, docs/scale.md
# "Run 12"): the scattered add per posting, not memory traffic, is most of the cost. The loop also
# zeroes each block as it starts it, so the arrays need no zeroing pass of their own (two 10 MB
# memsets a query at 2.6M papers; docs/scale.md "Run 13").
SCORE_BLOCK = 16_384
# Length norms are computed a block at a time when a segment has at least this many of the query's
# postings per paper (below it, per posting: a rare word's few postings need few norms).
BLOCK_NORMS_SHARE = 0.25


def _uninitialised(size: int) -> np.ndarray:
    """A float32 array of ``size`` whose every entry the caller writes (``_add_blocked`` zeroes the
    blocks it scores; ``_accumulate`` the windows of segments it skips). Its own function so the
    test can hand out NaN-filled arrays instead and prove no entry is left unwritten."""
    return np.empty(size, dtype=np.float32)


@numba.njit(nogil=True, boundscheck=False)
def _add_blocked(
    scores: np.ndarray, coverage: np.ndarray, docs: np.ndarray, tfs: np.ndarray, lengths: np.ndarray,
    starts: np.ndarray, ends: np.ndarray, weights: np.ndarray, shares: np.ndarray,
    k1: np.float32, base: np.float32, b: np.float32, average: np.float32, block: int, with_scores: bool, with_coverage: bool,
    total: np.float32, block_norms: bool, first: int, last: int,
) -> None:
    # Papers [first, last) of the segment only (a part of the pass, ``_run_parts``): each term's
    # place starts at its first posting at or past ``first``, found by binary search.
    cursor = starts.copy()
    if first > 0:
        for t in range(cursor.shape[0]):
            cursor[t] += np.searchsorted(docs[starts[t]:ends[t]], first)
    norms = np.empty(block if with_scores and block_norms else 0, dtype=np.float32)
    size = min(lengths.shape[0], last)
    for low in range(first, size, block):
        high = min(low + block, size)
        # The arrays come uninitialised (``_uninitialised``): each block is zeroed here, while
        # its terms are about to add into it, instead of in a separate pass over every paper.
        if with_scores:
            scores[low:high] = 0
            # ``block_norms`` (the postings are dense in this segment): each paper's length norm
            # once per block in a straight loop the compiler vectorises, not once per posting
            # (~12% of the loop's time). The same float32 operations either way, so the same bits.
            if block_norms:
                for doc in range(low, high):
                    norms[doc - low] = k1 * (base + b * np.float32(lengths[doc]) / average)
        if with_coverage:
            coverage[low:high] = 0
        for t in range(cursor.shape[0]):
            i = cursor[t]
            end = ends[t]
            weight = weights[t]
            share = shares[t]
            while i < end:
                doc = docs[i]
                if doc >= high:
                    break
                if with_scores:
                    tf = tfs[i]
                    if block_norms:
                        norm = norms[doc - low]
                    else:
                        norm = k1 * (base + b * np.float32(lengths[doc]) / average)
                    scores[doc] += weight * tf / (norm + tf)
                if with_coverage:
                    coverage[doc] += share
                i += 1
            cursor[t] = i
        # The block's coverage is complete: divided by the query's whole weight while in cache.
        if with_coverage and total > 0:
            coverage[low:high] /= total


# Two threads can share one query's pass: it is cut into parts of PART_PAPERS papers (whole
# blocks, so each paper is still scored by one loop, its terms in query order: the same bits),
# which the caller and one helper thread take in turn. A 2-core web worker serving one search
# otherwise leaves a core idle once the floor's dense search beside it is done (docs/scale.md
# "Run 15"). Parts are taken, not assigned, so a helper that starts late (its pool busy with other
# requests) takes fewer or none, and the caller never waits for it to start.
PART_PAPERS = 4 * SCORE_BLOCK
Beside = Callable[..., "Future[None]"]


def _run_parts(parts: Sequence[tuple[tuple[Any, ...], int, int]], beside: Beside | None) -> None:
    """Run every part of a pass (``_add_blocked`` arguments, first and last paper): here, or here
    and on one thread ``beside`` starts, each part taken once."""
    taken = itertools.count()  # next() on a count is atomic under the GIL

    def take() -> None:
        while (n := next(taken)) < len(parts):
            arguments, first, last = parts[n]
            _add_blocked(*arguments, first, last)  # type: ignore[call-arg]  # numba stubs: a fixed-arity __call__

    helper = beside(take) if beside is not None and len(parts) > 1 else None
    try:
        take()
    finally:  # the helper never outlives the pass (nor its ranking's slot)
        if helper is not None and not helper.cancel():
            helper.result()  # it took a part: wait for it (and raise what it raised)


def compile_kernels() -> None:
    """Compile the scoring loop now (~1 s, once per process). gunicorn's master calls it before
    it forks (config/gunicorn.conf.py), so every web worker shares the compiled code and LLVM's
    memory instead of compiling its own (~30 MB of private memory each)."""
    for writable, block_norms in ((False, False), (False, True), (True, False), (True, True)):  # mapped or built in memory
        docs, tfs, lengths = np.zeros(1, dtype=np.int32), np.ones(1, dtype=np.float32), np.ones(1, dtype=np.int32)
        for values in (docs, tfs, lengths):
            values.setflags(write=writable)
        scores, shares, one = np.zeros(1, dtype=np.float32), np.zeros(1, dtype=np.float32), np.float32(1)
        span = np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64)
        _add_blocked(
            scores, shares, docs, tfs, lengths, *span, scores.copy(), shares.copy(), one, one, one, one, SCORE_BLOCK, True, True, one, block_norms, 0, 1,
        )


@functools.lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


# Bounded so a long-running web worker's memory is too: 20,000 words are ~4 MB, and the words
# of the abstracts shown on 200 result pages (17,600 distinct) fit.
@functools.lru_cache(maxsize=20_000)
def stem(word: str) -> str:
    """The index term of one lower-cased word."""
    return str(_stemmer().stemWord(word))


def word_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, index term) for every indexable word of ``text``; stop words are skipped."""
    stop = _stopwords()
    for match in TOKEN.finditer(text):
        word = match.group().lower()
        if word not in stop:
            yield match.start(), match.end(), stem(word)


def analyze(text: str) -> list[str]:
    """The index terms of a text, in order (what BM25 counts)."""
    return [term for _, _, term in word_spans(text)]


def _rank_of(blob: memoryview, offsets: memoryview, size: int, term: str) -> int | None:
    """The rank of ``term`` among ``size`` sorted UTF-8 terms, by binary search (None: absent)."""
    key = term.encode("utf-8")
    lo, hi = 0, size
    while lo < hi:
        mid = (lo + hi) // 2
        if bytes(blob[offsets[mid] : offsets[mid + 1]]) < key:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < size and bytes(blob[offsets[lo] : offsets[lo + 1]]) == key else None


class SortedVocab:
    """term -> rank over two memory-mapped arrays (see VOCAB_FILES), by binary search.

    No per-term Python dict: at 115k papers one was ~30 MB in every web process.
    """

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        # memoryviews over the mapped arrays: indexing gives plain ints and bytes, several times
        # faster than numpy scalars in the binary search.
        self.blob, self.offsets = blob, offsets
        self._blob = memoryview(np.ascontiguousarray(blob).data).cast("B")
        self._offsets = memoryview(np.ascontiguousarray(offsets, dtype=np.int64).data).cast("B").cast("q")
        self._size = len(offsets) - 1
        # A request looks its few terms up several times (scores, idf, highlighting). The cache
        # holds the arrays, not ``self``: a bound method there made a reference cycle, so a
        # dropped index (a builder's finished one) waited for the cyclic collector to go.
        self.get = functools.lru_cache(maxsize=4096)(functools.partial(_rank_of, self._blob, self._offsets, self._size))  # type: ignore[method-assign]

    @staticmethod
    def arrays(terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(blob, offsets) of terms already in UTF-8 byte order."""
        encoded = [t.encode("utf-8") for t in terms]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(e) for e in encoded])
        return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets

    def term(self, i: int) -> str:
        return bytes(self._blob[self._offsets[i] : self._offsets[i + 1]]).decode("utf-8")

    def terms(self) -> list[str]:
        return [self.term(i) for i in range(self._size)]

    def get(self, term: str) -> int | None:  # replaced per instance by a cached _rank_of
        return _rank_of(self._blob, self._offsets, self._size, term)

    def __contains__(self, term: str) -> bool:
        return self.get(term) is not None

    def __len__(self) -> int:
        return self._size


@dataclass
class Segment:
    """Postings of some papers, immutable once written (see SEGMENT_FILES)."""

    name: str
    ids: np.ndarray  # paper ids in local document order
    vocab: SortedVocab
    indptr: np.ndarray
    docs: np.ndarray  # int32 local document numbers, ascending within each term
    tfs: np.ndarray  # float32 term frequencies
    lengths: np.ndarray  # int32 tokens per document
    source: Path | None = None  # the directory it was loaded from: saved again as hard links

    def __len__(self) -> int:
        return len(self.ids)

    def span(self, term: str) -> tuple[int, int] | None:
        i = self.vocab.get(term)
        return None if i is None else (int(self.indptr[i]), int(self.indptr[i + 1]))

    @classmethod
    def build(cls, name: str, ids: np.ndarray, corpus: Iterable[Sequence[str]]) -> Segment:
        """A segment over token lists aligned with ``ids``, read once (a generator analysing texts
        as it goes holds one at a time): each token becomes a 4-byte term number as it is read,
        then one in-place sort of all postings (term, document) counts the frequencies.

        By hand rather than ``np.unique``: it copies the keys before sorting them and returns
        indices beside them, ~30 bytes a token more at the peak of a full build's slice."""
        ids = np.asarray(ids, dtype=np.int64)
        local: dict[str, int] = {}
        numbers, counts = array.array("i"), array.array("i")
        for doc in corpus:
            counts.append(len(doc))
            numbers.extend([local.setdefault(t, len(local)) for t in doc])
        size = max(len(counts), 1)
        lengths = np.array(counts, dtype=np.int32)
        terms = sorted(local, key=lambda t: t.encode("utf-8"))
        rank = np.empty(len(local), dtype=np.int64)
        rank[[local[t] for t in terms]] = np.arange(len(terms), dtype=np.int64)
        del local, counts
        keys = rank[np.frombuffer(numbers, dtype=np.int32)] if len(numbers) else np.zeros(0, dtype=np.int64)
        del numbers, rank
        keys *= size
        keys += np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)  # term-major, then document
        keys.sort()
        first = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        del first
        tfs = np.diff(starts, append=len(keys)).astype(np.float32)
        keys = keys[starts]
        del starts
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(np.bincount(keys // size, minlength=len(terms)))
        keys %= size
        docs = keys.astype(np.int32)
        del keys
        blob, offsets = SortedVocab.arrays(terms)
        return cls(name, ids, SortedVocab(blob, offsets), indptr, docs, tfs, lengths)

    @classmethod
    def merge(cls, name: str, segments: Sequence[Segment], live: Sequence[np.ndarray]) -> Segment:
        """One segment holding the live documents of ``segments``, in their order."""
        vocabularies = [s.vocab.terms() for s in segments]
        terms = sorted(set().union(*vocabularies), key=lambda t: t.encode("utf-8"))
        where_of = {t: i for i, t in enumerate(terms)}
        parts_term, parts_doc, parts_tf, parts_len, parts_ids = [], [], [], [], []
        offset = 0
        for segment, words, keep in zip(segments, vocabularies, live, strict=True):
            renumber = np.cumsum(keep) - 1 + offset
            term_of = np.repeat(np.asarray([where_of[t] for t in words], dtype=np.int64), np.diff(segment.indptr))
            alive = keep[segment.docs]
            parts_term.append(term_of[alive])
            parts_doc.append(renumber[segment.docs[alive]])
            parts_tf.append(np.asarray(segment.tfs)[alive])
            parts_len.append(np.asarray(segment.lengths)[keep])
            parts_ids.append(np.asarray(segment.ids)[keep])
            offset += int(keep.sum())
        term_of = np.concatenate(parts_term) if parts_term else np.zeros(0, dtype=np.int64)
        docs = np.concatenate(parts_doc) if parts_doc else np.zeros(0, dtype=np.int64)
        order = np.lexsort((docs, term_of))
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(np.bincount(term_of, minlength=len(terms)))
        blob, offsets = SortedVocab.arrays(terms)
        return cls(
            name, np.concatenate(parts_ids), SortedVocab(blob, offsets), indptr, docs[order].astype(np.int32),
            np.concatenate(parts_tf)[order].astype(np.float32), np.concatenate(parts_len).astype(np.int32),
        )

    def save(self, target: Path) -> None:
        """Write the segment's files into ``target`` (hard links when it came from disk)."""
        target.mkdir(parents=True, exist_ok=True)
        if self.source is not None and self.source.resolve() == target.resolve():
            return  # written there already (a full build's slices, ``_written``)
        if self.source is not None:
            for name in SEGMENT_FILES:
                os.link(self.source / name, target / name)
            return
        arrays = (self.ids, self.vocab.blob, self.vocab.offsets, self.indptr, self.docs, self.tfs, self.lengths)
        for name, values in zip(SEGMENT_FILES, arrays, strict=True):
            np.save(target / name, np.asarray(values), allow_pickle=False)

    @classmethod
    def load(cls, name: str, source: Path, *, mmap: bool = True) -> Segment:
        mode: Literal["r"] | None = "r" if mmap else None
        ids, blob, offsets, indptr, docs, tfs, lengths = (
            np.load(source / file, mmap_mode=mode, allow_pickle=False) for file in SEGMENT_FILES
        )
        if len(lengths) != len(ids) or len(indptr) != len(offsets) or len(docs) != len(tfs) or int(indptr[-1]) != len(docs):
            raise ValueError(f"segment {name} is inconsistent")
        return cls(name, ids, SortedVocab(blob, offsets), indptr, docs, tfs, lengths, source=source)


def merge_plan(live: Sequence[int], dead: Sequence[int]) -> int:
    """Index of the first segment to merge with all those after it; ``len(live)`` for none.

    Going back from the newest, a segment joins the merge while it holds at most MERGE_RATIO
    times the live papers of the segments after it (sizes stay geometric, so a paper is
    rewritten O(log n) times, amortised) or while MERGE_DEAD_SHARE of its papers were removed.
    """
    count = len(live)
    start = count - 1
    while start > 0:
        before = start - 1
        total = live[before] + dead[before]
        if live[before] <= MERGE_RATIO * sum(live[start:]) or (total and dead[before] / total >= MERGE_DEAD_SHARE):
            start = before
        else:
            break
    if start < count - 1:
        return start
    # Nothing to merge with: the newest segment alone is rewritten when many of its papers went.
    if count and live[-1] + dead[-1] and dead[-1] / (live[-1] + dead[-1]) >= MERGE_DEAD_SHARE:
        return count - 1
    return count


@dataclass
class KeywordIndex:
    """BM25 over the papers of one build; ``search`` mirrors the vector index contract.

    Positions run over the segments in order; ``ids`` holds -1 at the positions of removed
    papers, which score nothing and are left out of every statistic.
    """

    ids: np.ndarray
    segments: list[Segment]
    k1: float
    b: float
    authors: KeywordIndex | None = None  # the author-name field (search/authors.py tokens)
    words_file: Path | None = None  # "word count" lines: what spelling correction may suggest
    title_hashes: np.ndarray | None = None  # sorted title_hash() of every paper (TITLE_FILES)
    title_ids: np.ndarray | None = None
    sorted_ids: np.ndarray | None = None  # ORDER_FILES, when the live ids are not ascending
    sorted_positions: np.ndarray | None = None
    live: int = -1  # papers not removed (computed when not given)
    tokens: int = -1  # their total length in tokens
    word_counts_file: Path | None = None
    _idf_cache: dict[str, tuple[float, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.live < 0 or self.tokens < 0:
            removed = self.removed_positions()
            lengths = np.concatenate([np.asarray(s.lengths, dtype=np.int64) for s in self.segments]) if self.segments else np.zeros(0, dtype=np.int64)
            self.live = len(self.ids) - len(removed)
            self.tokens = int(lengths.sum() - lengths[removed].sum())

    def removed_positions(self) -> np.ndarray:
        return np.flatnonzero(np.asarray(self.ids) < 0)

    @functools.cached_property
    def _removed(self) -> np.ndarray:
        return self.removed_positions()

    @functools.cached_property
    def _length_norm(self) -> tuple[np.float32, np.float32, np.float32, np.float32]:
        """(k1, 1 - b, b, average length) in float32: the compiled loops compute each paper's BM25
        length norm k1 (1 - b + b len / average) from its length as they read its posting, in the
        order bm25s computed the norms array, so no 4-byte-a-paper array (10 MB at 2.6M papers)
        is built in every process."""
        average = np.float32(self.tokens / self.live) if self.live else np.float32(1)
        b = np.float32(self.b)
        return np.float32(self.k1), np.float32(1 - b), b, average

    @functools.cached_property
    def _offsets(self) -> list[int]:
        return np.cumsum([0] + [len(s) for s in self.segments]).tolist()

    def with_title(self, normalized: str) -> list[int]:
        """Ids of the papers whose normalised title is exactly ``normalized``."""
        if self.title_hashes is None or self.title_ids is None or not normalized:
            return []
        key = title_hash(normalized)
        low = int(np.searchsorted(self.title_hashes, key, side="left"))
        high = int(np.searchsorted(self.title_hashes, key, side="right"))
        return [int(pk) for pk in self.title_ids[low:high]]

    def __len__(self) -> int:
        """Papers in the index (removed ones not counted)."""
        return self.live

    @functools.cached_property
    def _order(self) -> np.ndarray | None:
        """None when ``ids`` ascend (a full build writes them so); else the order that sorts them."""
        ids = self.ids
        if len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1])):
            return None
        return np.argsort(ids, kind="stable")

    def positions(self, pks: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``ids``, found mask) of the given pks, by binary search.

        No per-paper dictionary: at a million papers one would hold ~100 MB of Python objects
        in every web process, where the sorted ids are a shared, memory-mapped file.
        """
        wanted = pks.astype(np.int64) if isinstance(pks, np.ndarray) else np.fromiter((int(pk) for pk in pks), dtype=np.int64)
        if not len(self.ids) or not len(wanted):
            return np.zeros(0, dtype=np.int64), np.zeros(len(wanted), dtype=bool)
        if self.sorted_ids is not None and self.sorted_positions is not None:
            where, found = sorted_lookup(self.sorted_ids, wanted)
            return (self.sorted_positions[where] if len(self.sorted_positions) else where), found
        order = self._order
        sorted_ids = self.ids if order is None else self.ids[order]
        where, found = sorted_lookup(sorted_ids, wanted)
        found &= wanted >= 0
        positions = where if order is None else order[where]
        return positions, found

    def _postings(self, term: str) -> list[tuple[int, Segment, int, int]]:
        """(offset, segment, start, end) of the term's posting list in each segment holding it."""
        spans = []
        for offset, segment in zip(self._offsets, self.segments, strict=False):
            span = segment.span(term)
            if span is not None and span[1] > span[0]:
                spans.append((offset, segment, span[0], span[1]))
        return spans

    def _live_mask(self, positions: np.ndarray) -> np.ndarray | None:
        if not len(self._removed):
            return None
        return np.asarray(self.ids[positions]) >= 0

    def postings(self, term: str) -> np.ndarray:
        """Positions (into ``ids``) of the live papers that hold ``term``, ascending."""
        parts = [offset + np.asarray(segment.docs[start:end], dtype=np.int64) for offset, segment, start, end in self._postings(term)]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        positions = np.concatenate(parts)
        live = self._live_mask(positions)
        return positions if live is None else positions[live]

    def document_frequency(self, term: str) -> int:
        """How many live papers hold ``term``."""
        return int(self._stats(term)[1])

    def holds(self, term: str) -> bool:
        """Whether some live paper holds the index term."""
        return self.document_frequency(term) > 0

    def token_id(self, term: str) -> int | None:
        """None for a term no live paper holds, else its document frequency (a stand-in key)."""
        df = self.document_frequency(term)
        return df if df else None

    def _stats(self, term: str) -> tuple[float, int]:
        """(Lucene idf, document frequency) of one term over the live papers."""
        cached = self._idf_cache.get(term)
        if cached is None:
            if len(self._removed):
                df = len(self.postings(term))
            else:  # no removed papers: the posting lists' lengths, no array built
                df = sum(end - start for _, _, start, end in self._postings(term))
            idf = float(np.log(1.0 + (self.live - df + 0.5) / (df + 0.5))) if df else 0.0
            if len(self._idf_cache) > 4096:
                self._idf_cache.clear()
            cached = self._idf_cache[term] = (idf, df)
        return cached

    def coverage(self, terms: list[str]) -> np.ndarray:
        """For every paper (aligned with ``ids``), the share of the query's idf weight it holds.

        Each distinct query term weighs its idf; a term no paper holds weighs the largest idf
        possible (it is as rare as a word can be), so "zzqxj learning" is mostly unmatched.
        """
        return self._accumulate(terms, scores=False, coverage=True)[1]

    def evidence(self, terms: list[str], *, beside: Beside | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(``scores(terms)``, ``coverage(terms)``) in one pass over the postings; ``beside``: as
        for ``scores``."""
        return self._accumulate(terms, scores=True, coverage=True, beside=beside)

    def _accumulate(
        self, terms: list[str], *, scores: bool, coverage: bool, beside: Beside | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores and/or coverage of every paper; an array not asked for is left empty."""
        size = len(self.ids)
        if not self.live or not terms:
            return np.zeros(size if scores else 0, dtype=np.float32), np.zeros(size if coverage else 0, dtype=np.float32)
        result = _uninitialised(size if scores else 0)
        shares = _uninitialised(size if coverage else 0)
        k1, base, b, average = self._length_norm
        plan, total = self.plan(terms)
        weights = np.asarray([repeats * idf for _, repeats, idf in plan], dtype=np.float32)
        idfs = np.asarray([idf for _, _, idf in plan], dtype=np.float32)
        parts: list[tuple[tuple[Any, ...], int, int]] = []
        for offset, segment in zip(self._offsets[:-1], self.segments, strict=True):
            spans = [segment.span(term) for term, _, _ in plan]
            held = [n for n, span in enumerate(spans) if span is not None and span[1] > span[0]]
            window = slice(offset, offset + len(segment))
            if not held:
                result[window] = 0
                shares[window] = 0
                continue
            starts = np.asarray([spans[n][0] for n in held], dtype=np.int64)  # type: ignore[index]
            ends = np.asarray([spans[n][1] for n in held], dtype=np.int64)  # type: ignore[index]
            arguments = (
                result[window], shares[window], segment.docs, segment.tfs, segment.lengths, starts, ends, weights[held],
                idfs[held], k1, base, b, average, SCORE_BLOCK, scores, coverage, np.float32(total),
                bool(ends.sum() - starts.sum() >= len(segment) * BLOCK_NORMS_SHARE),
            )
            step = PART_PAPERS if beside is not None else len(segment)
            parts += [(arguments, first, min(first + step, len(segment))) for first in range(0, len(segment), step)]
        _run_parts(parts, beside)
        for values in (result, shares):
            if len(values) and len(self._removed):
                values[self._removed] = 0
        return result, shares

    def plan(self, terms: list[str]) -> tuple[list[tuple[str, int, float]], float]:
        """(term, repeats, idf) of the query's distinct known terms in query order, the order
        every paper's scores add up in, and the query's whole idf weight (``coverage``'s
        denominator: known terms' idf plus the largest idf possible for each unknown one).

        float32 sums depend on their order; ``scores`` and ``scores_for`` (a few papers' scores
        read by binary search) both add in this one, so they agree bit for bit.
        """
        rarest = float(np.log(1.0 + (self.live - 1 + 0.5) / 1.5))
        plan, total = [], 0.0
        for term, repeats in Counter(terms).items():
            idf, df = self._stats(term)
            if df:
                plan.append((term, repeats, idf))
                total += idf
            else:
                total += rarest
        return plan, total

    def known_share(self, terms: list[str]) -> float:
        """The share of the query's idf weight (as ``coverage`` weighs it) that words the
        collection holds carry: near 0 for random letters, 1 for a query of known words."""
        distinct = list(dict.fromkeys(terms))
        if not distinct or not self.live:
            return 0.0
        rarest = float(np.log(1.0 + (self.live - 1 + 0.5) / 1.5))
        known = sum(self._stats(t)[0] for t in distinct if self.holds(t))
        unknown = rarest * sum(1 for t in distinct if not self.holds(t))
        return known / (known + unknown) if known + unknown > 0 else 0.0

    def known_terms(self, terms: Iterable[str]) -> list[str]:
        """The distinct terms that occur somewhere in the collection, in query order."""
        return [t for t in dict.fromkeys(terms) if self.holds(t)]

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """Lucene's BM25 idf of each term (0.0 for a term no paper holds): rarer words weigh more."""
        return {term: self._stats(term)[0] for term in terms}

    def scores(self, terms: list[str], *, beside: Beside | None = None) -> np.ndarray:
        """BM25 score of every paper (aligned with ``ids``) for already analysed query terms.

        ``beside``: an executor's ``submit``; when given, a thread it runs takes parts of the pass
        beside the caller's (``_run_parts``), with the same scores bit for bit.

        Lucene's BM25 (bm25s "lucene") with the live collection's statistics, whatever the
        segments. A term repeated in the query counts once per repetition, so a pasted abstract
        weighs its recurring words more, as BM25 does for long queries. float32 throughout: the
        precision bm25s stored its scores in.
        """
        return self._accumulate(terms, scores=True, coverage=False, beside=beside)[0]

    def search(self, terms: list[str], k: int, *, subset: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (pk, score) with a positive score, best first; ``subset`` restricts to those pks."""
        return self.top(self.scores(terms), k, subset=subset)

    def top(self, scores: np.ndarray, k: int, *, subset: np.ndarray | None = None) -> list[tuple[int, float]]:
        """``search`` over scores already computed by ``scores`` (left unchanged)."""
        if not len(self.ids):
            return []
        if subset is None:
            bound = self._lower_bound(scores, k)
            candidates = np.flatnonzero(scores > 0 if bound is None else scores >= bound)
        else:
            positions, found = self.positions(subset)
            candidates = np.unique(positions[found])  # ascending, as flatnonzero gives them
            candidates = candidates[scores[candidates] > 0]
        ids, values = np.asarray(self.ids[candidates]), scores[candidates]
        if k < len(candidates):
            # Every paper above the k-th best score, and of those tied with it the lowest ids.
            kth = np.partition(values, len(values) - k)[len(values) - k]
            above, tied = values > kth, np.flatnonzero(values == kth)
            tied = tied[np.argsort(ids[tied], kind="stable")[: k - int(above.sum())]]
            keep = np.concatenate([np.flatnonzero(above), tied])
            ids, values = ids[keep], values[keep]
        # Ties broken by id so results are stable from one build to the next.
        order = np.lexsort((ids, -values))
        return list(zip(ids[order].tolist(), values[order].tolist(), strict=True))

    @staticmethod
    def _lower_bound(scores: np.ndarray, k: int) -> np.float32 | None:
        """A positive score at most the k-th best (the k-th best of a sample), or None: every
        paper scoring below it is outside the top k."""
        sample = scores[::SAMPLE_STRIDE]
        sample = sample[sample > 0]
        if k < 1 or len(sample) < k:
            return None
        return np.float32(np.partition(sample, len(sample) - k)[len(sample) - k])

    def scores_for(self, terms: list[str], pks: Iterable[int]) -> dict[int, float]:
        """Exact BM25 scores of the given papers (0.0 for a paper not in this build), equal to
        ``scores(terms)`` at them, read from the posting lists by binary search (no pass over
        every posting: a dense search's explanations ask for ten papers' scores)."""
        pks = list(pks)
        if not pks:
            return {}
        positions, found = self.positions(pks)
        unique, inverse = np.unique(positions[found], return_inverse=True)
        values = np.zeros(len(unique), dtype=np.float32)
        for term, repeats, idf in self.plan(terms)[0]:
            self._add_parts(values, unique, term, np.float32(repeats * idf))
        result = np.zeros(len(pks), dtype=np.float32)
        result[found] = values[inverse]
        return dict(zip(pks, result.tolist(), strict=True))

    def _add_parts(self, scores: np.ndarray, positions: np.ndarray, term: str, weight: np.float32) -> None:
        """Add ``term``'s BM25 part (of weight ``weight``) to ``scores``, aligned with
        ``positions`` (ascending, distinct), for the papers there that hold the term: its posting
        lists are read by binary search, and the arithmetic is the compiled loops' in the same
        float32 order, so adding the terms in ``plan`` order gives ``scores``'s values exactly."""
        k1, base, b, average = self._length_norm
        for offset, segment, start, end in self._postings(term):
            low, high = np.searchsorted(positions, [offset, offset + len(segment)])
            if low == high:
                continue
            local = positions[low:high] - offset
            docs = segment.docs[start:end]
            where = np.minimum(np.searchsorted(docs, local), len(docs) - 1)
            hit = np.asarray(docs[where]) == local
            if not hit.any():
                continue
            local, where = local[hit], where[hit]
            tf = np.asarray(segment.tfs[start:end])[where]
            norm = k1 * (base + b * np.asarray(segment.lengths)[local].astype(np.float32) / average)
            window = scores[low:high]
            window[hit] += weight * tf / (norm + tf)

    def scores_at(self, scores: np.ndarray, pks: list[int]) -> dict[int, float]:
        """``scores_for`` over scores already computed by ``scores``."""
        if not len(self.ids):
            return dict.fromkeys(pks, 0.0)
        positions, found = self.positions(pks)
        values = np.where(found, scores[np.where(found, positions, 0)], 0.0).tolist()
        return dict(zip(pks, values, strict=True))

    def updated(self, *, removed: np.ndarray, added: Segment | None) -> KeywordIndex:
        """This index with ``removed`` pks marked gone and ``added`` appended, merged by plan."""
        ids = np.array(self.ids, dtype=np.int64)  # the build's own copy: 8 bytes a paper
        if len(removed):
            positions, found = self.positions(np.asarray(removed, dtype=np.int64))
            ids[positions[found]] = -1
        segments = list(self.segments)
        if added is not None and len(added):
            segments.append(added)
            ids = np.concatenate([ids, np.asarray(added.ids, dtype=np.int64)])
        offsets = np.cumsum([0] + [len(s) for s in segments]).tolist()
        live_masks = [ids[offsets[i] : offsets[i + 1]] >= 0 for i in range(len(segments))]
        live = [int(m.sum()) for m in live_masks]
        dead = [len(m) - n for m, n in zip(live_masks, live, strict=True)]
        start = merge_plan(live, dead)
        if start < len(segments):
            merged = Segment.merge(f"m-{segments[-1].name}", segments[start:], live_masks[start:])
            segments = segments[:start] + [merged]
            ids = np.concatenate([ids[: offsets[start]], np.asarray(merged.ids, dtype=np.int64)])
        return KeywordIndex(ids=ids, segments=segments, k1=self.k1, b=self.b)

    def save(self, directory: Path, *, subdir: str = SUBDIR) -> list[str]:
        """Write the index under ``directory/<subdir>``; return file names relative to directory.

        Segments loaded from another build are hard-linked, not copied (``Segment.save``).
        """
        target = directory / subdir
        target.mkdir(parents=True, exist_ok=True)
        names = [IDS_FILE, SEGMENTS_FILE]
        np.save(target / IDS_FILE, np.asarray(self.ids, dtype=np.int64), allow_pickle=False)
        for segment in self.segments:
            segment.save(target / segment.name)
            names += [f"{segment.name}/{file}" for file in SEGMENT_FILES]
        ids = np.asarray(self.ids)
        if len(ids) >= 2 and not bool(np.all(ids[1:] > ids[:-1])):
            live = np.flatnonzero(ids >= 0)
            order = live[np.argsort(ids[live], kind="stable")]
            for name, array in zip(ORDER_FILES, (ids[order], order), strict=True):
                np.save(target / name, array.astype(np.int64), allow_pickle=False)
            names += list(ORDER_FILES)
        description = {
            "k1": self.k1, "b": self.b, "live": self.live, "tokens": self.tokens,
            "segments": [{"name": s.name, "papers": len(s)} for s in self.segments],
        }
        (target / SEGMENTS_FILE).write_text(json.dumps(description, indent=2))
        return [f"{subdir}/{name}" for name in names]

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True, subdir: str = SUBDIR) -> KeywordIndex:
        target = directory / subdir
        mode: Literal["r"] | None = "r" if mmap else None
        description = json.loads((target / SEGMENTS_FILE).read_text())
        # Memory-mapped: shared page cache, not a copy per web process.
        ids = np.load(target / IDS_FILE, mmap_mode=mode, allow_pickle=False)
        segments = [Segment.load(s["name"], target / s["name"], mmap=mmap) for s in description["segments"]]
        if sum(len(s) for s in segments) != len(ids):
            raise ValueError(f"keyword segments hold {sum(len(s) for s in segments)} documents for {len(ids)} ids")
        index = cls(
            ids=ids, segments=segments, k1=float(description["k1"]), b=float(description["b"]),
            live=int(description["live"]), tokens=int(description["tokens"]),
        )
        if all((target / name).is_file() for name in ORDER_FILES):
            index.sorted_ids, index.sorted_positions = (np.load(target / name, mmap_mode=mode, allow_pickle=False) for name in ORDER_FILES)
        if subdir == SUBDIR:
            if (directory / AUTHORS_SUBDIR / SEGMENTS_FILE).is_file():
                index.authors = cls.load(directory, mmap=mmap, subdir=AUTHORS_SUBDIR)
            if (target / WORDS_FILE).is_file():
                index.words_file = target / WORDS_FILE
            if (target / WORD_COUNTS_FILE).is_file():
                index.word_counts_file = target / WORD_COUNTS_FILE
            if all((target / name).is_file() for name in TITLE_FILES):
                index.title_hashes, index.title_ids = (
                    np.load(target / name, mmap_mode=mode, allow_pickle=False) for name in TITLE_FILES
                )
        return index


def keyword_text(title: str, abstract: str, *, title_weight: int = 1) -> str:
    """What BM25 indexes for a paper: the title ``title_weight`` times, then the abstract.

    Repeating the title is the simplest field boost (BM25F would weigh fields the same way);
    on SciFact's train split a title counted twice ranked better than once.
    """
    title = title.strip().rstrip(".")
    return ". ".join([title] * max(1, title_weight) + [abstract.strip()]) if title else abstract.strip()


def build_segment(name: str, *, ids: np.ndarray, texts: Iterable[str] = (), token_lists: Iterable[list[str]] | None = None) -> Segment:
    """One segment over texts (analysed here, one at a time: a slice's token lists held together
    cost ~50 bytes a token, ~1.6 GB for 250,000 abstracts) or ready ``token_lists``, aligned
    with ``ids``."""
    corpus = token_lists if token_lists is not None else (analyze(text) for text in texts)
    return Segment.build(name, np.asarray(ids, dtype=np.int64), corpus)


def build_keyword_index(
    *, ids: np.ndarray, texts: Iterable[str] = (), k1: float, b: float, token_lists: Iterable[list[str]] | None = None,
    name: str = "s-0",
) -> KeywordIndex:
    """BM25 over the given texts (aligned with ``ids``), or over ready ``token_lists`` (a field
    with its own tokens, such as authors): one segment."""
    ids = np.asarray(ids, dtype=np.int64)
    segment = build_segment(name, ids=ids, texts=texts, token_lists=token_lists)
    return KeywordIndex(ids=ids, segments=[segment], k1=k1, b=b)


def title_hash(normalized: str) -> int:
    """A stable signed 64-bit hash of a normalised title (papers.normalize.normalize_title)."""
    return int.from_bytes(hashlib.blake2b(normalized.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def word_counts(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased words of four or more letters and how often they occur."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word for word in (m.group().lower() for m in _WORD.finditer(text)))
    return counts


def spelling_words(texts: Iterable[str], *, min_count: int = SPELLING_MIN_COUNT) -> list[tuple[str, int]]:
    """Lower-cased words of four or more letters and how often they occur, most frequent first.

    What spelling correction may suggest (search/spelling.py): only words the collection holds,
    at least ``min_count`` times, so a one-off typo in an abstract is never offered.
    """
    return _frequent(word_counts(texts), min_count=min_count)


def _frequent(counts: Counter[str], *, min_count: int = SPELLING_MIN_COUNT) -> list[tuple[str, int]]:
    return sorted(((w, c) for w, c in counts.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))


def _read_counts(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            word, _, count = line.rstrip("\n").rpartition(" ")
            counts[word] = int(count)
    return counts


@dataclass
class _Fields:
    """What the database says about some papers, ready to index."""

    ids: np.ndarray
    texts: list[str]
    names: list[list[str]]
    titles: list[tuple[int, int]]
    plain: list[str]


def _read_papers(ids: np.ndarray, *, chunk_size: int) -> _Fields:
    from django.conf import settings

    from papers.models import Paper, shown
    from papers.normalize import normalize_title
    from search.authors import paper_tokens

    texts: dict[int, str] = {}
    names: dict[int, list[str]] = {}
    titles: list[tuple[int, int]] = []
    plain: list[str] = []
    for start in range(0, len(ids), chunk_size):
        chunk = [int(pk) for pk in ids[start : start + chunk_size]]
        rows = Paper.objects.filter(pk__in=chunk).values_list(
            "pk", "title", "abstract", "authors", "normalized_title", "rendered_title"
        )
        for pk, title, abstract, authors, normalized, rendered_title in rows:
            texts[pk] = keyword_text(title, abstract, title_weight=settings.SEARCH_BM25_TITLE_WEIGHT)
            names[pk] = paper_tokens(authors or [])
            titles.append((title_hash(normalized), pk))
            # A title copied from a page reads as rendered text ("χ = 1000", not "$\chi = 1000$").
            readable = normalize_title(shown(title, rendered_title))[:512]
            if readable != normalized:
                titles.append((title_hash(readable), pk))
            plain.append(f"{title} {abstract}")
    return _Fields(
        ids=ids, texts=[texts.get(int(pk), "") for pk in ids], names=[names.get(int(pk), []) for pk in ids], titles=titles, plain=plain
    )


def write_keyword_index(
    directory: Path,
    *,
    ids: np.ndarray,
    base: Path | None = None,
    added: np.ndarray | None = None,
    removed: np.ndarray | None = None,
    segment_name: str = "s-0",
    chunk_size: int = 5_000,
) -> tuple[list[str], dict[str, object]]:
    """Index the titles and abstracts of ``ids`` (read from the database) into a build directory.

    Called by the index build with the very ids of its vectors, so both halves of a build hold
    the same papers. Beside the text index it writes the author-name field (``authors/``,
    search/authors.py tokens), the collection's word counts for spelling (``words.txt``) and the
    exact-title lookup. Given a ``base`` build directory whose keyword index was made with the
    same settings, only the ``added`` papers are read and analysed (one new segment) and the
    ``removed`` ones marked gone; the base's segments are hard-linked. Returns the written file
    names and the manifest facts.
    """
    from django.conf import settings

    ids = np.asarray(ids, dtype=np.int64)
    k1, b, weight = settings.SEARCH_BM25_K1, settings.SEARCH_BM25_B, settings.SEARCH_BM25_TITLE_WEIGHT
    previous = _incremental_base(base, k1=k1, b=b, title_weight=weight)
    if previous is None:
        index, authors, counts, title_columns = _full_index(ids, name=segment_name, k1=k1, b=b, chunk_size=chunk_size, directory=directory)
        analysed = len(ids)
    else:
        added = np.asarray(added if added is not None else [], dtype=np.int64)
        removed = np.asarray(removed if removed is not None else [], dtype=np.int64)
        fields = _read_papers(added, chunk_size=chunk_size)
        text_segment = build_segment(segment_name, ids=added, texts=fields.texts)
        author_segment = build_segment(segment_name, ids=added, token_lists=fields.names)
        index = previous.updated(removed=removed, added=text_segment)
        if previous.authors is None:  # _incremental_base checks it
            raise ValueError("the base keyword index has no author index")
        authors = previous.authors.updated(removed=removed, added=author_segment)
        # A removed or changed paper's words stay counted until the next full build: its text
        # may be gone from the database. Spelling only ever offers words seen three times.
        if previous.word_counts_file is None:
            raise ValueError("the base keyword index has no word counts")
        counts = _read_counts(previous.word_counts_file)
        counts.update(word_counts(fields.plain))
        title_columns = _updated_titles(previous, removed=removed, new=fields.titles)
        analysed = len(added)
    live = np.sort(np.asarray(index.ids)[np.asarray(index.ids) >= 0])
    if not np.array_equal(live, np.sort(ids)) or len(authors) != len(index):
        raise ValueError(f"keyword index holds {len(index)} papers, the build {len(ids)}")
    files = index.save(directory)
    files += authors.save(directory, subdir=AUTHORS_SUBDIR)
    words = _frequent(counts)
    (directory / SUBDIR / WORDS_FILE).write_text("".join(f"{w} {c}\n" for w, c in words), encoding="utf-8")
    (directory / SUBDIR / WORD_COUNTS_FILE).write_text("".join(f"{w} {c}\n" for w, c in counts.items()), encoding="utf-8")
    files += [f"{SUBDIR}/{WORDS_FILE}", f"{SUBDIR}/{WORD_COUNTS_FILE}"]
    for name, column in zip(TITLE_FILES, title_columns, strict=True):
        np.save(directory / SUBDIR / name, column, allow_pickle=False)
        files.append(f"{SUBDIR}/{name}")
    facts: dict[str, object] = {
        "backend": "segments", "count": len(index), "k1": k1, "b": b, "title_weight": weight,
        "authors": len(authors), "spelling_words": len(words), "segments": [len(s) for s in index.segments],
        "analysed": analysed, "removed": len(index.ids) - len(index),
    }
    return files, facts


def _written(segment: Segment, target: Path) -> Segment:
    """``segment`` saved into ``target`` and mapped back from there (saving its index later
    leaves the files where they are)."""
    segment.save(target)
    return Segment.load(segment.name, target)


def _full_index(
    ids: np.ndarray, *, name: str, k1: float, b: float, chunk_size: int, directory: Path
) -> tuple[KeywordIndex, KeywordIndex, Counter[str], tuple[np.ndarray, np.ndarray]]:
    """A full build's text and author indexes, word counts and title lookup, one segment per
    FULL_BUILD_SEGMENT papers, each written into ``directory`` as soon as it is made.

    Reading, analysing and indexing one slice at a time bounds a build's memory by the slice,
    not the collection: analysed token lists cost ~50 bytes a token in Python, ~20 GB for all of
    arXiv at once. A finished segment waits in its file (page cache), mapped, not in the
    builder's memory: the postings of the slices before stayed in memory until the end and grew
    the builder by ~0.4 GB a slice of 250,000 papers (docs/scale.md, run 8). Scores do not depend
    on how papers are split into segments (BM25 uses the live collection's statistics), and later
    incremental builds merge by the usual plan.
    """
    text_segments: list[Segment] = []
    author_segments: list[Segment] = []
    counts: Counter[str] = Counter()
    titles: list[tuple[int, int]] = []
    slices = range(0, len(ids), FULL_BUILD_SEGMENT) if len(ids) else range(1)
    for number, start in enumerate(slices):
        part = ids[start : start + FULL_BUILD_SEGMENT]
        fields = _read_papers(part, chunk_size=chunk_size)
        segment_name = name if len(slices) == 1 else f"{name}-{number:03d}"
        text_segments.append(_written(build_segment(segment_name, ids=part, texts=fields.texts), directory / SUBDIR / segment_name))
        author_segments.append(
            _written(build_segment(segment_name, ids=part, token_lists=fields.names), directory / AUTHORS_SUBDIR / segment_name)
        )
        counts.update(word_counts(fields.plain))
        titles.extend(fields.titles)
        # Before the next slice is read: otherwise this slice's texts (~1 GB for 250,000
        # abstracts) stay alive until the next ones are all read, two slices at once.
        del fields
    titles.sort()
    title_columns = (np.asarray([h for h, _ in titles], dtype=np.int64), np.asarray([pk for _, pk in titles], dtype=np.int64))
    index = KeywordIndex(ids=ids, segments=text_segments, k1=k1, b=b)
    authors = KeywordIndex(ids=ids, segments=author_segments, k1=k1, b=b)
    return index, authors, counts, title_columns


def _incremental_base(base: Path | None, *, k1: float, b: float, title_weight: int) -> KeywordIndex | None:
    """The base build's keyword index when one made with the same settings can be extended."""
    if base is None:
        return None
    try:
        manifest = json.loads((base / "manifest.json").read_text())
        facts = manifest.get("keyword") or {}
        if facts.get("backend") != "segments" or (facts.get("k1"), facts.get("b"), facts.get("title_weight")) != (k1, b, title_weight):
            return None
        index = KeywordIndex.load(base, mmap=True)
    except (OSError, ValueError, KeyError):
        return None
    if index.authors is None or index.word_counts_file is None or index.title_ids is None:
        return None
    return index


def _updated_titles(previous: KeywordIndex, *, removed: np.ndarray, new: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The base's sorted title lookup without ``removed`` papers, with the ``new`` entries."""
    if previous.title_hashes is None or previous.title_ids is None:
        raise ValueError("the base keyword index has no title arrays")
    old_ids = np.asarray(previous.title_ids)
    keep = ~np.isin(old_ids, removed) if len(removed) else np.ones(len(old_ids), dtype=bool)
    hashes = np.concatenate([np.asarray(previous.title_hashes)[keep], np.asarray([h for h, _ in new], dtype=np.int64)])
    pks = np.concatenate([old_ids[keep], np.asarray([pk for _, pk in new], dtype=np.int64)])
    order = np.lexsort((pks, hashes))
    return hashes[order], pks[order]

