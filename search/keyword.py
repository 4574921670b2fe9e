"""Keyword retrieval: a BM25 index (bm25s) over "title. abstract", built with the vectors.

The keyword index lives in the same immutable build directory as the vector index and is listed
in the same manifest, so both always describe the same papers (invariant 3). Ids are Paper
primary keys, stored beside the bm25s arrays; nothing is pickled (bm25s writes ``.npy`` and
JSON, loaded with ``allow_pickle=False``).

Text analysis is ours rather than ``bm25s.tokenize`` so that highlighting (search/explain.py)
can find exactly the words that matched: lower-case word tokens of two or more characters,
English stop words removed, Snowball (Porter2) stems from PyStemmer.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.vector_index import sorted_lookup

SUBDIR = "keyword"
AUTHORS_SUBDIR = "keyword/authors"
IDS_FILE = "ids.npy"
WORDS_FILE = "words.txt"
# Exact-title lookup without the database: 64-bit hashes of each paper's normalised title,
# sorted, with the paper ids in the same order (binary-searched, memory-mapped).
TITLE_FILES = ("titles.hash.npy", "titles.ids.npy")
# Spelling suggestions: words of four or more letters seen at least three times. At 115k papers
# that is ~69k words, which symspellpy loads in ~3 s and ~31 MB per process (docs/relevance.md).
SPELLING_MIN_COUNT = 3
_WORD = re.compile(r"(?u)\b[^\W\d_]{4,}\b")
# The vocabulary as sorted UTF-8 terms (one byte blob + offsets) and their bm25s token ids:
# memory-mapped and binary-searched, where bm25s's own JSON vocabulary becomes a Python dict
# (and a set) in every web process (~30 MB at 115k papers, growing with the vocabulary).
VOCAB_FILES = ("vocab.terms.npy", "vocab.offsets.npy", "vocab.token_ids.npy")
# Same token pattern as bm25s's default tokenizer: words of two or more characters.
TOKEN = re.compile(r"(?u)\b\w\w+\b")


@functools.lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
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


class SortedVocab:
    """term -> bm25s token id over three memory-mapped arrays (see VOCAB_FILES)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray, token_ids: np.ndarray) -> None:
        self._token_ids = token_ids
        # memoryviews over the mapped arrays: indexing gives plain ints and bytes, several times
        # faster than numpy scalars in the binary search.
        self._blob = memoryview(np.ascontiguousarray(blob)).cast("B")
        self._offsets = memoryview(np.ascontiguousarray(offsets, dtype=np.int64)).cast("B").cast("q")
        self._ids = memoryview(np.ascontiguousarray(token_ids, dtype=np.int64)).cast("B").cast("q")
        # A request looks its few terms up several times (scores, idf, highlighting).
        self.get = functools.lru_cache(maxsize=4096)(self._get)  # type: ignore[method-assign]

    @classmethod
    def write(cls, directory: Path, vocab: dict[str, int]) -> list[str]:
        terms = sorted(vocab, key=lambda t: t.encode("utf-8"))
        encoded = [t.encode("utf-8") for t in terms]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(e) for e in encoded])
        arrays = (np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets, np.asarray([vocab[t] for t in terms], dtype=np.int64))
        for name, array in zip(VOCAB_FILES, arrays, strict=True):
            np.save(directory / name, array, allow_pickle=False)
        return list(VOCAB_FILES)

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> SortedVocab:
        mode = "r" if mmap else None
        blob, offsets, token_ids = (np.load(directory / name, mmap_mode=mode, allow_pickle=False) for name in VOCAB_FILES)
        return cls(blob, offsets, token_ids)

    def _term(self, i: int) -> bytes:
        return bytes(self._blob[self._offsets[i] : self._offsets[i + 1]])

    def get(self, term: str) -> int | None:  # replaced per instance by a cached _get
        return self._get(term)

    def _get(self, term: str) -> int | None:
        key = term.encode("utf-8")
        lo, hi = 0, len(self._ids)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._term(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return self._ids[lo] if lo < len(self._ids) and self._term(lo) == key else None

    def __contains__(self, term: str) -> bool:
        return self.get(term) is not None

    def __len__(self) -> int:
        return len(self._token_ids)


@dataclass
class KeywordIndex:
    """BM25 over the papers of one build; ``search`` mirrors the vector index contract."""

    ids: np.ndarray
    retriever: object | None  # bm25s.BM25, None for an empty collection
    k1: float
    b: float
    vocab: SortedVocab | None = None  # loaded builds; else the retriever's own vocab_dict
    authors: KeywordIndex | None = None  # the author-name field (search/authors.py tokens)
    words_file: Path | None = None  # "word count" lines: what spelling correction may suggest
    title_hashes: np.ndarray | None = None  # sorted title_hash() of every paper (TITLE_FILES)
    title_ids: np.ndarray | None = None

    def with_title(self, normalized: str) -> list[int]:
        """Ids of the papers whose normalised title is exactly ``normalized``."""
        if self.title_hashes is None or self.title_ids is None or not normalized:
            return []
        key = title_hash(normalized)
        low = int(np.searchsorted(self.title_hashes, key, side="left"))
        high = int(np.searchsorted(self.title_hashes, key, side="right"))
        return [int(pk) for pk in self.title_ids[low:high]]

    def __len__(self) -> int:
        return len(self.ids)

    def token_id(self, term: str) -> int | None:
        """bm25s's token id of an index term; None for a term no paper holds."""
        if self.vocab is not None:
            return self.vocab.get(term)
        vocab = getattr(self.retriever, "vocab_dict", None) or {}
        return vocab.get(term)

    @functools.cached_property
    def _order(self) -> np.ndarray | None:
        """None when ``ids`` ascend (every build writes them so); else the order that sorts them."""
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
        order = self._order
        sorted_ids = self.ids if order is None else self.ids[order]
        where, found = sorted_lookup(sorted_ids, wanted)
        positions = where if order is None else order[where]
        return positions, found

    def postings(self, term: str) -> np.ndarray:
        """Positions (into ``ids``) of the papers that hold ``term``: bm25s's own sparse column."""
        token = self.token_id(term)
        if self.retriever is None or token is None:
            return np.zeros(0, dtype=np.int64)
        scores = self.retriever.scores  # type: ignore[attr-defined]
        return np.asarray(scores["indices"][scores["indptr"][token] : scores["indptr"][token + 1]], dtype=np.int64)

    def coverage(self, terms: list[str]) -> np.ndarray:
        """For every paper (aligned with ``ids``), the share of the query's idf weight it holds.

        Each distinct query term weighs its idf; a term no paper holds weighs the largest idf
        possible (it is as rare as a word can be), so "zzqxj learning" is mostly unmatched.
        """
        distinct = list(dict.fromkeys(terms))
        result = np.zeros(len(self.ids), dtype=np.float32)
        if not distinct or self.retriever is None:
            return result
        n = len(self.ids)
        rarest = float(np.log(1.0 + (n - 1 + 0.5) / 1.5))
        idf = self.idf(distinct)
        total = 0.0
        for term in distinct:
            if self.token_id(term) is None:
                total += rarest
                continue
            total += idf[term]
            result[self.postings(term)] += idf[term]
        return result / total if total > 0 else result

    def known_share(self, terms: list[str]) -> float:
        """The share of the query's idf weight (as ``coverage`` weighs it) that words the
        collection holds carry: near 0 for random letters, 1 for a query of known words."""
        distinct = list(dict.fromkeys(terms))
        if not distinct or self.retriever is None:
            return 0.0
        rarest = float(np.log(1.0 + (len(self.ids) - 1 + 0.5) / 1.5))
        idf = self.idf(distinct)
        known = sum(idf[t] for t in distinct if self.token_id(t) is not None)
        unknown = rarest * sum(1 for t in distinct if self.token_id(t) is None)
        return known / (known + unknown) if known + unknown > 0 else 0.0

    def known_terms(self, terms: Iterable[str]) -> list[str]:
        """The distinct terms that occur somewhere in the collection, in query order."""
        return [t for t in dict.fromkeys(terms) if self.token_id(t) is not None]

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """Lucene's BM25 idf of each term (0.0 for a term no paper holds): rarer words weigh more."""
        if self.retriever is None:
            return {t: 0.0 for t in terms}
        indptr = self.retriever.scores["indptr"]  # type: ignore[attr-defined]
        n = len(self.ids)
        result = {}
        for term in terms:
            token = self.token_id(term)
            if token is not None:
                df = float(indptr[token + 1] - indptr[token])
                result[term] = float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
            else:
                result[term] = 0.0
        return result

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every paper (aligned with ``ids``) for already analysed query terms.

        A term repeated in the query counts once per repetition, so a pasted abstract weighs
        its recurring words more, as BM25 does for long queries.
        """
        token_ids = [token for token in map(self.token_id, terms) if token is not None]
        if self.retriever is None or not token_ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.retriever.get_scores_from_ids(token_ids), dtype=np.float32)  # type: ignore[attr-defined]

    def search(self, terms: list[str], k: int, *, subset: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (pk, score) with a positive score, best first; ``subset`` restricts to those pks."""
        return self.top(self.scores(terms), k, subset=subset)

    def top(self, scores: np.ndarray, k: int, *, subset: np.ndarray | None = None) -> list[tuple[int, float]]:
        """``search`` over scores already computed by ``scores`` (left unchanged)."""
        if not len(self.ids):
            return []
        if subset is None:
            candidates = np.flatnonzero(scores > 0)
        else:
            positions, found = self.positions(subset)
            candidates = np.unique(positions[found])  # ascending, as flatnonzero gives them
            candidates = candidates[scores[candidates] > 0]
        if k < len(candidates):
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        # Ties broken by id so results are stable from one build to the next.
        ids, values = self.ids[candidates], scores[candidates]
        order = np.lexsort((ids, -values))
        return list(zip(ids[order].tolist(), values[order].tolist(), strict=True))

    def scores_for(self, terms: list[str], pks: Iterable[int]) -> dict[int, float]:
        """Exact BM25 scores of the given papers (0.0 for a paper not in this build)."""
        pks = list(pks)
        if not pks:
            return {}
        return self.scores_at(self.scores(terms), pks)

    def scores_at(self, scores: np.ndarray, pks: list[int]) -> dict[int, float]:
        """``scores_for`` over scores already computed by ``scores``."""
        if not len(self.ids):
            return dict.fromkeys(pks, 0.0)
        positions, found = self.positions(pks)
        values = np.where(found, scores[np.where(found, positions, 0)], 0.0).tolist()
        return dict(zip(pks, values, strict=True))

    def save(self, directory: Path, *, subdir: str = SUBDIR) -> list[str]:
        """Write the index under ``directory/<subdir>``; return file names relative to directory."""
        target = directory / subdir
        target.mkdir(parents=True, exist_ok=True)
        np.save(target / IDS_FILE, np.asarray(self.ids, dtype=np.int64), allow_pickle=False)
        names = [IDS_FILE]
        if self.retriever is not None:
            self.retriever.save(str(target), show_progress=False)  # type: ignore[attr-defined]
            SortedVocab.write(target, self.retriever.vocab_dict)  # type: ignore[attr-defined]
            names += sorted(p.name for p in target.iterdir() if p.name != IDS_FILE)
        else:
            (target / "params.index.json").write_text(json.dumps({"k1": self.k1, "b": self.b, "num_docs": 0}))
            names.append("params.index.json")
        return [f"{subdir}/{name}" for name in names]

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True, subdir: str = SUBDIR) -> KeywordIndex:
        import bm25s

        target = directory / subdir
        # Memory-mapped like the bm25s arrays: shared page cache, not a copy per web process.
        ids = np.load(target / IDS_FILE, mmap_mode="r" if mmap else None, allow_pickle=False)
        params = json.loads((target / "params.index.json").read_text())
        retriever, vocab = None, None
        if len(ids):
            # Builds written before VOCAB_FILES existed keep bm25s's JSON vocabulary.
            sorted_vocab = all((target / name).is_file() for name in VOCAB_FILES)
            retriever = bm25s.BM25.load(str(target), mmap=mmap, allow_pickle=False, show_progress=False, load_vocab=not sorted_vocab)
            vocab = SortedVocab.load(target, mmap=mmap) if sorted_vocab else None
            if retriever.scores["num_docs"] != len(ids):
                raise ValueError(f"keyword index holds {retriever.scores['num_docs']} documents for {len(ids)} ids")
        index = cls(ids=ids, retriever=retriever, k1=float(params["k1"]), b=float(params["b"]), vocab=vocab)
        if subdir == SUBDIR:
            # Builds made before the author field and the spelling words load without them.
            if (directory / AUTHORS_SUBDIR / IDS_FILE).is_file():
                index.authors = cls.load(directory, mmap=mmap, subdir=AUTHORS_SUBDIR)
            if (target / WORDS_FILE).is_file():
                index.words_file = target / WORDS_FILE
            if all((target / name).is_file() for name in TITLE_FILES):
                mode = "r" if mmap else None
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


