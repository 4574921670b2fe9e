"""Segments are an implementation detail: after papers are added, removed and segments merged,
every score equals that of one bm25s index ("lucene" BM25) over the live papers."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
import pytest

from search.keyword import (
    KeywordIndex,
    analyze,
    build_keyword_index,
    build_segment,
    merge_plan,
)

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)

WORDS = ["graph", "neural", "quantum", "protein", "galaxy", "lattice", "entropy", "spectral", "tidal", "coral"]


def _text(i: int) -> str:
    return " ".join(WORDS[(i * p) % len(WORDS)] for p in (1, 3, 7, 11)[: 1 + i % 4]) + f" paper{i % 37}"


def _reference(texts: dict[int, str], query: list[str]) -> dict[int, float]:
    pks = sorted(texts)
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index([analyze(texts[pk]) for pk in pks], show_progress=False)
    tokens = [retriever.vocab_dict[t] for t in query if t in retriever.vocab_dict]
    scores = retriever.get_scores_from_ids(tokens) if tokens else np.zeros(len(pks))
    return dict(zip(pks, scores.tolist(), strict=True))


def test_scores_equal_one_bm25s_index_through_adds_removals_and_merges(tmp_path: Path) -> None:
    texts = {pk: _text(pk) for pk in range(1, 801)}
    index = build_keyword_index(ids=np.asarray(sorted(texts)), texts=[texts[pk] for pk in sorted(texts)], k1=1.2, b=0.75)
    next_pk = 801
    for step in range(6):
        removed = [pk for pk in sorted(texts) if pk % (7 + step) == 0][:40]
        changed = [pk for pk in sorted(texts) if pk % (11 + step) == 1][:5]
        added = list(range(next_pk, next_pk + 150 * (step + 1))) + changed
        next_pk += 150 * (step + 1)
        for pk in removed:
            del texts[pk]
        texts.update({pk: _text(pk + step) for pk in added})
        segment = build_segment(f"s-{step + 1}", ids=np.asarray(added), texts=[texts[pk] for pk in added])
        index = index.updated(removed=np.asarray(removed + changed), added=segment)
        target = tmp_path / str(step)
        index.save(target)
        index = KeywordIndex.load(target)  # the next step links these segments
        assert len(index) == len(texts)
        assert sorted(index.ids[index.ids >= 0].tolist()) == sorted(texts)
        for query in (["graph", "galaxi"], ["tidal", "tidal", "paper3"], ["zzz"], ["coral", "quantum", "spectral"]):
            assert index.scores_for(query, sorted(texts)) == pytest.approx(_reference(texts, query), rel=1e-5, abs=1e-7)
    assert len(index.segments) < 7  # merged along the way, not one segment per step


def test_the_merge_plan_keeps_segment_sizes_geometric() -> None:
    assert merge_plan([100_000, 1_000], [0, 0]) == 2  # a small new segment waits
    assert merge_plan([100_000, 1_000, 1_000], [0, 0, 0]) == 1  # two equal small ones merge
    assert merge_plan([100_000, 2_000, 1_000, 1_000], [0, 0, 0, 0]) == 1  # and cascade
    assert merge_plan([100_000, 1_000], [40_000, 0]) == 0  # a segment 29% removed is rewritten
    assert merge_plan([60], [30]) == 0
    assert merge_plan([10], [0]) == 1
