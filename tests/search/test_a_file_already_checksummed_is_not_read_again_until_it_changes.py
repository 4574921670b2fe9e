"""Loading build N+1 (or starting an incremental build from build N) does not re-hash the files
it shares with the build before by hard link: this process has checksummed those very inodes.
A file rewritten since, or brand new when it was read, is read again and refused if wrong; a
full check reads every byte."""

from __future__ import annotations

import os
import time

import pytest

from papers.models import Paper
from search import index_store
from search.index_store import IndexRefused, builds_dir, load_build, verify_build
from search.services import embeddings_update, index_build


@pytest.mark.django_db
def test_shared_files_are_hashed_once_and_a_changed_file_is_caught(listing_index: list[int], paper_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first = index_store.current_build_id()
    assert first is not None
    time.sleep(0.15)  # past the racy window: a file is remembered only once it is not brand new
    load_build(first)  # a web process serving build N has read every file of it
    new = paper_factory(title="Tidal stream turbines", abstract="Measuring tidal currents for turbine arrays.")
    assert embeddings_update(paper_ids=[new.pk]).embedded == 1
    second = index_build()
    assert second is not None and second.kind == "incremental"

    read: list[str] = []
    real = index_store.sha256_file
    monkeypatch.setattr(index_store, "sha256_file", lambda path: read.append(str(path.relative_to(builds_dir() / second.build_id))) or real(path))
    manifest = verify_build(second.build_id)
    shared = [
        name for name in manifest["files"]
        if (builds_dir() / first / name).exists() and os.path.samefile(builds_dir() / second.build_id / name, builds_dir() / first / name)
    ]
    assert shared  # the keyword segments, hard-linked
    # Only build N+1's own new files may be read (the builder may already have remembered them, if it
    # hashed them after the racy window, as a loaded machine does): never the files it shares.
    assert not set(read) & set(shared)
    assert set(read) <= set(manifest["files"]) - set(shared)
    time.sleep(0.15)
    verify_build(second.build_id)  # the new files, no longer brand new, are remembered now (if not already)
    read.clear()
    verify_build(second.build_id)
    assert read == []  # nothing is read again

    verify_build(second.build_id, trust_seen=False)
    assert sorted(read) == sorted(manifest["files"])  # a full check reads every byte
    read.clear()

    target = builds_dir() / second.build_id / shared[0]
    time.sleep(0.02)  # past the file system's timestamp granularity
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))  # damaged in place, same size: the inode, and the build before, share it
    with pytest.raises(IndexRefused, match="checksum mismatch"):
        verify_build(second.build_id)
    assert read == [shared[0]]
    assert Paper.objects.filter(pk=new.pk).exists()