def build_keyword_index(
    *, ids: np.ndarray, texts: Iterable[str] = (), k1: float, b: float, token_lists: Iterable[list[str]] | None = None
) -> KeywordIndex:
    """BM25 over the given texts (aligned with ``ids``), or over ready ``token_lists`` (a field
    with its own tokens, such as authors)."""
    import bm25s

    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return KeywordIndex(ids=ids, retriever=None, k1=k1, b=b)
    retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
    if token_lists is not None:
        corpus = [list(tokens) for tokens in token_lists]
    else:
        # An empty document still needs a row so positions stay aligned with ids. Identical texts
        # (duplicates, the benchmark's generated papers) are analysed once and share one token list.
        analysed: dict[str, list[str]] = {}

        def tokens(text: str) -> list[str]:
            if text not in analysed:
                analysed[text] = analyze(text)
            return analysed[text]

        corpus = [tokens(text) for text in texts]
    if not any(corpus):
        # bm25s cannot index a corpus without a single token (e.g. no paper lists an author).
        return KeywordIndex(ids=ids[:0], retriever=None, k1=k1, b=b)
    retriever.index(corpus, show_progress=False)
    return KeywordIndex(ids=ids, retriever=retriever, k1=k1, b=b)


def title_hash(normalized: str) -> int:
    """A stable signed 64-bit hash of a normalised title (papers.normalize.normalize_title)."""
    return int.from_bytes(hashlib.blake2b(normalized.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def spelling_words(texts: Iterable[str], *, min_count: int = SPELLING_MIN_COUNT) -> list[tuple[str, int]]:
    """Lower-cased words of four or more letters and how often they occur, most frequent first.

    What spelling correction may suggest (search/spelling.py): only words the collection holds,
    at least ``min_count`` times, so a one-off typo in an abstract is never offered.
    """
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word for word in (m.group().lower() for m in _WORD.finditer(text)))
    return sorted(((w, c) for w, c in counts.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))


def write_keyword_index(directory: Path, *, ids: np.ndarray, chunk_size: int = 5_000) -> tuple[list[str], dict[str, object]]:
    """Index the titles and abstracts of ``ids`` (read from the database) into a build directory.

    Called by the index build with the very ids of its vectors, so both halves of a build hold
    the same papers. Beside the text index it writes the author-name field (``authors/``,
    search/authors.py tokens) and the collection's word counts for spelling (``words.txt``).
    Returns the written file names and the manifest facts.
    """
    from django.conf import settings

    from papers.models import Paper
    from papers.normalize import normalize_title
    from search.authors import paper_tokens
    from search.latex import to_text

    ids = np.asarray(ids, dtype=np.int64)
    texts: dict[int, str] = {}
    names: dict[int, list[str]] = {}
    titles: list[tuple[int, int]] = []
    plain: list[str] = []
    for start in range(0, len(ids), chunk_size):
        chunk = [int(pk) for pk in ids[start : start + chunk_size]]
        rows = Paper.objects.filter(pk__in=chunk).values_list("pk", "title", "abstract", "authors", "normalized_title")
        for pk, title, abstract, authors, normalized in rows:
            texts[pk] = keyword_text(title, abstract, title_weight=settings.SEARCH_BM25_TITLE_WEIGHT)
            names[pk] = paper_tokens(authors or [])
            titles.append((title_hash(normalized), pk))
            # A title copied from a page reads as rendered text ("χ = 1000", not "$\chi = 1000$").
            readable = normalize_title(to_text(title))[:512]
            if readable != normalized:
                titles.append((title_hash(readable), pk))
            plain.append(f"{title} {abstract}")
    index = build_keyword_index(
        ids=ids, texts=(texts.get(int(pk), "") for pk in ids), k1=settings.SEARCH_BM25_K1, b=settings.SEARCH_BM25_B
    )
    authors = build_keyword_index(
        ids=ids, token_lists=(names.get(int(pk), []) for pk in ids), k1=settings.SEARCH_BM25_K1, b=settings.SEARCH_BM25_B
    )
    files = index.save(directory)
    files += authors.save(directory, subdir=AUTHORS_SUBDIR)
    words = spelling_words(plain)
    (directory / SUBDIR).mkdir(parents=True, exist_ok=True)
    (directory / SUBDIR / WORDS_FILE).write_text("".join(f"{w} {c}\n" for w, c in words), encoding="utf-8")
    files.append(f"{SUBDIR}/{WORDS_FILE}")
    titles.sort()
    for name, column in zip(TITLE_FILES, ([h for h, _ in titles], [pk for _, pk in titles]), strict=True):
        np.save(directory / SUBDIR / name, np.asarray(column, dtype=np.int64), allow_pickle=False)
        files.append(f"{SUBDIR}/{name}")
    facts: dict[str, object] = {
        "backend": "bm25s", "count": len(index), "k1": index.k1, "b": index.b,
        "title_weight": settings.SEARCH_BM25_TITLE_WEIGHT, "authors": len(authors), "spelling_words": len(words),
    }
    return files, facts
