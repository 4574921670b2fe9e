"""A long-lived worker does not keep the memory a build freed: an incremental build's private
copy of the vectors (FAISS allocates each IVF list on its own, ~1 MB blocks that glibc keeps in
its heap once freed) is handed back (search/memory.py), so the worker's resident memory returns
to what it was before the build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from search import keyword, memory, services

ROOT = Path(__file__).resolve().parents[2]


# Run in a fresh interpreter: how much a freed heap keeps depends on what the process allocated
# before, so inside the test session (other tests' leftovers at the top of the heap) glibc may
# already have trimmed it, and the first claim would say nothing about release_freed_memory.
_FRESH_PROCESS = """
import gc, json
import faiss, numpy as np
from search import memory

def anon_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:"))

rng = np.random.default_rng(0)
index = faiss.index_factory(64, "IVF256,Flat")
index.train(rng.standard_normal((20_000, 64)).astype(np.float32))
before = anon_kb()
for _ in range(8):  # 400,000 vectors, ~100 MB in 256 lists grown block by block
    index.add(rng.standard_normal((50_000, 64)).astype(np.float32))
held = anon_kb()
del index
gc.collect()
after_free = anon_kb()
trimmed = memory.release_freed_memory()
print(json.dumps({"before": before, "held": held, "after_free": after_free, "trimmed": trimmed, "released": anon_kb()}))
"""


def test_freed_faiss_lists_stay_with_the_process_until_they_are_released() -> None:
    out = subprocess.run([sys.executable, "-c", _FRESH_PROCESS], cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    kb = json.loads(out.stdout.strip().splitlines()[-1])
    before = kb["before"]
    assert kb["held"] - before > 80_000
    assert kb["after_free"] - before > 40_000  # freed, yet most of it still resident (glibc's heap keeps it)
    assert kb["trimmed"]
    assert kb["released"] < kb["after_free"]  # pages the heap kept are given back
    assert kb["released"] - before < 30_000  # to about where it was before the lists were made


@pytest.mark.django_db
def test_every_build_releases_what_it_freed_even_one_that_changes_nothing(listing_index: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(memory, "release_freed_memory", lambda: calls.append("release") or True)
    write_keyword_index = keyword.write_keyword_index

    def keyword_half(*args: object, **kwargs: object) -> object:
        calls.append("keyword")
        return write_keyword_index(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(keyword, "write_keyword_index", keyword_half)
    assert services.index_build(if_changed=True) is None  # up to date: nothing built
    assert calls == ["release"]
    assert services.index_build(full=True) is not None
    # The vector half's freed lists are handed back before the keyword half, and all at the end.
    assert calls == ["release", "release", "keyword", "release"]
