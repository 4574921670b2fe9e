"""A fresh process (a new web worker, a ``build_index`` run) does not re-hash a build whose files
another process already checksummed: the checksums are remembered under INDEX_DIR/checksums/.
The memo only ever confirms a manifest: a wrong entry cannot refuse a good build, a file damaged
in place is still refused, a full check reads every byte, and entries go with their builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from search import index_store
from search.index_store import CHECKSUMS, IndexRefused, builds_dir, remove_old_builds, verify_build
from search.services import embeddings_update, index_build

ROOT = Path(__file__).resolve().parents[2]

# Runs in a new interpreter: which files verify_build had to read, or why it refused the build.
_VERIFY = """
import json, sys, django
django.setup()
from search import index_store
read = []
real = index_store.sha256_file
index_store.sha256_file = lambda path: read.append(path.relative_to(index_store.builds_dir() / sys.argv[1]).as_posix()) or real(path)
try:
    index_store.verify_build(sys.argv[1], trust_seen=sys.argv[2] == "trust")
    print(json.dumps({"read": read, "refused": None}))
except index_store.IndexRefused as exc:
    print(json.dumps({"read": read, "refused": str(exc)}))
"""


def _verify_in_a_fresh_process(build_id: str, *, trust: bool = True) -> dict[str, object]:
    env = {**os.environ, "INDEX_DIR": str(settings.INDEX_DIR), "PAPERSCOPE_IGNORE_DOTENV": "1",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run([sys.executable, "-c", _VERIFY, build_id, "trust" if trust else "full"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_a_fresh_process_reads_no_file_the_builder_already_checksummed(listing_index: list[int]) -> None:
    build_id = index_store.current_build_id()
    assert build_id is not None
    files = sorted(index_store.read_manifest(build_id)["files"])
    assert len(list((settings.INDEX_DIR / CHECKSUMS).iterdir())) >= len(files)  # the builder sealed them

    assert _verify_in_a_fresh_process(build_id) == {"read": [], "refused": None}
    full = _verify_in_a_fresh_process(build_id, trust=False)
    assert sorted(full["read"]) == files and full["refused"] is None  # a full check reads every byte


@pytest.mark.django_db
def test_a_wrong_memo_entry_never_refuses_a_good_build(listing_index: list[int]) -> None:
    build_id = index_store.current_build_id()
    assert build_id is not None
    for entry in (settings.INDEX_DIR / CHECKSUMS).iterdir():
        entry.write_text("0" * 64 + "\n")  # well-formed, and wrong for every file
    (settings.INDEX_DIR / CHECKSUMS / "torn").write_text("abc")
    index_store._seen_checksums.clear()

    outcome = _verify_in_a_fresh_process(build_id)
    assert outcome["refused"] is None  # the bytes decided
    assert sorted(outcome["read"]) == sorted(index_store.read_manifest(build_id)["files"])
    assert _verify_in_a_fresh_process(build_id) == {"read": [], "refused": None}  # and the memo was put right


@pytest.mark.django_db
def test_a_file_damaged_in_place_is_refused_by_a_fresh_process(listing_index: list[int]) -> None:
    build_id = index_store.current_build_id()
    assert build_id is not None
    name = max(index_store.read_manifest(build_id)["files"], key=lambda n: (builds_dir() / build_id / n).stat().st_size)
    target = builds_dir() / build_id / name
    time.sleep(0.02)  # past the file system's timestamp granularity
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))  # same size, new modification time: another identity

    outcome = _verify_in_a_fresh_process(build_id)
    assert outcome["read"] == [name]
    assert outcome["refused"] == f"build {build_id}: {name} checksum mismatch"
    with pytest.raises(IndexRefused, match="checksum mismatch"):
        verify_build(build_id)


@pytest.mark.django_db
def test_memo_entries_go_with_the_builds_that_held_their_files(listing_index: list[int], paper_factory) -> None:  # type: ignore[no-untyped-def]
    memo = settings.INDEX_DIR / CHECKSUMS
    first = index_store.current_build_id()
    assert first is not None
    first_entries = {e.name for e in memo.iterdir()}
    new = paper_factory(title="Tidal stream turbines", abstract="Measuring tidal currents for turbine arrays.")
    assert embeddings_update(paper_ids=[new.pk]).embedded == 1
    second = index_build()
    assert second is not None and second.kind == "incremental"
    assert {e.name for e in memo.iterdir()} > first_entries  # the new build's own files are remembered too

    removed = remove_old_builds(keep=1, grace_seconds=0)
    assert removed == [first]
    held = {"-".join(str(p) for p in index_store._identity(path)) for path in (builds_dir() / second.build_id).rglob("*")}
    left = {e.name for e in memo.iterdir()}
    assert left <= held  # nothing remembered for a file no build holds
    assert left & first_entries  # the files build 2 shares with build 1 by hard link keep theirs
    assert _verify_in_a_fresh_process(second.build_id) == {"read": [], "refused": None}
