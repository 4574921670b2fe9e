"""Explanations never count a stop word ("from") as a matched term; a related paper a curator
pinned says "curated" instead of passing its similarity off as a ranking."""

from __future__ import annotations

import pytest
from django.test import Client

from papers.models import Paper, RelatedLink
from search.explain import query_terms
from search.queries import semantic_search


def test_stop_words_are_not_query_terms_of_an_explanation() -> None:
    assert set(query_terms("learning from images with the help of diffusion")) == {"learn", "imag", "help", "diffus"}


@pytest.mark.django_db
def test_a_hit_never_lists_from_as_matched(reader_collection: dict[str, int]) -> None:
    page = semantic_search(query="reward models from human feedback")

    assert page.hits
    for hit in page.hits:
        assert hit.explanation is not None and "from" not in hit.explanation.matched_terms
        assert "<mark>from</mark>" not in hit.explanation.abstract_html.lower()


@pytest.mark.django_db
def test_a_pinned_related_paper_is_labelled_curated(client: Client, reader_collection: dict[str, int]) -> None:
    paper = Paper.objects.get(pk=reader_collection["2504.00891"])
    pinned = Paper.objects.get(pk=reader_collection["2606.30116"])
    RelatedLink.objects.create(paper=paper, related=pinned, kind="pin", position=0)

    html = client.get(paper.get_absolute_url()).content.decode()
    related = html.split('id="related-list"')[1]
    first = related.split("</article>")[0]
    assert pinned.title in first
    assert '<span class="curated" title="A curator chose this paper as related' in first
    assert "curated · similarity 0." in first
