"""Bad mode, weight, sort or page raise ValueError with a message (views turn it into 400)."""

from __future__ import annotations

import pytest

from search.queries import semantic_search


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "fuzzy"}, "mode must be one of hybrid, dense, keyword"),
        ({"weight": 1.5}, "weight must be between 0"),
        ({"weight": -0.1}, "weight must be between 0"),
        ({"weight": float("nan")}, "weight must be between 0"),
        ({"weight": "heavy"}, "weight must be a number"),
        ({"sort": "oldest"}, "sort must be one of relevance, newest"),
        ({"page": 0}, "page must be"),
        ({"page_size": 5000}, "page_size must be"),
    ],
)
def test_bad_parameters_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        semantic_search(query="anything", **kwargs)  # type: ignore[arg-type]
