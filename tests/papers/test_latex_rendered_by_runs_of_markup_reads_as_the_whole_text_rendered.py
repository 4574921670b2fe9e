"""papers.latex.to_text sends only the runs of words that hold markup through pylatexenc (7x faster
than the whole text) and must read exactly as the whole text rendered in one pass: on every real
title and abstract of the 1k arXiv sample that has markup, and on the constructions that make a run
span several words (display math, groups, environments, a macro whose argument follows a space)."""

from __future__ import annotations

import json

import pytest

from papers.latex import _regions, _source, to_text, to_text_whole
from tests.conftest import SAMPLE_1K

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)

SPANNING = [
    r"A bound of $$\tilde{O}\left(\sum_{h} \frac{H^2 \log K}{\Delta_h}\right)$$ holds, with $K$ episodes.",
    r"The \textbf{\emph{(i)} satisfiability threshold} $\alpha_c$ and {\em the rest} of it.",
    r"the form \begin{equation} u_n = (h*u)_n + y_n - q_n \end{equation} where $q_n \in \{-1, 1\}$",
    r"We use \texttt {Athena++} and \frac {a} {b} with \( x + y \) and \[ z = 1 \] inline.",
    r"radiologists\' workload, na\"ive, \v{c}ech and 50% of R&D #1 cost $5 -- or 1--2 ``quoted'' ?`",
]


def test_every_sample_text_with_markup_reads_as_the_whole_text_rendered() -> None:
    texts = [
        text
        for line in SAMPLE_1K.read_text().splitlines()
        for text in (json.loads(line)["title"], json.loads(line)["abstract"])
        if _source(text) is not None
    ]
    assert len(texts) > 100  # the sample holds real markup to check
    assert [to_text(t) for t in texts] == [to_text_whole(t) for t in texts]


@pytest.mark.parametrize("text", SPANNING)
def test_a_run_of_markup_spans_the_words_its_groups_math_and_macros_need(text: str) -> None:
    assert to_text(text) == to_text_whole(text)
    assert "\\" not in to_text(text)


def test_plain_words_between_markup_are_copied_not_parsed() -> None:
    source = _source(r"Plain words here, then $\chi = 1000$ and more plain words.")
    assert source is not None
    pieces = _regions(source)
    assert (True, r"$\chi = 1000$") in pieces
    assert [p for markup, p in pieces if not markup] == ["Plain", "words", "here,", "then", "and", "more", "plain", "words."]
