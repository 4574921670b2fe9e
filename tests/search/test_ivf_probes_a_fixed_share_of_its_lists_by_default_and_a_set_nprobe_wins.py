"""The IVF index scans 64 lists, or one list in 32 of a build with more than 2,048 (at 2.6M papers
64 probes gave dense recall@10 0.9485, under the 0.95 goal; 101 probes hold it); INDEX_IVF_NPROBE
set to a number wins, and never past the build's own list count. Real FAISS indexes."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import override_settings

from search.vector_index import IVFIndex, auto_nprobe, load_index, make_index


def test_auto_nprobe_is_64_up_to_2048_lists_then_one_list_in_32() -> None:
    assert [auto_nprobe(n) for n in (1, 678, 2000, 2048, 2049, 3224, 10_000)] == [64, 64, 64, 64, 65, 101, 313]


@pytest.mark.parametrize(("setting", "expected"), [(0, 64), (16, 16), (500, 200)])
def test_a_loaded_ivf_build_scans_the_configured_or_automatic_number_of_lists(tmp_path, setting: int, expected: int) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((200 * 39, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with override_settings(INDEX_IVF_NLIST=200, INDEX_IVF_NPROBE=setting):
        built = make_index(16, "IVF{n},Flat")
        built.add(np.arange(1, len(vectors) + 1, dtype=np.int64), vectors)
        built.save(tmp_path)
        loaded = load_index(tmp_path, kind="IVF{n},Flat", params=dict(built.params))
    assert isinstance(loaded, IVFIndex) and loaded.nprobe == expected
    ids, _ = loaded.search(vectors[:1], 1)[0][0]
    assert ids == 1  # the vector itself, found
