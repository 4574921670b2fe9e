"""The sentence-vector cache behind "best sentence by meaning" (search/explain.py) never loses a
vector it is about to return: not when one request asks for more sentences than the cache holds,
and not when many threads share it (gthread web workers do). Before the fix, FIFO eviction ran
before the read-back and the dict was shared unlocked: KeyError, a 500 on ordinary traffic.

The embedder is replaced by a deterministic stand-in (each text's vector is derived from the
text), because this is about the cache's mechanics; a short sleep in it widens the race window.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from search import embedder, explain


def _vector(text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(8).astype(np.float32)


@pytest.fixture
def fake_encode(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def encode(texts: Sequence[str], *, batch_size: int | None = None, bulk: bool = False) -> np.ndarray:
        calls.append(len(texts))
        time.sleep(0.001)  # the model takes time; other threads run meanwhile
        return np.stack([_vector(t) for t in texts])

    monkeypatch.setattr(embedder, "encode", encode)
    monkeypatch.setattr(explain, "_CACHE_SIZE", 16)
    explain._sentence_vectors.clear()
    yield calls
    explain._sentence_vectors.clear()


def test_one_request_larger_than_the_cache_gets_every_vector(fake_encode: list[int]) -> None:
    texts = [f"sentence {i}" for i in range(40)]  # 40 > 16 cached
    got = explain._encode_cached(texts)
    assert set(got) == set(texts)
    assert all(np.array_equal(got[t], _vector(t)) for t in texts)
    assert len(explain._sentence_vectors) <= 16


def test_cached_texts_are_not_evicted_by_the_new_ones_of_the_same_request(fake_encode: list[int]) -> None:
    explain._encode_cached([f"old {i}" for i in range(16)])  # the cache is full
    mixed = [f"old {i}" for i in range(16)] + [f"new {i}" for i in range(10)]
    got = explain._encode_cached(mixed)
    assert all(np.array_equal(got[t], _vector(t)) for t in mixed)


def test_threads_sharing_a_small_cache_always_get_the_right_vectors(fake_encode: list[int]) -> None:
    errors: list[BaseException] = []
    wrong: list[str] = []

    def hammer(worker: int) -> None:
        rng = np.random.default_rng(worker)
        try:
            for _ in range(150):
                texts = [f"text {n}" for n in rng.integers(0, 60, size=int(rng.integers(1, 12)))]
                got = explain._encode_cached(texts)
                wrong.extend(t for t in texts if not np.array_equal(got[t], _vector(t)))
        except BaseException as exc:  # noqa: BLE001 - any failure in a thread fails the test
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert wrong == []
    assert len(explain._sentence_vectors) <= 16
    assert sum(fake_encode) > 0  # the cache was filled and evicted many times over


def test_a_repeated_request_is_answered_from_the_cache(fake_encode: list[int]) -> None:
    texts = ["alpha", "beta", "alpha"]
    explain._encode_cached(texts)
    explain._encode_cached(texts)
    assert fake_encode == [2]
