"""BibTeX for a paper, and its citation key (unique across the collection, stored on first use)."""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Iterator

from django.db import IntegrityError, connection
from django.db.models import Exists

from papers.models import Paper

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Title words that make poor citation keys ("a2024the" says nothing).
_STOP_WORDS = frozenset(
    ["a", "an", "the", "of", "on", "in", "for", "and", "to", "with", "from", "by", "via", "at", "is", "are", "towards", "toward", "using", "as", "its"]
)
# Characters that start a comment or break LaTeX when bare; arXiv metadata is TeX-flavoured
# already ("\\%", "$O(n)$"), so only the unescaped ones are escaped and math is left alone.
_KEY_BASE_MAX = 80  # the column holds 100: room for a suffix
_BARE_SPECIAL = re.compile(r"(?<!\\)([&%#])")


def _ascii_word(value: str) -> str:
    value = unicodedata.normalize("NFKD", value)
    return re.sub(r"[^a-z0-9]", "", value.encode("ascii", "ignore").decode().lower())


def _braces_balanced(value: str) -> bool:
    depth = 0
    for i, ch in enumerate(value):
        if ch in "{}" and i and value[i - 1] == "\\":
            continue
        depth += 1 if ch == "{" else -1 if ch == "}" else 0
        if depth < 0:
            return False
    return depth == 0


def _field(value: str) -> str:
    value = " ".join(value.split())
    value = _BARE_SPECIAL.sub(r"\\\1", value)
    if not _braces_balanced(value):
        # An unbalanced brace would swallow the rest of the .bib file: make every brace literal.
        value = re.sub(r"(?<!\\)([{}])", r"\\\1", value)
    return value


def _surname(author: str) -> str:
    # "Lovelace, Ada" and "Ada Lovelace" both give "lovelace".
    name = author.split(",")[0] if "," in author else (author.split() or [""])[-1]
    return _ascii_word(name)


def base_key(paper: Paper) -> str:
    """``lastname2024firstword``: the key style most reference managers generate (before disambiguation)."""
    surname = _surname(paper.authors[0]) if paper.authors else ""
    title_words = [_ascii_word(w) for w in paper.title.split()]
    first_word = next((w for w in title_words if w and w not in _STOP_WORDS), "")
    year = str(paper.published.year) if paper.published else ""
    key = f"{surname or 'anon'}{year}{first_word}"[:_KEY_BASE_MAX]
    return key if (surname or first_word) else f"paperscope{paper.pk}"


def _suffixes() -> Iterator[str]:
    # "", a..z, aa..zz: the suffix style of BibTeX styles and Zotero for same-author-same-year works.
    yield ""
    yield from string.ascii_lowercase
    for first in string.ascii_lowercase:
        for second in string.ascii_lowercase:
            yield first + second


def _assign(paper: Paper) -> str:
    """Give a paper its citation key: its base key, or the base with the first free suffix.

    First come, first served, and never changed afterwards, so a key a reader already cited
    stays valid. The common case (the base key is free) is one UPDATE guarded by NOT EXISTS;
    the unique column settles two processes that pick the same key in the same instant.
    """
    base = base_key(paper)
    key = base
    for _attempt in range(5):
        try:
            updated = (
                Paper.objects.filter(pk=paper.pk, citation_key__isnull=True)
                .exclude(Exists(Paper.objects.filter(citation_key=key)))
                .update(citation_key=key)
            )
        except IntegrityError:
            if connection.in_atomic_block:
                raise  # the caller's transaction is unusable now; only autocommit can retry
            updated = 0
        if updated:
            paper.citation_key = key
            return key
        stored = Paper.objects.filter(pk=paper.pk).values_list("citation_key", flat=True).first()
        if stored:  # another process gave this paper its key first
            paper.citation_key = stored
            return stored
        taken = set(Paper.objects.filter(citation_key__startswith=base).values_list("citation_key", flat=True))
        key = next((base + s for s in _suffixes() if base + s not in taken), f"{base}{paper.pk}")
    raise RuntimeError(f"could not give paper {paper.pk} a citation key")  # pragma: no cover - 5 races in a row


def citation_keys(papers: Iterable[Paper]) -> dict[int, str]:
    """Each paper's citation key (unique across the collection), assigning the missing ones."""
    return {paper.pk: citation_key(paper) for paper in papers}


def citation_key(paper: Paper) -> str:
    """The paper's citation key, unique across the collection (given on first use)."""
    if paper.citation_key:
        return paper.citation_key
    if paper.pk is None:  # an unsaved paper (a preview): nothing to be unique against yet
        return base_key(paper)
    return _assign(paper)


def _url(value: str) -> str:
    # Braces end a BibTeX value and a backslash starts a LaTeX command; percent-encoding them (and
    # spaces) keeps the URL the same address and the entry parseable.
    return value.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D").replace(" ", "%20")


def paper_bibtex(*, paper: Paper) -> str:
    """A BibTeX entry: @misc with arXiv eprint fields for preprints, @article when only a DOI is known."""
    entry_type = "article" if paper.doi and not paper.arxiv_id else "misc"
    fields: list[tuple[str, str]] = [("title", "{" + _field(paper.title) + "}")]
    if paper.authors:
        fields.append(("author", " and ".join(_field(a) for a in paper.authors)))
    if paper.published:
        fields.append(("year", str(paper.published.year)))
        fields.append(("month", _MONTHS[paper.published.month - 1]))
    if paper.arxiv_id:
        fields.append(("eprint", paper.arxiv_id))
        fields.append(("archivePrefix", "arXiv"))
        if paper.categories:
            fields.append(("primaryClass", _field(paper.categories[0])))
    if paper.doi:
        fields.append(("doi", _field(paper.doi)))
    url = paper.abs_url or paper.doi_url
    if url.startswith(("https://", "http://")):  # a link of any other scheme is never written out
        fields.append(("url", _url(url)))
    # Months are macros in BibTeX (no braces); every other value is braced.
    body = ",\n".join(
        f"  {name} = {value}" if name == "month" else f"  {name} = {{{value}}}" for name, value in fields
    )
    return f"@{entry_type}{{{citation_key(paper)},\n{body}\n}}\n"
