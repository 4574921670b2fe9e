"""BibTeX for a paper (pure: reads the row's fields, no queries)."""

from __future__ import annotations

import re
import unicodedata

from papers.models import Paper

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Title words that make poor citation keys ("a2024the" says nothing).
_STOP_WORDS = frozenset(
    "a an the of on in for and to with from by via at is are towards toward using as its".split()
)
# Characters that start a comment or break LaTeX when bare; arXiv metadata is TeX-flavoured
# already ("\\%", "$O(n)$"), so only the unescaped ones are escaped and math is left alone.
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


def citation_key(paper: Paper) -> str:
    """``lastname2024firstword``: the key style most reference managers generate."""
    surname = _surname(paper.authors[0]) if paper.authors else ""
    title_words = [_ascii_word(w) for w in paper.title.split()]
    first_word = next((w for w in title_words if w and w not in _STOP_WORDS), "")
    year = str(paper.published.year) if paper.published else ""
    key = f"{surname or 'anon'}{year}{first_word}"
    return key if (surname or first_word) else f"paperscope{paper.pk}"


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
    if url:
        fields.append(("url", url))
    # Months are macros in BibTeX (no braces); every other value is braced.
    body = ",\n".join(
        f"  {name} = {value}" if name == "month" else f"  {name} = {{{value}}}" for name, value in fields
    )
    return f"@{entry_type}{{{citation_key(paper)},\n{body}\n}}\n"
