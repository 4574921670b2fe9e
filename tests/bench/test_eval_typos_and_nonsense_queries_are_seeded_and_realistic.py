"""The robustness benchmark's inputs: seeded, realistic typos (one or two per query, never the
first letter) and random letter strings, the same on every run."""

from __future__ import annotations

import numpy as np
import pytest

from bench.evaluation import (
    KEYBOARD_NEIGHBOURS,
    misspell,
    nonsense_queries,
    typo_queries,
)

QUERIES = {str(i): text for i, text in enumerate([
    "A deficiency of vitamin B12 increases blood levels of homocysteine.",
    "Aspirin inhibits the production of PGE2.",
    "0-dimensional biomaterials show inductive properties.",
])}


def _edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count once)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def test_every_query_gets_one_or_two_typos_the_same_way_every_time() -> None:
    typed = typo_queries(QUERIES, seed=17)
    assert typed == typo_queries(QUERIES, seed=17)
    assert typed != typo_queries(QUERIES, seed=18)
    for qid, text in QUERIES.items():
        changed = [(a, b) for a, b in zip(text.split(), typed[qid].split(), strict=True) if a != b]
        assert 1 <= len(changed) <= 2
        for clean, wrong in changed:
            assert wrong[0] == clean[0] and _edits(clean, wrong) == 1


@pytest.mark.parametrize("kind", ["neighbour", "drop", "swap", "double"])
def test_each_kind_of_typo_is_one_edit(kind: str) -> None:
    rng = np.random.default_rng(3)
    for word in ("homocysteine", "vitamin", "blood"):
        wrong = misspell(word, kind, rng)
        assert _edits(word, wrong) == 1
        if kind == "neighbour":
            i = next(i for i, (a, b) in enumerate(zip(word, wrong, strict=True)) if a != b)
            assert wrong[i] in KEYBOARD_NEIGHBOURS[word[i]]


def test_nonsense_queries_are_random_letter_strings() -> None:
    queries = nonsense_queries(count=50, seed=17)
    assert queries == nonsense_queries(count=50, seed=17) and len(set(queries)) == 50
    for query in queries:
        words = query.split()
        assert 1 <= len(words) <= 3 and all(w.isalpha() and w.islower() and 4 <= len(w) <= 12 for w in words)
