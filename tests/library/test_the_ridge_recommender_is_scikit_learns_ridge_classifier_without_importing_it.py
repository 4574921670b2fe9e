"""The ``ridge`` recommendation direction is a balanced ridge classifier (scikit-learn's own
RidgeClassifier is the reference), computed by one NumPy solve; the default recommendation method
uses it, so a web worker serving recommendations never imports scikit-learn (~45 MB of private
memory each, docs/scale.md "Run 10"; docs/benchmarks.md "Recommendations" measures the methods)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from library import recommend
from tests.prod.helpers import clean_env, run_python

pytestmark = pytest.mark.one_pass  # no database: vectors only, and a process of its own


def _library(seed: int, *, positives: int = 5, negatives: int = 2000, dim: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors with structure: negatives spread unevenly over the dimensions, the saved
    papers around a direction of their own (the same for a seed, however many are drawn)."""
    rng = np.random.default_rng(seed)
    scale = np.linspace(0.2, 2.0, dim)
    centre = rng.normal(size=dim) * 2
    neg = rng.normal(size=(negatives, dim)) * scale
    pos = rng.normal(size=(positives, dim)) * scale * 0.5 + centre
    return _unit(pos), _unit(neg)


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("alpha", [0.01, 1.0, 30.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_direction_is_a_balanced_ridge_classifiers_weights(seed: int, alpha: float) -> None:
    from sklearn.linear_model import RidgeClassifier

    pos, neg = _library(seed)
    ours = recommend.ridge_direction(pos, neg, alpha=alpha)
    # scikit-learn's alpha is absolute and its loss sums over the samples: the same problem at
    # alpha x (mean variance per dimension) x (number of samples).
    x = np.vstack([pos, neg]).astype(np.float64)
    covariance = 0.5 * (np.cov(pos.T, bias=True) + np.cov(neg.T, bias=True))
    absolute = alpha * np.trace(covariance) / x.shape[1] * len(x)
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    model = RidgeClassifier(alpha=absolute, class_weight="balanced", solver="cholesky").fit(x, y)
    coef = np.ravel(model.coef_)  # (1, dim) or (dim,) for two classes, by version
    theirs = coef / np.linalg.norm(coef)
    assert ours.dtype == np.float32 and abs(float(np.linalg.norm(ours)) - 1) < 1e-5
    assert float(ours @ theirs) > 0.9999


def test_the_direction_ranks_the_saved_papers_neighbours_first() -> None:
    pos, neg = _library(2)
    held_out = _library(2, positives=25)[0][5:]  # more papers of the same reader, not among the 5
    d = recommend.ridge_direction(pos, neg)
    assert float(np.median(held_out @ d)) > float(np.quantile(neg @ d, 0.99))


def test_a_fresh_process_ranking_by_the_default_method_never_imports_scikit_learn() -> None:
    probe = textwrap.dedent(
        """
        import sys
        import django
        django.setup()
        import numpy as np
        from django.conf import settings
        from library import selectors  # what the recommendations page and API call
        from library.recommend import direction
        rng = np.random.default_rng(0)
        saved, others = rng.normal(size=(5, 384)), rng.normal(size=(2000, 384))
        vector_method = settings.LIBRARY_RECOMMEND_METHOD.partition("+")[0]
        d = direction(vector_method, saved, others)
        assert d.shape == (384,) and abs(float(np.linalg.norm(d)) - 1) < 1e-5
        print(settings.LIBRARY_RECOMMEND_METHOD, "sklearn" in sys.modules)
        """
    )
    result = run_python(probe, clean_env())  # the settings' defaults: no Paperscope knob from this environment
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["ridge+bm25", "False"]
