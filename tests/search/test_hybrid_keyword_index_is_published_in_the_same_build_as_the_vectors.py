"""The BM25 index is part of the vector build: same directory, same manifest, same papers."""

from __future__ import annotations

import pytest

from search import index_store
from search.index_store import IndexRefused, builds_dir, load_build
from search.services import embeddings_update, index_build


@pytest.mark.django_db
def test_keyword_files_are_listed_verified_and_loaded_with_the_vectors(paper_factory) -> None:  # type: ignore[no-untyped-def]
    papers = [paper_factory(title=f"Paper about topic {n}", abstract=f"Topic {n} studied in depth.") for n in range(5)]
    hidden = paper_factory(title="Hidden paper", abstract="Not to be indexed.", hidden=True)
    embeddings_update(paper_ids=[p.pk for p in [*papers, hidden]])
    build = index_build()
    loaded = load_build(build.build_id)
    assert any(name.startswith("keyword/") for name in loaded.manifest["files"])
    assert loaded.manifest["keyword"]["count"] == 5
    assert loaded.keyword is not None
    assert sorted(loaded.keyword.ids.tolist()) == sorted(loaded.vectors.ids().tolist()) == sorted(p.pk for p in papers)

    # A damaged keyword file refuses the whole build, like a damaged vector file.
    name = f"keyword/s-{build.build_id}/vocab.terms.npy"
    vocab = builds_dir() / build.build_id / name
    vocab.write_bytes(vocab.read_bytes().replace(b"topic", b"topix"))
    with pytest.raises(IndexRefused, match=name):
        load_build(build.build_id)
    assert index_store.current_build_id() == build.build_id
