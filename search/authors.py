"""Author names as an index field of their own: normalised keys and the name variants they match.

A paper lists names however its source wrote them ("Radu Timofte", "R. Timofte", "Timofte, Radu",
"Radu-Andrei Timofte", "Zoë Müller"). Each name becomes a few index tokens:

* ``radu_timofte``: first given name + surname (accents folded, case-folded);
* ``r_timofte``: initial + surname, so a reader typing "R. Timofte" finds every R. Timofte;
* ``r__timofte``: a paper that lists only the initial ("R. Timofte"), so a reader typing
  "Radu Timofte" also finds it (but not "Razvan Timofte");
* ``timofte``: the surname alone (used only for an explicit ``author:timofte``).

The tokens go into their own BM25 index (search/keyword.py, ``authors`` sub-index) built with
the text index, so author lookups are memory-mapped postings, never a scan of the papers table.
Pure functions: no ORM, no index.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Words of a name: letters (any script), apostrophes and hyphens inside ("O'Brien", "Jean-Luc").
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*", re.UNICODE)
# What a typed name may consist of: name words, initials with dots, commas, spaces.
_NAME_QUERY = re.compile(r"^[^\W\d_][\w'’.\-, ]*$", re.UNICODE)
MAX_NAME_WORDS = 4  # "Maria del Carmen Garcia": longer queries are topics, not names


def fold(text: str) -> str:
    """Case-folded, accents removed ("Zoë Müller" -> "zoe muller")."""
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def name_words(name: str) -> list[str]:
    """The words of a name in given-names-first order ("Timofte, Radu" -> ["radu", "timofte"])."""
    name = fold(name).strip()
    if name.count(",") == 1:  # "Surname, Given names"
        surname, given = (part.strip() for part in name.split(","))
        name = f"{given} {surname}"
    words = []
    for word in _NAME_WORD.findall(name):
        # "Jean-Luc" counts as one given name; its initial is "j".
        words.append(word.replace("’", "'"))
    return words


def _key(word: str) -> str:
    # Index tokens must survive the keyword tokeniser's \w+ rule: no hyphens or apostrophes.
    return re.sub(r"[^\w]", "", word)


def name_tokens(name: str) -> list[str]:
    """Index tokens of one author name: full (first given + surname), initial + surname, surname."""
    words = name_words(name)
    if not words:
        return []
    surname = _key(words[-1])
    if len(words) == 1:
        return [surname]
    first = _key(words[0])
    if len(first) == 1:
        return [f"{first}_{surname}", f"{first}__{surname}", surname]
    return [f"{first}_{surname}", f"{first[0]}_{surname}", surname]


def paper_tokens(authors: Iterable[str]) -> list[str]:
    """Every index token of a paper's author list (each name's tokens once)."""
    tokens: list[str] = []
    for name in authors:
        tokens.extend(dict.fromkeys(name_tokens(str(name))))
    return tokens


def looks_like_name(text: str) -> bool:
    """True for two to MAX_NAME_WORDS words of letters (initials and one comma allowed)."""
    text = text.strip()
    if not text or len(text) > 120 or not _NAME_QUERY.match(text) or text.count(",") > 1:
        return False
    return 2 <= len(name_words(text)) <= MAX_NAME_WORDS


def query_tokens(name: str) -> tuple[list[str], list[str]]:
    """(exact, variant) tokens a typed name is looked up by.

    "Radu Timofte": exact ``radu_timofte``, variant ``r__timofte`` (papers that list "R. Timofte").
    "R. Timofte": exact ``r_timofte`` (it also matches every Radu, Razvan... Timofte; the reader
    typed only an initial). A single word is a surname.
    """
    words = name_words(name)
    if not words:
        return [], []
    surname = _key(words[-1])
    if len(words) == 1:
        return [surname], []
    first = _key(words[0])
    if len(first) == 1:
        return [f"{first}_{surname}"], []
    return [f"{first}_{surname}"], [f"{first[0]}__{surname}"]


def same_author(name: str, typed: str) -> bool:
    """Whether a listed ``name`` is the author a reader typed (full name, or initial + surname)."""
    exact, variant = query_tokens(typed)
    listed = set(name_tokens(name))
    return bool(listed.intersection(exact) or listed.intersection(variant))
