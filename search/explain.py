"""Why a hit matched: highlighted title and abstract, the closest sentence, a one-line summary.

Explanations are built from what a ranking returned (``search.ranking.Ranked``): the same index
build and the same analysed query, so a build published meanwhile cannot mix into one answer.

Imported text is untrusted: every piece of it is HTML-escaped first, and only then wrapped in
``<mark>`` where a query term matched, so a ``<script>`` in an abstract is shown, never run.
A word is marked when its index term (lower-cased, stemmed; search/keyword.py) is one of the
query's, so "vaccinated" in the text is marked for the query "vaccine".
"""

from __future__ import annotations

import functools
import html
import math
import re
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from search.keyword import TOKEN, _stopwords, analyze, stem, word_spans
from search.ranking import AnalysedQuery, Fused, Ranked

if TYPE_CHECKING:
    from papers.models import Paper
    from search.navigation import Navigation

# A sentence ends at . ! or ? followed by space and a capital, digit or bracket.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
MAX_SENTENCES = 40  # per abstract; more is never worth the encoding time
# Embedding every sentence of a page is the costliest part of a request (docs/relevance.md), so
# meaning only decides when no sentence shares a query word, among the first few sentences.
NO_OVERLAP_SHORTLIST = 4
# Least recently used sentence vectors, shared by a web process's threads (gthread), so every
# read and write holds the lock; encoding runs outside it.
_sentence_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
_sentence_lock = threading.Lock()
_CACHE_SIZE = 2_000  # sentence vectors (2,000 x 384 float32 and their keys): bounds a web worker's memory


# A result list (API items, related papers, feeds) carries at most this much of an abstract; the
# paper itself (its page, /api/papers/{id}) has it whole. Bounds a response whatever is stored.
RESULT_ABSTRACT_CHARS = 2_000
RESULT_SENTENCE_CHARS = 600  # best_sentence: an abstract without full stops is one "sentence"
RESULT_TITLE_CHARS = 1_000


