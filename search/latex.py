"""LaTeX in titles and abstracts shown as readable Unicode text (pylatexenc), on the server.

arXiv metadata keeps the authors' markup: ``$\\chi = 1000$``, ``\\texttt{Athena++}``,
``$10^{-3}$ M$_\\odot$``. A reader gets ``χ = 1000``, ``Athena++`` and ``10^-3 M_⊙``. Only the
text shown changes: the index keeps the words as imported, and highlighting runs over the
converted text, so a query word is still marked where it appears.

The output is plain text (escaped by the template or by search/explain.py's highlighter like any
other imported text), so markup in an abstract is never run.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

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


@functools.lru_cache(maxsize=4096)
def to_text(text: str) -> str:
    """``text`` with its LaTeX markup rendered as Unicode; unchanged when it has none."""
    if not text or not _MARKUP.search(text) or len(text) > MAX_CHARS:
        return text
    from pylatexenc import latexwalker

    source = _LITERAL.sub(r"\\\1", text)
    if len(_DOLLAR.findall(source)) % 2:  # an unpaired $ is a dollar sign, not math
        source = _DOLLAR.sub(r"\\$", source)
    walker_context, converter = _converter()
    try:
        nodes = latexwalker.LatexWalker(source, latex_context=walker_context, tolerant_parsing=True).get_latex_nodes()[0]
        converted = converter.nodelist_to_text(nodes)
    except (latexwalker.LatexWalkerError, ValueError, IndexError, KeyError, TypeError, RecursionError):
        return text  # odd markup: the text as imported is still readable
    return " ".join(converted.split()) or text
