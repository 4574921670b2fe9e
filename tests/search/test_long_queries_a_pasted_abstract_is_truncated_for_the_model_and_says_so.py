"""A pasted abstract of several thousand characters works, for search and for "papers like this"."""

from __future__ import annotations

import pytest

from papers.models import Paper
from search.queries import semantic_search, similar_to_text


@pytest.mark.django_db
def test_a_long_pasted_abstract_is_searched_with_a_truncation_notice(listing_index: list[int], settings: object) -> None:
    paper = Paper.objects.get(title__startswith="Calibrated Language Models Must Hallucinate")
    # Several thousand characters: the paper's abstract, then unrelated filler past the window.
    text = paper.abstract + " " + " ".join(["Additional notes on experimental setup and data."] * 80)
    assert len(text) > 4000
    for result in (semantic_search(query=text), similar_to_text(text=text, k=5)):
        assert result.truncated
        assert "first" in result.notice and "tokens" in result.notice
        assert result.hits[0].paper.pk == paper.pk
    short = semantic_search(query="hallucination in language models")
    assert not short.truncated and not short.notice


@pytest.mark.django_db
def test_a_query_over_the_character_limit_is_refused(listing_index: list[int], settings: object) -> None:
    settings.SEARCH_MAX_QUERY_CHARS = 1000  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="limit is 1,000"):
        semantic_search(query="x" * 1001)
