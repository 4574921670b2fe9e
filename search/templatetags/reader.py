"""Template filters of the reader's pages."""

from __future__ import annotations

from django import template

from search import latex

register = template.Library()


@register.filter
def readable(text: str) -> str:
    """A title or abstract with its LaTeX rendered as Unicode text (autoescaped like any text)."""
    return latex.to_text(str(text or ""))
