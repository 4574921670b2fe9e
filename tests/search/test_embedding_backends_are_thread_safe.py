"""Web servers run several threads per process: concurrent encodes must not mix their results."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from search import embedder
from tests.conftest import SAMPLE_1K

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_concurrent_encodes_each_get_their_own_vectors(backend: str) -> None:
    with open(SAMPLE_1K, encoding="utf-8") as handle:
        rows = [json.loads(next(handle)) for _ in range(8)]
    # Different lengths and batch shapes in flight at once.
    jobs = [[r["title"]] if i % 2 else [r["title"], r["abstract"]] for i, r in enumerate(rows)]
    model = embedder.get_model(backend)
    alone = [model.encode(job, batch_size=2) for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda job: model.encode(job, batch_size=2), jobs * 3))
    for got, expected in zip(together, alone * 3, strict=True):
        assert np.allclose(got, expected, atol=1e-5)
