"""A keyword segment is built from texts analysed one at a time, each token a 4-byte term number
as it is read, then one in-place sort: the same postings as counting with ``np.unique`` over every
token list held at once (what it did before), in less than half the memory."""

from __future__ import annotations

import json

import numpy as np
import pytest

from search import keyword
from tests.conftest import SAMPLE_1K
from tests.private_memory import peak_anon_growth_kb
from tests.prod.helpers import clean_env, run_python

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


def _texts() -> list[str]:
    with open(SAMPLE_1K, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [f"{r['title']} {r['abstract']}" for r in rows]


def _reference(corpus: list[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Term-major, document-minor postings counted with np.unique over every token at once."""
    local: dict[str, int] = {}
    flat = np.fromiter((local.setdefault(t, len(local)) for doc in corpus for t in doc), dtype=np.int64)
    lengths = np.fromiter((len(doc) for doc in corpus), dtype=np.int32, count=len(corpus))
    terms = sorted(local, key=lambda t: t.encode("utf-8"))
    rank = np.empty(len(local), dtype=np.int64)
    rank[[local[t] for t in terms]] = np.arange(len(terms))
    doc_of = np.repeat(np.arange(len(corpus), dtype=np.int64), lengths)
    keys, tfs = np.unique(rank[flat] * len(corpus) + doc_of, return_counts=True)
    term_of, docs = np.divmod(keys, len(corpus))
    indptr = np.zeros(len(terms) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(term_of, minlength=len(terms)))
    return terms, indptr, docs.astype(np.int32), tfs.astype(np.float32), lengths


def test_postings_equal_counting_every_token_list_at_once_with_empty_and_repeated_texts() -> None:
    texts = _texts()[:300]
    texts += ["", "the of and", texts[5], "tidal tidal tidal turbines"]  # no terms, only stop words, a duplicate, repeats
    ids = np.arange(len(texts), dtype=np.int64) * 3 + 1
    segment = keyword.build_segment("s-0", ids=ids, texts=texts)
    terms, indptr, docs, tfs, lengths = _reference([keyword.analyze(t) for t in texts])
    assert segment.vocab.terms() == terms
    for name, built, expected in (("indptr", segment.indptr, indptr), ("docs", segment.docs, docs), ("tfs", segment.tfs, tfs), ("lengths", segment.lengths, lengths)):
        assert built.dtype == expected.dtype, name
        np.testing.assert_array_equal(built, expected, err_msg=name)
    np.testing.assert_array_equal(segment.ids, ids)
    tidal = segment.span(keyword.stem("tidal"))
    assert tidal is not None and float(segment.tfs[tidal[1] - 1]) == 3.0  # the last text's three


def test_a_segment_of_no_papers_or_no_terms_is_empty_not_an_error() -> None:
    empty = keyword.build_segment("s-0", ids=np.zeros(0, dtype=np.int64), texts=[])
    assert len(empty) == 0 and list(empty.indptr) == [0] and empty.docs.dtype == np.int32
    silent = keyword.build_segment("s-0", ids=np.arange(2), texts=["", "and the"])
    assert len(silent) == 2 and list(silent.lengths) == [0, 0] and len(silent.docs) == 0


def _both_ways() -> tuple[list[float], list[float]]:
    """Bytes a token at the peak, built one text at a time and with every token list held, twice
    each, interleaved: run by the test below in a fresh process, so nothing an earlier test left
    in the process counts against either way."""
    texts = _texts() * 10
    tokens = sum(len(keyword.analyze(t)) for t in texts[: len(texts) // 10]) * 10
    ids = np.arange(len(texts), dtype=np.int64)
    streamed, held = [], []
    for _ in range(2):  # interleaved, the least of each: what the heap held before moves one run
        streamed.append(peak_anon_growth_kb(lambda: keyword.build_segment("s-0", ids=ids, texts=texts)) * 1024 / tokens)
        held.append(peak_anon_growth_kb(lambda: _reference([keyword.analyze(t) for t in texts])) * 1024 / tokens)
    return streamed, held


def test_building_from_texts_holds_far_less_than_their_token_lists_and_np_unique_side_by_side() -> None:
    """The real sample abstracts, 10 times over (~1.5M tokens), both ways in a fresh process one
    after the other: every token list held at once and counted with ``np.unique`` (the way
    before: ~50-60 bytes a token at the peak; ~2.2 GB for a full build's slice of 250,000 papers,
    docs/scale.md run 9), and the segment built one text at a time (~27 bytes a token). (In the
    test run's own process it once read 54 against 68 bytes, after ~800 other tests.)"""
    probe = f"import django, json; django.setup(); from {__name__} import _both_ways; print(json.dumps(_both_ways()))"
    result = run_python(probe, clean_env(), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    streamed, held = json.loads(result.stdout.strip().splitlines()[-1])
    seen = f"bytes a token at the peak: one text at a time {streamed}, all held {held}"
    assert min(streamed) < 0.75 * min(held), seen
