"""Navigational queries: the reader names one paper (an id, a URL, a DOI, its exact title) or one
author, and that paper or that author's papers come first; plus ``author:``, ``title:`` and
``cat:`` prefixes.

Everything here is a lookup, never a ranking: an arXiv id or DOI is looked up in the papers
table (unique columns), an exact title by its normalised key (indexed column), an author by the
author-name field of the keyword index (search/authors.py). The usual hybrid results follow.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

import numpy as np
from django.db.models import QuerySet

from papers.models import Paper
from papers.normalize import normalize_arxiv_id, normalize_doi, normalize_title
from search import authors
from search.keyword import KeywordIndex

PREFIXES = ("author", "title", "cat")
# author:"Radu Timofte", title:diffusion, cat:cs.CL (the value may be quoted)
_PREFIX = re.compile(r"""(?i)\b(author|title|cat):\s*("[^"]*"|'[^']*'|\S+)""")
MAX_ID_CHARS = 300
MAX_TITLE_CHARS = 512
MAX_AUTHOR_PAPERS = 1000  # an author listed on more papers is shown by their newest 1000
# Ids one author lookup may hand to "pk IN (...)": below SQLite's variable limit (32,766) even for a
# surname as common as "author:wang" in a large collection.
MAX_AUTHOR_IDS = 20_000


@dataclass(frozen=True)
class ParsedQuery:
    """A query split into its free text and the prefixes a reader typed."""

    text: str
    author: str = ""
    title: str = ""
    categories: tuple[str, ...] = ()

    @property
    def has_prefixes(self) -> bool:
        return bool(self.author or self.title or self.categories)


def _unquote(value: str) -> str:
    try:
        parts = shlex.split(value)
    except ValueError:  # an unbalanced quote: take the words as typed
        parts = [value.strip("\"'")]
    return " ".join(parts).strip()


def parse(query: str) -> ParsedQuery:
    """Split ``author:``, ``title:`` and ``cat:`` prefixes off a query (the last of each wins,
    categories accumulate). An arXiv URL's ``https:`` is not a prefix."""
    found: dict[str, str] = {}
    categories: list[str] = []

    def take(match: re.Match[str]) -> str:
        name, value = match.group(1).lower(), _unquote(match.group(2))
        if name == "cat":
            categories.extend(c for c in re.split(r"[\s,]+", value) if c)
        else:
            found[name] = value
        return " "

    text = _PREFIX.sub(take, query)
    return ParsedQuery(text=" ".join(text.split()), author=found.get("author", ""), title=found.get("title", ""), categories=tuple(categories))


@dataclass
class Navigation:
    """What the query names: papers to put first (in order) and why."""

    pks: list[int] = field(default_factory=list)
    kind: str = ""  # "arxiv", "doi", "title", "author" or ""
    author: str = ""  # the name as the reader typed it, for an author query

    def __bool__(self) -> bool:
        return bool(self.pks)


def _identifier(text: str, papers: QuerySet[Paper]) -> Navigation:
    if len(text) > MAX_ID_CHARS or len(text.split()) != 1:
        return Navigation()
    # Exact matches use the columns' unique indexes (iexact reads every row on SQLite); the import
    # stores both normalised the same way.
    if arxiv_id := normalize_arxiv_id(text):
        pks = list(papers.filter(arxiv_id=arxiv_id).values_list("pk", flat=True)[:1])
        return Navigation(pks=pks, kind="arxiv")
    if doi := normalize_doi(text):
        pks = list(papers.filter(doi=doi).values_list("pk", flat=True)[:1])
        if not pks:  # a DOI stored with capitals by an older import
            pks = list(papers.filter(doi__iexact=doi).values_list("pk", flat=True)[:1])
        return Navigation(pks=pks, kind="doi")
    return Navigation()


def _title(text: str, index: KeywordIndex | None) -> Navigation:
    """Papers whose whole title is the query (case, accents and punctuation aside), from the
    index build's title hashes: no database query. The ranking's one check of the papers table
    drops any that are hidden or filtered out since."""
    key = normalize_title(text)
    # One or two words are topics far more often than titles ("Attention", "Mamba").
    if index is None or len(text) > MAX_TITLE_CHARS or len(key.split()) < 3:
        return Navigation()
    return Navigation(pks=index.with_title(key[:512])[:5], kind="title")


def author_positions(name: str, index: KeywordIndex | None, *, surname_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(exact, variant) paper ids listing the author a reader typed (see authors.query_tokens).

    A single word is a surname and is looked up only when ``surname_only`` (an explicit
    ``author:`` prefix): bare words are topics.
    """
    empty = np.zeros(0, dtype=np.int64)
    field_index = index.authors if index is not None else None
    if field_index is None or not len(field_index):
        return empty, empty
    exact, variant = authors.query_tokens(name)
    if len(authors.name_words(name)) == 1 and not surname_only:
        return empty, empty
    found = [
        np.unique(np.concatenate([field_index.postings(t) for t in tokens] or [empty])) for tokens in (exact, variant)
    ]
    exact_ids = field_index.ids[found[0][:MAX_AUTHOR_IDS]] if len(found[0]) else empty
    if not len(exact_ids):
        # "Radu Timofte" but the collection only has "R. Timofte": that is the best there is.
        return (field_index.ids[found[1][:MAX_AUTHOR_IDS]] if len(found[1]) else empty), empty
    variant_ids = np.setdiff1d(field_index.ids[found[1]], exact_ids)[: MAX_AUTHOR_IDS - len(exact_ids)] if len(found[1]) else empty
    return exact_ids, variant_ids


def _newest(pks: np.ndarray, papers: QuerySet[Paper], limit: int) -> list[int]:
    if not len(pks):
        return []
    return list(
        papers.filter(pk__in=[int(pk) for pk in pks[:MAX_AUTHOR_IDS]]).order_by("-published", "-pk").values_list("pk", flat=True)[:limit]
    )


def author_papers(name: str, index: KeywordIndex | None, papers: QuerySet[Paper], *, limit: int = MAX_AUTHOR_PAPERS,
                  surname_only: bool = False) -> list[int]:
    """The visible papers of an author, exact-name matches newest first, then name variants."""
    exact, variant = author_positions(name, index, surname_only=surname_only)
    first = _newest(exact, papers, limit)
    return first + _newest(variant, papers, limit - len(first)) if len(first) < limit else first


def navigate(text: str, *, index: KeywordIndex | None, papers: QuerySet[Paper]) -> Navigation:
    """The paper(s) a query names, if any: an id or DOI, an exact title, or an author's name."""
    text = text.strip()
    if not text:
        return Navigation()
    if found := _identifier(text, papers):
        return found
    if found := _title(text, index):
        return found
    if authors.looks_like_name(text):
        pks = author_papers(text, index, papers)
        if pks:
            return Navigation(pks=pks, kind="author", author=text)
    return Navigation()