def bounded(text: str, limit: int = RESULT_ABSTRACT_CHARS) -> str:
    """``text`` when it fits ``limit`` characters, else cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[-100:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def bounded_html(markup: str, limit: int = RESULT_ABSTRACT_CHARS) -> str:
    """Escaped HTML (with <mark>s) cut to ``limit`` characters of text, tags kept balanced."""
    from django.utils.text import Truncator

    return markup if len(markup) <= limit else Truncator(markup).chars(limit, html=True)


Span = tuple[int, int, str]  # (start, end, index term) of one word, as search.keyword.word_spans yields


def spans(text: str, only: Collection[str] | None = None) -> list[Span]:
    """Every indexable word of ``text`` with its index term: tokenised once, used by every step below.

    Exactly ``list(word_spans(text))``, without a generator step per word (a page has thousands).
    ``only``: just the words whose index term is in it, exactly ``[s for s in spans(text) if s[2]
    in only]``, found without tokenising and stemming every word (``_could_be``): what an
    explanation needs, since it looks only at the query's terms.
    """
    stop = _stopwords()
    if only is not None:
        if not only:
            return []
        lowered = text.lower()
        if len(lowered) == len(text):  # else a character changed length: offsets would shift
            return [
                (match.start(), match.end(), term)
                for match in _could_be(only if isinstance(only, frozenset) else frozenset(only)).finditer(lowered)
                if len(word := match.group()) > 1 and word not in stop and (term := stem(word)) in only
            ]
        return [span for span in spans(text) if span[2] in only]
    return [
        (match.start(), match.end(), stem(word))
        for match in TOKEN.finditer(text)
        if (word := match.group().lower()) not in stop
    ]


# An index term (a Snowball English stem) never differs from its lower-cased word before its last
# STEM_TAIL characters: the stemmer only rewrites suffixes ("-ational" -> "-ate", "y" -> "i",
# "dying" -> "die"). Checked for all 172,501 distinct words of the 115k arXiv corpus (two
# characters already suffice there; tests/search/test_explanations_look_only_at_the_words_that_can_be_query_terms.py).
STEM_TAIL = 3


@functools.lru_cache(maxsize=256)
def _could_be(terms: frozenset[str]) -> re.Pattern[str]:
    """Whole lower-case words that begin as one of ``terms`` does (its first characters, all but
    its last STEM_TAIL, at least one): every word whose index term is in ``terms`` is among them,
    and on a typical abstract few others, so few words are stemmed. Same word bounds as TOKEN."""
    prefixes = sorted({term[: max(1, len(term) - STEM_TAIL)] for term in terms}, key=lambda p: (-len(p), p))
    return re.compile(r"(?u)\b(?:" + "|".join(re.escape(p) for p in prefixes) + r")\w*")


def highlight(text: str, terms: set[str], *, words: list[Span] | None = None) -> SafeString:
    """``text`` escaped, with every word whose index term is in ``terms`` wrapped in <mark>.

    ``words``: ``spans(text)`` when already computed.
    """
    if not terms:
        return mark_safe(escape(text))
    out: list[str] = []
    position = 0
    # html.escape is what django.utils.html.escape applies, without its lazy-string wrapper per piece.
    for start, end, term in word_spans(text) if words is None else words:
        if term in terms:
            out.append(html.escape(text[position:start]))
            out.append(f"<mark>{html.escape(text[start:end])}</mark>")
            position = end
    out.append(html.escape(text[position:]))
    return mark_safe("".join(out))


@functools.lru_cache(maxsize=1)
def _explanation_stopwords() -> frozenset[str]:
    # BM25's list is short (33 words: "from", "we", "using" are index terms, with a low idf);
    # an explanation that says "matches from" tells a reader nothing, so it uses scikit-learn's
    # longer English list. Ranking is unchanged.
    return _sklearn_english_stop_words() | _stopwords()


def _sklearn_english_stop_words() -> frozenset[str]:
    """scikit-learn's ENGLISH_STOP_WORDS, read from its own module file without importing
    scikit-learn: ``import sklearn.feature_extraction.text`` loads ~990 modules (SciPy's sparse
    matrices among them) and cost every web worker ~47 MB of private memory at its first
    explanation (docs/scale.md, "Run 10"), for a list of 318 words. The file is a plain
    assignment with no imports; the test compares the result with scikit-learn's own list."""
    import importlib.util
    from pathlib import Path

    package = importlib.util.find_spec("sklearn")  # locates the package without running it
    if package is None or package.origin is None:
        raise ImportError("scikit-learn is not installed (its English stop words are read from it)")
    source = Path(package.origin).parent / "feature_extraction" / "_stop_words.py"
    spec = importlib.util.spec_from_file_location("_paperscope_sklearn_stop_words", source)
    if spec is None or spec.loader is None:  # pragma: no cover - a file path always has a loader
        raise ImportError(f"cannot read {source}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return frozenset(module.ENGLISH_STOP_WORDS)


def query_terms(query: str | AnalysedQuery) -> dict[str, str]:
    """The query's index terms that say something (no stop words), each with the first word of
    the query that produced it. ``query``: the text, or the text as the ranking analysed it."""
    analysed = AnalysedQuery.of(query) if isinstance(query, str) else query
    stop = _explanation_stopwords()
    terms: dict[str, str] = {}
    for term, word in zip(analysed.terms, analysed.words, strict=True):
        if word not in stop:
            terms.setdefault(term, word)
    return terms


def matched_terms(
    query: dict[str, str], *, title: str, abstract: str, title_words: list[Span] | None = None,
    abstract_words: list[Span] | None = None,
) -> list[str]:
    """Query words (as the reader typed them) whose terms occur in the title or abstract."""
    present = {t for _, _, t in title_words} if title_words is not None else set(analyze(title))
    present |= {t for _, _, t in abstract_words} if abstract_words is not None else set(analyze(abstract))
    return [word for term, word in query.items() if term in present]


def sentence_bounds(text: str) -> list[tuple[int, int, str]]:
    """(start, end, sentence) of each sentence of ``text``, offsets into ``text`` itself."""
    lead = len(text) - len(text.lstrip())
    body = text.strip()
    found: list[tuple[int, int, str]] = []
    start = 0
    for cut in [*SENTENCE_END.finditer(body), None]:
        end = cut.start() if cut else len(body)
        piece = body[start:end]
        if piece.strip():
            left = start + len(piece) - len(piece.lstrip())
            found.append((lead + left, lead + left + len(piece.strip()), piece.strip()))
            if len(found) == MAX_SENTENCES:
                break
        start = cut.end() if cut else start
    return found


def sentences(text: str) -> list[str]:
    """The sentences of an abstract (a simple splitter; abstracts are well punctuated)."""
    return [sentence for _, _, sentence in sentence_bounds(text)]


def _encode_cached(texts: Sequence[str]) -> dict[str, np.ndarray]:
    """A vector for each of ``texts``: from the cache where there, else encoded in one batch.

    The answer is built from this call's own dict, never read back from the shared cache, so
    an eviction (by this batch when it exceeds the cache, or by another thread) cannot lose a
    vector. Not functools.lru_cache: that would encode one sentence per model call.
    """
    from search import embedder

    wanted = list(dict.fromkeys(texts))
    found: dict[str, np.ndarray] = {}
    with _sentence_lock:
        for text in wanted:
            vector = _sentence_vectors.get(text)
            if vector is not None:
                _sentence_vectors.move_to_end(text)
                found[text] = vector
    missing = [t for t in wanted if t not in found]
    if missing:
        encoded = dict(zip(missing, embedder.encode(missing), strict=True))
        found.update(encoded)
        with _sentence_lock:
            for text, vector in encoded.items():
                _sentence_vectors[text] = vector
                _sentence_vectors.move_to_end(text)
            while len(_sentence_vectors) > _CACHE_SIZE:
                _sentence_vectors.popitem(last=False)
    return found


def best_sentences(
    abstracts: Sequence[str],
    *,
    query_vector: np.ndarray | None,
    query: dict[str, str],
    idf: dict[str, float] | None = None,
    words: Sequence[list[Span]] | None = None,
) -> list[str]:
    """For each abstract, the sentence closest to the query.

    The sentence whose shared query terms weigh most (each term by its idf, so a rare word
    counts more than a common one; the earliest among equals). When no sentence shares a term
    and the query was embedded, the one closest in meaning among the first few (cosine of its
    embedding with the query's; encoded in one batch for the page, and cached).
    ``words``: ``spans(abstract)`` of each abstract when already computed.
    """
    weights = {term: (idf or {}).get(term, 1.0) or 1e-6 for term in query}

    def lexical(terms: set[str]) -> float:
        # fsum: exact, so equal weights tie (and the earliest sentence wins) whatever order the
        # set yields its terms in; a plain sum's last bit varied with the process's hash seed.
        return math.fsum(weights[t] for t in terms if t in weights)

    chosen: list[str] = []
    pending: dict[int, list[str]] = {}
    for i, abstract in enumerate(abstracts):
        bounds = sentence_bounds(abstract)
        ss = [sentence for _, _, sentence in bounds]
        # A word never spans a sentence break (a break is whitespace), so each word of the
        # abstract falls inside exactly one sentence: the abstract is tokenised once.
        spans_of = spans(abstract) if words is None else words[i]
        starts = [start for start, _, _ in spans_of]
        terms = [
            {term for _, _, term in spans_of[bisect_left(starts, low) : bisect_left(starts, high)]} for low, high, _ in bounds
        ]
        scored = [(lexical(terms[j]), -j, s) for j, s in enumerate(ss)]
        best = max(scored, default=(0.0, 0, ""))
        chosen.append(best[2])
        if best[0] == 0.0 and query_vector is not None and len(ss) > 1:
            pending[i] = ss[:NO_OVERLAP_SHORTLIST]
    if pending:
        vectors = _encode_cached([s for ss in pending.values() for s in ss])
        q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        for i, ss in pending.items():
            chosen[i] = max(ss, key=lambda s: float(vectors[s] @ q))
    return chosen


def summary(*, mode: str, dense: float | None, keyword: float | None, matched: list[str], query_size: int,
            dense_part: float | None = None, keyword_part: float | None = None) -> str:
    """One line a reader can check: which words matched and how close the meaning is."""
    parts: list[str] = []
    if mode != "dense" or matched:
        if matched:
            shown = ", ".join(matched[:5]) + (f" and {len(matched) - 5} more" if len(matched) > 5 else "")
            parts.append(f"matches {len(matched)} of {query_size} query terms ({shown})")
        elif query_size:
            parts.append("none of the query terms occur in it")
    if dense is not None:
        parts.append(f"meaning similarity {dense:.2f}")
    if mode == "hybrid" and dense_part is not None and keyword_part is not None:
        leader = "meaning" if dense_part >= keyword_part else "keywords"
        parts.append(f"ranked mostly by {leader}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] if text else ""


# --- explanations of a ranking --------------------------------------------------------------------


@dataclass
class Explanation:
    """Why a hit matched: contributions, highlighted text (safe HTML), closest sentence."""

    dense: float | None = None  # cosine similarity of query and paper
    keyword: float | None = None  # BM25 score
    matched_terms: list[str] = field(default_factory=list)
    title_html: str = ""
    abstract_html: str = ""
    best_sentence: str = ""
    summary: str = ""
    dense_part: float | None = None  # what each side added to the fused score (hybrid)
    keyword_part: float | None = None


_NAMED_BY = {
    "arxiv": "The arXiv id you entered", "doi": "The DOI you entered", "title": "The exact title you entered",
}


def named_reason(named: Navigation) -> str:
    """Why the papers a query named (search/navigation.py) are listed first, as a reader reads it."""
    return _NAMED_BY.get(named.kind) or f"A paper by {named.author}"


def explanations(
    ranked: Ranked,
    window: Sequence[Fused],
    papers: Mapping[int, Paper],
    *,
    named: Navigation | None = None,
    sentence_by_meaning: bool = True,
) -> list[Explanation]:
    """Why each result of ``window`` (a slice of ``ranked.fused`` whose rows are all in ``papers``)
    matched, read from the build and the analysed query of ``ranked``.

    ``named``: the papers the query named, whose summary says they are listed first.
    ``sentence_by_meaning``: where no sentence of an abstract shares a query term, embed its
    first few sentences to find the closest in meaning (the costly part of an explanation);
    without it such a hit's best sentence is its first.
    """
    mode = ranked.mode
    keyword_index = ranked.index.keyword
    wanted = query_terms(ranked.query)
    # The side not used for ranking is still reported, so a reader sees both numbers.
    keyword_scores = (
        keyword_index.scores_for(list(ranked.query.terms), [f.pk for f in window])
        if keyword_index is not None and mode == "dense"
        else {}
    )
    # What the reader sees: LaTeX rendered as text (stored when written); highlighting and
    # sentences work on that.
    titles = [papers[f.pk].readable_title for f in window]
    abstracts = [papers[f.pk].readable_abstract for f in window]
    # Each title and abstract is read once, for matching, highlighting and best sentences, which
    # all look only at the query's terms: just the words that are one of them.
    terms = frozenset(wanted)
    abstract_words = [spans(abstract, only=terms) for abstract in abstracts]
    idf = keyword_index.idf(wanted) if keyword_index is not None else None
    best = best_sentences(
        abstracts, query_vector=ranked.query_vector if sentence_by_meaning else None, query=wanted, idf=idf,
        words=abstract_words,
    )
    hybrid = mode == "hybrid"
    named_pks = set(named.pks) if named else set()
    found: list[Explanation] = []
    for fused, title, abstract, sentence, words in zip(window, titles, abstracts, best, abstract_words, strict=True):
        title_words = spans(title, only=terms)
        matched = matched_terms(wanted, title=title, abstract=abstract, title_words=title_words, abstract_words=words)
        matched_set = {term for term, word in wanted.items() if word in matched}
        keyword_score = fused.keyword if fused.keyword is not None else keyword_scores.get(fused.pk)
        dense_part = fused.dense_part if hybrid else None
        keyword_part = fused.keyword_part if hybrid else None
        found.append(
            Explanation(
                dense=fused.dense,
                keyword=keyword_score,
                matched_terms=matched,
                title_html=highlight(title, matched_set, words=title_words),
                abstract_html=highlight(abstract, matched_set, words=words),
                best_sentence=sentence,
                # The API's one-line summary of a named paper says why it is first, as the page does.
                summary=f"{named_reason(named)}; listed first" if named and fused.pk in named_pks else summary(
                    mode=mode, dense=fused.dense, keyword=keyword_score, matched=matched, query_size=len(wanted),
                    dense_part=dense_part, keyword_part=keyword_part,
                ),
                dense_part=dense_part,
                keyword_part=keyword_part,
            )
        )
    return found
