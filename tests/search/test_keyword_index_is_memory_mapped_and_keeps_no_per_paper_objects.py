"""A loaded keyword index maps its arrays and finds papers by binary search over the mapped ids.

At a million papers a per-paper Python dictionary (pk -> position) costs ~100 MB in every web
process; the sorted ids file is shared page cache instead.
"""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
import pytest

from search.keyword import IDS_FILE, SUBDIR, KeywordIndex, analyze, build_keyword_index

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


def _rss_anon_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise AssertionError("no RssAnon in /proc/self/status")


def _texts(n: int) -> list[str]:
    words = ["graph", "neural", "quantum", "protein", "galaxy", "lattice", "entropy", "spectral"]
    return [f"{words[i % 8]} {words[(i // 8) % 8]} {words[(i // 64) % 8]} paper{i % 5000}" for i in range(n)]


def test_lookups_match_the_positions_of_unsorted_ids(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ids = rng.permutation(np.arange(10, 2010) * 3)  # unsorted, gaps between pks
    texts = _texts(len(ids))
    built = build_keyword_index(ids=ids, texts=texts, k1=1.2, b=0.75)
    built.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path)
    terms = ["graph", "quantum"]
    scores = loaded.scores(terms)
    position = {int(pk): i for i, pk in enumerate(ids)}  # the reference the index no longer keeps
    asked = [int(ids[5]), int(ids[1999]), 1, int(ids[700]), 4]  # 1 and 4 are in no build
    assert loaded.scores_for(terms, asked) == {pk: float(scores[position[pk]]) if pk in position else 0.0 for pk in asked}
    subset = np.asarray([pk for pk in ids[::7]] + [2, 5], dtype=np.int64)
    hits = loaded.search(terms, len(ids), subset=subset)  # all: no ties cut at the boundary
    allowed = {int(pk) for pk in subset}
    expected = sorted(
        ((int(pk), float(scores[i])) for i, pk in enumerate(ids) if int(pk) in allowed and scores[i] > 0),
        key=lambda x: (-x[1], x[0]),
    )
    assert hits == expected
    assert hits and all(pk in allowed for pk, _ in hits)


def test_a_loaded_index_maps_its_files_and_grows_no_per_paper_memory(tmp_path: Path) -> None:
    n = 300_000
    ids = np.arange(1, n + 1, dtype=np.int64) * 2
    build_keyword_index(ids=ids, texts=_texts(n), k1=1.2, b=0.75).save(tmp_path)
    before = _rss_anon_kib()
    loaded = KeywordIndex.load(tmp_path)
    terms = ["neural", "galaxy"]
    for _ in range(3):
        loaded.scores_for(terms, [int(ids[i]) for i in range(0, n, 30_000)])
        loaded.search(terms, 10, subset=ids[::3])
    grown_mb = (_rss_anon_kib() - before) / 1024
    maps = Path("/proc/self/maps").read_text()
    assert str(tmp_path / SUBDIR / IDS_FILE) in maps
    assert str(tmp_path / SUBDIR / "s-0" / "postings.docs.npy") in maps
    assert str(tmp_path / SUBDIR / "s-0" / "lengths.npy") in maps
    # A pk -> position dict of 300k entries alone is ~30 MB.
    assert grown_mb < 12, f"{grown_mb:.1f} MB of anonymous memory after loading and searching"


def test_the_vocabulary_is_a_mapped_sorted_file_that_agrees_with_bm25s(tmp_path: Path) -> None:
    texts = _texts(3000) + ["Schrödinger équation naïve café", "x-ray 3d zebra aardvark", ""]
    ids = np.arange(1, len(texts) + 1, dtype=np.int64)
    built = build_keyword_index(ids=ids, texts=texts, k1=1.2, b=0.75)
    built.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path)
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index([analyze(t) for t in texts], show_progress=False)
    vocab = loaded.segments[0].vocab
    held = {t for t in reference.vocab_dict if t}  # bm25s keeps an empty token for empty documents
    assert len(vocab) == len(held)
    for term in held:
        assert vocab.get(term) is not None and loaded.holds(term)
    for absent in ("", "zzzz", "aaaa", "schrödingers", "\U0001f600"):
        assert vocab.get(absent) is None and not loaded.holds(absent)
    assert str(tmp_path / SUBDIR / "s-0" / "vocab.terms.npy") in Path("/proc/self/maps").read_text()
    terms = ["schröding", "café", "graph", "zebra", "missing"]
    assert np.array_equal(loaded.scores(terms), built.scores(terms))
    tokens = [reference.vocab_dict[t] for t in terms if t in reference.vocab_dict]
    assert loaded.scores(terms) == pytest.approx(reference.get_scores_from_ids(tokens), rel=1e-6)
    assert loaded.idf(terms) == built.idf(terms)
    assert loaded.known_terms(terms) == built.known_terms(terms) == [t for t in terms if t in reference.vocab_dict]


def test_a_keyword_directory_in_the_old_single_bm25s_layout_is_not_loaded(tmp_path: Path) -> None:
    """Builds made before segments are refused (and rebuilt from the database), never misread."""
    texts = _texts(500)
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index([analyze(t) for t in texts], show_progress=False)
    (tmp_path / SUBDIR).mkdir()
    retriever.save(str(tmp_path / SUBDIR))
    np.save(tmp_path / SUBDIR / IDS_FILE, np.arange(1, 501, dtype=np.int64))
    with pytest.raises(FileNotFoundError):
        KeywordIndex.load(tmp_path)
