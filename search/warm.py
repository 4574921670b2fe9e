"""Warm a loaded build before it serves: one real search through the ordinary code path.

Mapping a build is not warming it: the first search after a start or a new build still
faults in the mapped vectors and keyword postings, loads the build's spelling dictionary and
the explanation word lists, and pays the libraries' first-call costs. ``warm_up`` runs one
hybrid search (dense + keyword, explanations and best sentences by meaning, a misspelt word so
the corrector loads) on the build ``IndexReader.pinned`` holds for this thread, so the first
request a process answers from it costs what a warm one does. gunicorn's workers run it once
before they take traffic and on every new build before it is swapped in (config/gunicorn.conf.py).
"""

from __future__ import annotations

import time

from search import spelling
from search.index_store import LoadedIndex, reader
from search.queries import semantic_search

# Common words of research abstracts, one misspelt ("lerning"): dense and keyword sides both
# find something in any collection, and the spelling corrector has a word to correct.
WARM_QUERY = "lerning representations from data with neural network models"


def warm_up(index: LoadedIndex) -> float:
    """Search ``index`` once as a request would; returns the milliseconds it took."""
    started = time.perf_counter()
    with reader.pinned(index):
        semantic_search(query=WARM_QUERY, sentence_by_meaning=True)
        if index.keyword is not None:
            spelling.speller_for(index.keyword)  # a query with no unknown word never loads it
    return (time.perf_counter() - started) * 1000
