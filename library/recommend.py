"""Recommendation scoring: NumPy (and, for ``svm``, scikit-learn) on unit vectors, shared by the app and its benchmark.

Every method here turns the reader's saved papers into ONE direction ``d`` in embedding space and
ranks the collection by ``d . x``. For the centroid that is the mean of the saved vectors; for
the linear classifiers (arxiv-sanity-lite's recipe: the tag's papers against the rest: ``ridge``,
a regularised least-squares classifier solved in closed form, and ``svm``, scikit-learn's linear
SVM) ``w . x + b`` ranks exactly like ``w . x``; the hybrid is a weighted sum of two unit
directions, so it is linear too. A linear direction means the whole collection is ranked by one
inner-product search in the FAISS index the site already serves - no per-reader matrix, no extra
model in memory.
docs/benchmarks.md ("Recommendations") measures the methods against each other.
"""

from __future__ import annotations

import numpy as np

METHODS = ("centroid", "ridge", "svm", "hybrid")
# A vector method fused with BM25 more-like-this (the library's most distinctive terms as one
# query): the best on the benchmark, so the default (LIBRARY_RECOMMEND_METHOD).
FUSED_METHODS = ("ridge+bm25", "svm+bm25", "hybrid+bm25", "centroid+bm25")
MLT_TERMS = 25
FUSION_DEPTH = 100  # each side's top-N sets its z-score normalisation, as search's zscore fusion does
# LinearSVC's C for a few positives against sampled negatives: arxiv-sanity-lite uses 0.01 on
# tf-idf; on unit sentence vectors 0.1 ranked best on the benchmark's first run (docs).
SVM_C = 0.1
# The ridge classifier's regularisation, in units of the mean variance per dimension
# (``ridge_direction``): chosen on pseudo-libraries of another seed than the one reported (docs).
RIDGE_ALPHA = 0.03
HYBRID_SVM_SHARE = 0.5


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)


def centroid_direction(positives: np.ndarray) -> np.ndarray:
    """The unit mean of the saved papers' vectors."""
    return _unit(np.asarray(positives, dtype=np.float32).mean(axis=0))


def ridge_direction(positives: np.ndarray, negatives: np.ndarray, *, alpha: float = RIDGE_ALPHA) -> np.ndarray:
    """The unit weight vector of a ridge classifier (least squares on +1 / -1, L2-regularised)
    separating the saved papers from the others, classes balanced as for ``svm_direction``.

    With balanced class weights its direction is the regularised Fisher discriminant,
    ``(S + alpha I)^-1 (mean of the saved - mean of the others)``, ``S`` the two classes' covariances
    averaged: one 384 x 384 solve (LAPACK through NumPy), ~12 ms, where LinearSVC iterates
    (0.04-0.3 s) and importing it (scikit-learn and SciPy) costs a web worker ~80 MB of private
    memory (docs/scale.md "Run 17"). Written here rather than taken from scikit-learn's
    RidgeClassifier for that memory; a test compares the two, and the benchmark compares it with
    the SVM (docs/benchmarks.md, "Recommendations").
    ``alpha`` is in the units of the covariance's mean variance per dimension (its trace / dim), so
    it means the same for any embedding size.
    """
    pos = np.asarray(positives, dtype=np.float64)
    neg = np.asarray(negatives, dtype=np.float64)
    covariance = 0.5 * (_covariance(pos) + _covariance(neg))
    dim = covariance.shape[0]
    ridge = alpha * float(np.trace(covariance)) / dim or alpha
    weights = np.linalg.solve(covariance + ridge * np.eye(dim), pos.mean(axis=0) - neg.mean(axis=0))
    return _unit(weights)


def _covariance(rows: np.ndarray) -> np.ndarray:
    """Rows' covariance (divided by their count; zeros for one row)."""
    centred = rows - rows.mean(axis=0)
    return (centred.T @ centred) / len(rows)


def svm_direction(positives: np.ndarray, negatives: np.ndarray, *, c: float = SVM_C) -> np.ndarray:
    """The unit weight vector of a linear SVM separating the saved papers from the others.

    Classes are balanced (a handful of positives against thousands of negatives would otherwise
    give a near-zero w); the bias is dropped because it does not change the order.
    """
    from sklearn.svm import LinearSVC

    x = np.vstack([positives, negatives]).astype(np.float32)
    y = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    model = LinearSVC(C=c, class_weight="balanced", max_iter=5000, tol=1e-4, dual="auto")
    model.fit(x, y)
    return _unit(model.coef_[0])


def direction(method: str, positives: np.ndarray, negatives: np.ndarray | None = None) -> np.ndarray:
    """The ranking direction of a method; negatives are needed by ``ridge``, ``svm`` and ``hybrid``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    centroid = centroid_direction(positives)
    if method == "centroid":
        return centroid
    if negatives is None or len(negatives) == 0:
        return centroid  # nothing to contrast with yet (an empty collection): the centroid is all we know
    if method == "ridge":
        return ridge_direction(positives, negatives)
    svm = svm_direction(positives, negatives)
    if method == "svm":
        return svm
    return _unit((1 - HYBRID_SVM_SHARE) * centroid + HYBRID_SVM_SHARE * svm)


def closest_saved(candidate: np.ndarray, saved: np.ndarray, saved_ids: list[int], *, k: int = 2) -> list[tuple[int, float]]:
    """The saved papers most like a recommended one (id, cosine), best first: the "because you saved"."""
    if len(saved_ids) == 0:
        return []
    scores = saved @ candidate
    order = np.argsort(-scores)[:k]
    return [(saved_ids[int(i)], float(scores[int(i)])) for i in order]


def mlt_terms(texts: list[list[str]], idf: dict[str, float], n: int = MLT_TERMS) -> list[str]:
    """More-like-this: the ``n`` terms with the highest (count in the saved papers) x idf."""
    counts: dict[str, int] = {}
    for terms in texts:
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
    return sorted((t for t in counts if idf.get(t, 0.0) > 0), key=lambda t: -counts[t] * idf[t])[:n]


def zscore(values: np.ndarray, top: np.ndarray) -> np.ndarray:
    """``values`` normalised by the mean and spread of a side's own top scores."""
    std = float(top.std()) if len(top) else 1.0
    return (values - (float(top.mean()) if len(top) else 0.0)) / (std or 1.0)
