"""The spelling corrector's dictionary held in arrays (search/spelling.py ``load_dictionary``)
answers every lookup exactly as symspellpy's own dictionary loaded from the same file: the same
suggestions, distances, counts and order, over the words of real arXiv abstracts misspelt at
random (letters replaced, dropped, added, swapped; capitalised), at both reaches the corrector
uses; and it holds far less memory than symspellpy's Python lists."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from symspellpy import SymSpell, Verbosity

from bench.corpus import SAMPLE_1K, read_papers
from search import spelling
from search.keyword import spelling_words

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


def _words_file(tmp_path: Path) -> Path:
    papers = list(read_papers(SAMPLE_1K))
    words = spelling_words((f"{p.title} {p.abstract}" for p in papers), min_count=1)
    assert len(words) > 10_000
    target = tmp_path / "words.txt"
    target.write_text("".join(f"{w} {c}\n" for w, c in words), encoding="utf-8")
    return target


def _symspellpy(words_file: Path) -> SymSpell:
    speller = SymSpell(max_dictionary_edit_distance=spelling.MAX_DISTANCE, prefix_length=spelling.PREFIX_LENGTH)
    assert speller.load_dictionary(str(words_file), term_index=0, count_index=1, separator=" ", encoding="utf-8")
    return speller


def _misspelt(words: list[str], rng: random.Random, count: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyzé"
    out = []
    for _ in range(count):
        word = rng.choice(words)
        for _ in range(rng.randint(0, 3)):
            i = rng.randrange(len(word))
            match rng.randrange(4):
                case 0:
                    word = word[:i] + rng.choice(letters) + word[i + 1 :]
                case 1:
                    word = word[:i] + word[i + 1 :] or word
                case 2:
                    word = word[:i] + rng.choice(letters) + word[i:]
                case _:
                    word = word[:i] + word[i + 1 : i + 2] + word[i : i + 1] + word[i + 2 :]
        out.append(word.capitalize() if rng.random() < 0.2 else word)
    return out


def _answers(speller: SymSpell, word: str, reach: int) -> list[tuple[str, int, int]]:
    found = speller.lookup(word, Verbosity.CLOSEST, max_edit_distance=reach, transfer_casing=True)
    return [(s.term, s.distance, s.count) for s in found]


def test_every_lookup_equals_symspellpy_on_misspelt_words_of_real_abstracts(tmp_path: Path) -> None:
    words_file = _words_file(tmp_path)
    compact, reference = spelling.load_dictionary(words_file), _symspellpy(words_file)
    words = [line.split(" ")[0] for line in words_file.read_text(encoding="utf-8").splitlines()]
    queries = _misspelt(words, random.Random(19), 3_000) + ["lerning", "Segmantation", "imags", "transfomer", "zzqxjw", "a", ""]
    corrected = 0
    for word in queries:
        for reach in (1, 2):
            expected = _answers(reference, word, reach)
            assert _answers(compact, word, reach) == expected, (word, reach)
            corrected += bool(expected and expected[0][1] > 0)
    assert corrected > 1_000  # most misspellings found a word: the comparison is not of empty lists
    assert len(compact._words) == len(reference._words)
    assert len(compact._deletes) == len(reference._deletes)


def test_the_dictionary_reads_the_words_file_as_symspellpy_does(tmp_path: Path) -> None:
    words_file = tmp_path / "words.txt"
    # A repeated word sums its counts; a zero count or a line without a count adds nothing.
    words_file.write_text("learning 40\nnetwork 12\nlearning 2\nnothing 0\nbroken\nmodels 7\n", encoding="utf-8")
    compact, reference = spelling.load_dictionary(words_file), _symspellpy(words_file)
    assert dict(compact._words) == dict(reference._words) == {"learning": 42, "network": 12, "models": 7}
    for word in ("lerning", "netwrk", "nothin", "model", "broken"):
        assert _answers(compact, word, 2) == _answers(reference, word, 2), word


def test_the_arrays_hold_a_fraction_of_symspellpys_objects(tmp_path: Path) -> None:
    import sys

    words_file = _words_file(tmp_path)
    compact, reference = spelling.load_dictionary(words_file), _symspellpy(words_file)
    deletes = reference._deletes
    # symspellpy's delete lists alone: the dict, its keys, and one list of references per delete.
    lists = sys.getsizeof(deletes) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in deletes.items())
    held = compact._deletes.nbytes + compact._words.counts.nbytes
    held += compact._words.keys_vocab.blob.nbytes + compact._words.keys_vocab.offsets.nbytes
    assert held * 3 < lists, (held, lists)
