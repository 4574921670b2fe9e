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
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.vector_index import sorted_lookup

SUBDIR = "keyword"
IDS_FILE = "ids.npy"
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

    def save(self, directory: Path) -> list[str]:
        """Write the index under ``directory/keyword``; return file names relative to directory."""
        target = directory / SUBDIR
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
        return [f"{SUBDIR}/{name}" for name in names]

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> KeywordIndex:
        import bm25s

        target = directory / SUBDIR
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
        return cls(ids=ids, retriever=retriever, k1=float(params["k1"]), b=float(params["b"]), vocab=vocab)


def keyword_text(title: str, abstract: str, *, title_weight: int = 1) -> str:
    """What BM25 indexes for a paper: the title ``title_weight`` times, then the abstract.

    Repeating the title is the simplest field boost (BM25F would weigh fields the same way);
    on SciFact's train split a title counted twice ranked better than once.
    """
    title = title.strip().rstrip(".")
    return ". ".join([title] * max(1, title_weight) + [abstract.strip()]) if title else abstract.strip()


def build_keyword_index(*, ids: np.ndarray, texts: Iterable[str], k1: float, b: float) -> KeywordIndex:
    """BM25 over the given texts (aligned with ``ids``)."""
    import bm25s

    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return KeywordIndex(ids=ids, retriever=None, k1=k1, b=b)
    retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
    # An empty document still needs a row so positions stay aligned with ids. Identical texts
    # (duplicates, the benchmark's generated papers) are analysed once and share one token list.
    analysed: dict[str, list[str]] = {}

    def tokens(text: str) -> list[str]:
        if text not in analysed:
            analysed[text] = analyze(text)
        return analysed[text]

    retriever.index([tokens(text) for text in texts], show_progress=False)
    return KeywordIndex(ids=ids, retriever=retriever, k1=k1, b=b)


def write_keyword_index(directory: Path, *, ids: np.ndarray, chunk_size: int = 5_000) -> tuple[list[str], dict[str, object]]:
    """Index the titles and abstracts of ``ids`` (read from the database) into a build directory.

    Called by the index build with the very ids of its vectors, so both halves of a build hold
    the same papers. Returns the written file names and the manifest facts.
    """
    from django.conf import settings

    from papers.models import Paper

    ids = np.asarray(ids, dtype=np.int64)
    texts: dict[int, str] = {}
    for start in range(0, len(ids), chunk_size):
        chunk = [int(pk) for pk in ids[start : start + chunk_size]]
        for pk, title, abstract in Paper.objects.filter(pk__in=chunk).values_list("pk", "title", "abstract"):
            texts[pk] = keyword_text(title, abstract, title_weight=settings.SEARCH_BM25_TITLE_WEIGHT)
    index = build_keyword_index(
        ids=ids, texts=(texts.get(int(pk), "") for pk in ids), k1=settings.SEARCH_BM25_K1, b=settings.SEARCH_BM25_B
    )
    facts: dict[str, object] = {
        "backend": "bm25s", "count": len(index), "k1": index.k1, "b": index.b,
        "title_weight": settings.SEARCH_BM25_TITLE_WEIGHT,
    }
    return index.save(directory), facts
