"""A results page reads its papers once: the database check of the candidates loads the rows it shows.

Mechanics test: 300 papers with synthetic unit vectors stored as real PaperEmbedding rows (more
than one candidate step, so ranking checks only what the page needs), a real FAISS + BM25 build,
and the query encoded by the real model. The rows shown are the rows as they are now: a title
edited and a paper hidden after the build show up as edited and not at all.
"""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from papers.models import Paper
from search.queries import CANDIDATE_STEP, semantic_search
from search.services import index_build
from tests.conftest import store_random_unit_vectors

COLLECTION = 300
QUERY = "protein folding kinetics"
WORDS = ["protein", "folding", "energy", "landscape", "lattice", "simulation", "kinetics", "enzyme", "membrane", "channel"]


@pytest.fixture
def collection(db: None) -> None:
    rng = np.random.default_rng(11)
    papers = []
    for n in range(COLLECTION):
        words = rng.choice(WORDS, size=12)
        paper = Paper(title=f"Study {n} of {words[0]} {words[1]}", abstract=f"We report {' '.join(words)}.")
        paper.refresh_derived_fields()
        papers.append(paper)
    Paper.objects.bulk_create(papers, batch_size=500)
    store_random_unit_vectors(rng)
    index_build()


def _paper_reads(queries: list[dict[str, str]]) -> list[str]:
    table = Paper._meta.db_table
    return [q["sql"] for q in queries if f'FROM "{table}"' in q["sql"]]


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_a_first_page_reads_the_papers_table_once(collection: None, mode: str) -> None:
    assert COLLECTION > CANDIDATE_STEP  # otherwise the whole pool is checked, ids only
    # Random vectors mean nothing, so the relevance floor is off: this is about the reads.
    semantic_search(query=QUERY, mode=mode, floor=False)  # warm: the index build is loaded on first use
    with CaptureQueriesContext(connection) as captured:
        page = semantic_search(query=QUERY, mode=mode, page_size=10, floor=False)
    assert len(page.hits) == 10
    reads = _paper_reads(captured.captured_queries)
    assert len(reads) == 1, reads
    assert '"abstract"' in reads[0]  # the check loaded whole rows, not just ids


@pytest.mark.django_db
def test_the_rows_shown_are_the_rows_as_they_are_now(collection: None) -> None:
    before = semantic_search(query=QUERY, page_size=10)
    first, second = before.hits[0].paper, before.hits[1].paper
    # Edited and hidden after the index build: nothing is rebuilt.
    Paper.objects.filter(pk=first.pk).update(title="A title edited after the build")
    Paper.objects.filter(pk=second.pk).update(hidden=True)

    after = semantic_search(query=QUERY, page_size=10)
    assert len(after.hits) == 10  # the page is still full
    assert after.hits[0].paper.pk == first.pk
    assert after.hits[0].paper.title == "A title edited after the build"
    assert second.pk not in [hit.paper.pk for hit in after.hits]
    assert [hit.paper.pk for hit in after.hits[1:]] == [hit.paper.pk for hit in before.hits[2:]] + [after.hits[-1].paper.pk]


@pytest.mark.django_db
def test_later_pages_continue_the_ranking_of_the_first(collection: None) -> None:
    everything = [hit.paper.pk for hit in semantic_search(query=QUERY, page_size=30).hits]
    paged = [hit.paper.pk for page in (1, 2, 3) for hit in semantic_search(query=QUERY, page=page, page_size=10).hits]
    assert paged == everything
    assert len(set(paged)) == 30
