"""Exported backends (onnxruntime, OpenVINO) give the same vectors as sentence-transformers on torch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from search import embedder
from tests.conftest import SAMPLE_1K

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


def _abstracts(n: int) -> list[str]:
    with open(SAMPLE_1K, encoding="utf-8") as handle:
        rows = [json.loads(next(handle)) for _ in range(n)]
    return [f"{r['title']}. {r['abstract']}" for r in rows]


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_real_abstracts_embed_within_cosine_0_9999_of_torch(backend: str) -> None:
    texts = _abstracts(12) + ["graph neural networks", "  padded query  "]
    reference = embedder.get_model("torch").encode(texts, batch_size=8)
    vectors = embedder.get_model(backend).encode(texts, batch_size=8)
    assert vectors.shape == reference.shape == (14, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float((vectors * reference).sum(axis=1).min()) >= 0.9999


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_batching_and_order_do_not_change_a_vector(backend: str) -> None:
    texts = _abstracts(6)
    model = embedder.get_model(backend)
    together = model.encode(texts, batch_size=4)
    alone = np.vstack([model.encode([t], batch_size=1) for t in reversed(texts)])[::-1]
    assert np.allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_bulk_embedding_gives_the_same_vectors_in_the_same_order(backend: str) -> None:
    # Workers embed with bulk=True (OpenVINO: batches in flight on throughput streams).
    texts = _abstracts(20) + ["graph neural networks"]
    model = embedder.get_model(backend)
    one_by_one = model.encode(texts, batch_size=4)
    bulk = model.encode(texts, batch_size=4, bulk=True)
    assert bulk.shape == (21, 384)
    assert np.allclose(bulk, one_by_one, atol=1e-5)
    reference = embedder.get_model("torch").encode(texts, batch_size=8)
    assert float((bulk * reference).sum(axis=1).min()) >= 0.9999


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_text_past_the_window_is_truncated_like_sentence_transformers(backend: str) -> None:
    long_text = " ".join(_abstracts(3))  # well past 256 tokens
    model, reference = embedder.get_model(backend), embedder.get_model("torch")
    assert model.token_count(long_text) == reference.token_count(long_text) > 256
    tail_changed = long_text + " an entirely different ending about volcanoes"
    assert np.allclose(model.encode([long_text]), model.encode([tail_changed]), atol=1e-6)
    assert float((model.encode([long_text]) * reference.encode([long_text])).sum()) >= 0.9999


def test_batches_are_padded_to_a_few_lengths_never_truncated() -> None:
    assert [embedder.padded_width(w, 256) for w in (1, 8, 9, 64, 65, 100, 129, 200, 256)] == [8, 8, 16, 64, 96, 128, 192, 256, 256]
    assert embedder.padded_width(100, 100) == 100  # a model window that is not a multiple of the step
    assert all(embedder.padded_width(w, 256) >= w for w in range(1, 257))
    # Papers embedded in bulk: the next multiple of 8 at every length (less padding, more shapes).
    assert [embedder.padded_width(w, 256, bulk=True) for w in (1, 9, 65, 129, 200, 250, 256)] == [8, 16, 72, 136, 200, 256, 256]
    assert all(w <= embedder.padded_width(w, 256, bulk=True) < w + 8 for w in range(1, 257))


def test_queries_of_every_length_reach_openvino_as_a_few_shapes() -> None:
    # OpenVINO keeps memory per input shape it has run: a web process must see only a few.
    model = embedder.get_model("openvino")
    shapes: set[tuple[int, ...]] = set()
    run = model._run

    def recording(feeds: dict[str, np.ndarray]) -> np.ndarray:
        shapes.add(feeds["input_ids"].shape)
        return run(feeds)

    model._run = recording
    try:
        words = " ".join(_abstracts(2)).split()
        for n in range(1, 60):
            model.encode([" ".join(words[:n])], batch_size=1)
    finally:
        model._run = run
    assert 1 < len(shapes) <= 12
    assert {width for _, width in shapes} <= {8, 16, 24, 32, 40, 48, 56, 64, 96, 128}
