"""An explanation reads a shown title or abstract only for the words that are query terms
(``search.explain.spans(text, only=terms)``), found by a pattern of the terms' first characters
instead of tokenising and stemming every word. That rests on one property of the stemmer: a word's
index term never differs from the lower-cased word before its last STEM_TAIL characters. It is
checked here for every distinct word of the 115k real arXiv abstracts, and the shortcut's spans
are compared with the full tokenisation's on real abstracts for real queries."""

from __future__ import annotations

import pytest

from bench.corpus import ARXIV_115K, SAMPLE_1K, read_papers
from search import explain
from search.explain import STEM_TAIL, query_terms, spans
from search.keyword import TOKEN, stem

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


def test_every_word_of_the_real_corpus_begins_as_its_index_term_does() -> None:
    words: set[str] = set()
    for paper in read_papers(ARXIV_115K):
        words.update(TOKEN.findall(f"{paper.title} {paper.abstract}".lower()))
    assert len(words) > 150_000
    broken = [w for w in words if not w.startswith((term := stem(w))[: max(1, len(term) - STEM_TAIL)])]
    assert broken == []
    # The stemmer's irregular forms are among them, and need the margin: "dying" -> "die".
    assert "dying" in words and stem("dying") == "die"


def test_the_spans_of_the_query_terms_equal_those_of_the_full_tokenisation() -> None:
    papers = list(read_papers(SAMPLE_1K))
    assert len(papers) >= 900
    # Real queries: other papers' titles, short and long, and a few typed ones.
    queries = [p.title for p in papers[::37]] + ["dying stars", "graph neural networks", "AI", "the of and", "zzqx"]
    texts = [p.title for p in papers] + [p.abstract for p in papers]
    # Upper case, accents and a character whose lower case is longer ("İ" -> "i̇": offsets shift).
    texts += ["Dying STARS and Vying ÉTOILES", "İstanbul graphs: dying, tying, lying graph-based networks"]
    checked = 0
    for query in queries:
        terms = set(query_terms(query))
        for text in texts:
            expected = [span for span in spans(text) if span[2] in terms]
            assert spans(text, only=terms) == expected, (query, text[:80])
            checked += len(expected)
    assert checked > 5_000  # the comparisons found many query words, not only empty lists


def test_an_explanation_stems_only_the_words_that_could_be_query_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    abstract = next(iter(read_papers(SAMPLE_1K))).abstract
    stemmed: list[str] = []
    real_stem = explain.stem

    def counting(word: str) -> str:
        stemmed.append(word)
        return real_stem(word)

    monkeypatch.setattr(explain, "stem", counting)
    spans(abstract, only={"graph", "network"})
    everything = len(TOKEN.findall(abstract))
    assert everything > 50 and len(stemmed) < everything / 4
