"""LaTeX in titles and abstracts shown as readable Unicode text (pylatexenc), on the server.

arXiv metadata keeps the authors' markup: ``$\\chi = 1000$``, ``\\texttt{Athena++}``,
``$10^{-3}$ M$_\\odot$``. A reader gets ``χ = 1000``, ``Athena++`` and ``10^-3 M_⊙``. Only the
text shown changes: the index keeps the words as imported, and highlighting runs over the
converted text, so a query word is still marked where it appears.

Rendering costs ~1.2 ms per text with markup (8 ms when pylatexenc reads the whole text: see
``to_text``), so it runs when a paper is written (``Paper.rendered_title``/``rendered_abstract``),
not per request: a result page of 10 papers took 13 ms (p50) to 42 ms (p99) to render.

The output is plain text (escaped by the template or by search/explain.py's highlighter like any
other imported text), so markup in an abstract is never run.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from pylatexenc.latexwalker import LatexWalkerError as _ParseError

# A text without a backslash or a dollar has no markup worth parsing (most abstracts).
_MARKUP = re.compile(r"[\\$]")
# In abstracts these are meant literally ("50%", "R&D", "#1"), never as LaTeX comments or tabs.
_LITERAL = re.compile(r"(?<!\\)([%&#])")
_DOLLAR = re.compile(r"(?<!\\)\$")
# Font and text macros whose argument is the text itself.
_KEEP_ARGUMENT = (
    "texttt", "textsc", "textrm", "textsf", "textnormal", "textup", "textmd", "textsl", "mathrm", "mathtt", "mathsf",
    "mathbf", "mathit", "boldsymbol", "text", "mbox", "url", "textsuperscript", "textsubscript", "operatorname",
)
_DROP = ("cite", "citep", "citet", "ref", "eqref", "label", "footnote")
MAX_CHARS = 20_000  # longer texts are shown as imported: parsing them is not worth the time


@functools.lru_cache(maxsize=1)
def _converter() -> Any:
    from pylatexenc import latex2text, latexwalker, macrospec

    # In tolerant mode pylatexenc logs every odd brace it forgives at INFO: one log line per page
    # view of such an abstract says nothing an operator can act on.
    logging.getLogger("pylatexenc").setLevel(logging.WARNING)

    walker_context = latexwalker.get_default_latex_context_db()
    walker_context.add_context_category(
        "paperscope", prepend=True, macros=[macrospec.MacroSpec(name, "{") for name in _KEEP_ARGUMENT + _DROP]
    )
    text_context = latex2text.get_default_latex_context_db()
    text_context.add_context_category(
        "paperscope",
        prepend=True,
        macros=[latex2text.MacroTextSpec(name, simplify_repl="%(1)s") for name in _KEEP_ARGUMENT]
        + [latex2text.MacroTextSpec(name, simplify_repl="") for name in _DROP],
    )
    return walker_context, latex2text.LatexNodes2Text(latex_context=text_context, math_mode="text", strict_latex_spaces=False)


# What pylatexenc changes in running text (the rest of a text it passes through as is): macros,
# math, groups, escaped characters, ties, dashes, TeX quotes and "?`"/"!`".
_SPECIAL = re.compile(r"[\\$%&#{}~^_`]|--|''")
_OPEN_BRACE = re.compile(r"(?<!\\)\{")
_CLOSE_BRACE = re.compile(r"(?<!\\)\}")
_ENDS_IN_MACRO = re.compile(r"\\(?:[A-Za-z@]+\*?|['`^\"~=.])$")  # its argument may follow after a space
_DISPLAY = re.compile(r"(?<!\\)\$\$")


def _open(region: str) -> bool:
    """Whether ``region`` (whitespace-separated words of a text) leaves a group, math or an
    environment open, or ends in a macro, so that the next word belongs to it."""
    return bool(
        len(_OPEN_BRACE.findall(region)) > len(_CLOSE_BRACE.findall(region))
        or len(_DOLLAR.findall(region)) % 2
        or len(_DISPLAY.findall(region)) % 2
        or region.count("\\begin") > region.count("\\end")
        or region.count("\\(") > region.count("\\)")
        or region.count("\\[") > region.count("\\]")
        or _ENDS_IN_MACRO.search(region)
    )


def _regions(source: str) -> list[tuple[bool, str]]:
    """``source`` cut at spaces into (markup?, text) pieces: words pylatexenc leaves alone, and
    the shortest runs of words holding markup that close every group, math and environment they
    open and take every argument given. Each piece renders alone as it renders within the whole
    text."""
    pieces: list[tuple[bool, str]] = []
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", source)]
    n = 0
    while n < len(words):
        start, end = words[n]
        if not _SPECIAL.search(source, start, end):
            pieces.append((False, source[start:end]))
            n += 1
            continue
        # A macro's further arguments may follow its first after a space: "\frac {a} {b}".
        while n + 1 < len(words) and (_open(source[start:end]) or (source[end - 1] in "}]" and source[words[n + 1][0]] in "{[")):
            n += 1
            end = words[n][1]
        pieces.append((True, source[start:end]))
        n += 1
    return pieces


def _source(text: str) -> str | None:
    """What pylatexenc reads for ``text``: literal ``%&#`` and a lone ``$`` escaped; None when
    ``text`` has no markup (or is too long to be worth it) and is shown as it is."""
    if not text or not _MARKUP.search(text) or len(text) > MAX_CHARS:
        return None
    source = _LITERAL.sub(r"\\\1", text)
    if len(_DOLLAR.findall(source)) % 2:  # an unpaired $ is a dollar sign, not math
        source = _DOLLAR.sub(r"\\$", source)
    return source


def _render(source: str) -> str:
    from pylatexenc import latexwalker

    walker_context, converter = _converter()
    nodes = latexwalker.LatexWalker(source, latex_context=walker_context, tolerant_parsing=True).get_latex_nodes()[0]
    return str(converter.nodelist_to_text(nodes))


def _rendered(text: str, pieces: list[str]) -> str:
    return " ".join(" ".join(pieces).split()) or text


@functools.lru_cache(maxsize=4096)
def to_text(text: str) -> str:
    """``text`` with its LaTeX markup rendered as Unicode; unchanged when it has none.

    pylatexenc parses a character at a time (~8 ms for an abstract with markup), so only the runs
    of words that hold markup go through it (``_regions``) and the words between them are copied:
    7x faster. Over the 26,357 titles and abstracts with markup among the 115k real arXiv papers
    the text is the same as rendering each whole (``to_text_whole``) but for 3, where the whole
    pass loses words after a stray brace or spaces around math (docs/experiments/rendered_text.py).
    """
    source = _source(text)
    if source is None:
        return text
    try:
        return _rendered(text, [_render(piece) if markup else piece for markup, piece in _regions(source)])
    except (_ParseError, ValueError, IndexError, KeyError, TypeError, RecursionError):
        return text  # odd markup: the text as imported is still readable


def to_text_whole(text: str) -> str:
    """``to_text`` by one pylatexenc pass over the whole text: the reference it is checked against."""
    source = _source(text)
    if source is None:
        return text
    try:
        return _rendered(text, [_render(source)])
    except (_ParseError, ValueError, IndexError, KeyError, TypeError, RecursionError):
        return text
