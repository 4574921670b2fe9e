"""The duplicate review queue: a scan proposes candidate pairs, each with its reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from papers.models import DuplicateCandidate, Paper
from papers.signals import duplicate_scan_started
from papers.duplicates import duplicates_find
from search.services import embeddings_update

QUEUE = reverse("admin:papers_duplicatecandidate_changelist")
SCAN = reverse("admin:papers_duplicatecandidate_scan")
SHARED_ABSTRACT = (
    "We train a dense retriever for scientific claims with contrastive pairs mined from citation contexts, "
    "and show that it finds the evidence abstracts for a claim better than BM25 on three benchmarks."
)


@pytest.fixture
def pairs(paper_factory: Any) -> dict[str, tuple[Paper, Paper]]:
    made = {
        "arxiv_id": (paper_factory(title="Paper on sparse codes", arxiv_id="2401.00001"),
                     paper_factory(title="Sparse codes, revisited", links={"abs": "https://arxiv.org/abs/2401.00001v2"})),
        "doi": (paper_factory(title="Graph kernels at scale", doi="10.5555/XYZ"),
                paper_factory(title="Scaling graph kernels", doi="10.5555/xyz")),
        "title": (paper_factory(title="Transformers Can Do Bayesian Inference"),
                  paper_factory(title="Transformer can do Bayesian inference")),
        "embedding": (paper_factory(title="Dense retrieval of evidence for scientific claims", abstract=SHARED_ABSTRACT),
                      paper_factory(title="Retrieving evidence for scientific claims with dense retrievers", abstract=SHARED_ABSTRACT)),
    }
    paper_factory(title="Completely unrelated work on glaciers", abstract="Ice flows downhill.")
    embeddings_update(paper_ids=list(Paper.objects.values_list("pk", flat=True)))
    return made


def test_a_scan_from_the_queue_proposes_each_pair_with_its_reason(admin_client: Any, pairs: dict[str, tuple[Paper, Paper]]) -> None:
    response = admin_client.post(SCAN, follow=True)
    assert "Scan finished: 4 new candidate pair(s)" in response.content.decode()
    found = {(c.paper_a_id, c.paper_b_id): c for c in DuplicateCandidate.objects.all()}
    assert set(found) == {tuple(sorted((a.pk, b.pk))) for a, b in pairs.values()}
    for reason, (a, b) in pairs.items():
        candidate = found[tuple(sorted((a.pk, b.pk)))]
        assert candidate.reason == reason and candidate.status == "open"
    assert found[tuple(sorted(p.pk for p in pairs["embedding"]))].score >= 0.95
    page = response.content.decode()
    for label in ("same arXiv id", "same DOI", "near-identical title", "near-identical embedding"):
        assert label in page
    assert page.count("Compare&nbsp;&amp;&nbsp;merge…") == 4


def test_a_second_scan_proposes_nothing_new(admin_client: Any, pairs: dict[str, tuple[Paper, Paper]]) -> None:
    admin_client.post(SCAN)
    response = admin_client.post(SCAN, follow=True)
    assert "0 new candidate pair(s), 4 already known" in response.content.decode()
    assert DuplicateCandidate.objects.count() == 4


def test_the_embedding_pairs_come_from_the_search_app_answering_the_scan_signal(pairs: dict[str, tuple[Paper, Paper]]) -> None:
    from search.apps import _on_duplicate_scan

    assert duplicate_scan_started.disconnect(dispatch_uid="search.duplicate_scan")
    try:
        alone = duplicates_find()  # the papers app's own evidence: identifiers and titles
    finally:
        duplicate_scan_started.connect(_on_duplicate_scan, dispatch_uid="search.duplicate_scan")
    assert alone.proposed == {"arxiv_id": 1, "doi": 1, "title": 1}
    with_search = duplicates_find()
    assert with_search.proposed == {"embedding": 1} and with_search.known == 3
    assert DuplicateCandidate.objects.get(reason="embedding").detail.startswith("cosine ")


def test_a_pair_found_for_several_reasons_keeps_the_strongest(paper_factory: Any, settings: Any) -> None:
    a = paper_factory(title="Neural scaling laws", arxiv_id="2001.08361")
    b = paper_factory(title="Neural Scaling Laws.", links={"pdf": "https://arxiv.org/pdf/2001.08361v1"})
    settings.DUPLICATE_COSINE_THRESHOLD = 2.0  # above 1: the vector step is off
    duplicates_find()
    assert DuplicateCandidate.objects.get().reason == "arxiv_id"
    assert {a.pk, b.pk} == set(DuplicateCandidate.objects.values_list("paper_a_id", "paper_b_id").get())


def test_merged_papers_are_not_proposed(paper_factory: Any) -> None:
    kept = paper_factory(title="Same title here")
    paper_factory(title="Same title here", merged_into=kept)
    assert duplicates_find().total == 0


def test_scanning_needs_the_add_permission_and_the_queue_the_view_permission(staff_client: Any, pairs: dict[str, tuple[Paper, Paper]]) -> None:
    viewer = staff_client("papers.view_duplicatecandidate")
    assert viewer.get(QUEUE).status_code == 200
    assert "Find duplicates now" not in viewer.get(QUEUE).content.decode()
    assert viewer.post(SCAN).status_code == 403
    assert not DuplicateCandidate.objects.exists()
    assert staff_client().get(QUEUE).status_code == 403
    scanner = staff_client("papers.view_duplicatecandidate", "papers.add_duplicatecandidate")
    assert "Find duplicates now" in scanner.get(QUEUE).content.decode()
    assert scanner.post(SCAN).status_code == 302
    assert DuplicateCandidate.objects.count() == 4
