"""Builds start from the current build and apply the database's changes; full when asked or cheaper."""

from __future__ import annotations

import numpy as np
import pytest

from papers.models import Paper
from search import index_store
from search.models import PaperEmbedding
from search.selectors import index_drift
from search.services import embeddings_update, index_build


def _stored(paper_id: int) -> np.ndarray:
    return PaperEmbedding.objects.get(paper_id=paper_id).as_array()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["auto", "ivf", "IVF{n},SQ8"])  # exact below INDEX_AUTO_EXACT_MAX; IVF lists streamed from the base
def test_an_incremental_build_adds_new_and_changed_papers_and_drops_hidden_merged_and_deleted_ones(listing_index: list[int], paper_factory, settings, kind: str) -> None:  # type: ignore[no-untyped-def]
    settings.INDEX_KIND = kind
    if kind != "auto":
        assert index_build(full=True) is not None  # a base of this kind
    base = index_store.current_build_id()
    assert base is not None and index_store.read_manifest(base)["index_kind"] == (kind if kind == "IVF{n},SQ8" else {"auto": "IDMap,Flat", "ivf": "IVF{n},Flat"}[kind])
    hidden, deleted, merged, survivor, edited = listing_index[:5]
    # Plain UPDATEs and saves: no signal, so nothing is built until index_build below.
    Paper.objects.filter(pk=hidden).update(hidden=True)
    Paper.objects.filter(pk=deleted).delete()
    Paper.objects.filter(pk=merged).update(merged_into=survivor)
    paper = Paper.objects.get(pk=edited)
    paper.abstract = "A completely different abstract about coral reef bleaching forecasts from satellites."
    paper.save()
    new = paper_factory(title="Tidal energy arrays", abstract="Placing turbines in tidal channels to maximise yield.")
    assert embeddings_update(paper_ids=[edited, new.pk]).embedded == 2

    build = index_build()

    assert build is not None and build.kind == "incremental" and build.base_build == base
    assert (build.added, build.removed) == (2, 4)  # new + edited in; hidden, deleted, merged, old edited out
    loaded = index_store.load_build(build.build_id)
    visible = set(Paper.objects.visible().values_list("pk", flat=True))
    assert set(loaded.vectors.ids().tolist()) == visible
    [[(top, score)]] = loaded.vectors.search(_stored(edited).reshape(1, -1), 1)
    # The new vector, not the old one (8-bit codes trained on 61 papers decode it only roughly).
    assert top == edited and score == pytest.approx(1.0, abs=1e-5 if loaded.vectors.EXACT_VECTORS else 0.1)
    assert index_drift().clean


@pytest.mark.django_db
def test_a_full_rebuild_happens_when_asked(listing_index: list[int]) -> None:
    build = index_build(full=True)
    assert build is not None and build.kind == "full" and build.base_build == ""
    assert build.count == len(listing_index)


@pytest.mark.django_db
def test_a_full_rebuild_happens_when_most_of_the_collection_changed(listing_index: list[int], settings) -> None:  # type: ignore[no-untyped-def]
    settings.INDEX_FULL_REBUILD_RATIO = 0.5
    Paper.objects.filter(pk__in=listing_index[:40]).update(hidden=True)
    build = index_build()
    assert build is not None and build.kind == "full" and build.count == len(listing_index) - 40


@pytest.mark.django_db
def test_nothing_is_built_when_the_index_matches_the_database(listing_index: list[int]) -> None:
    current = index_store.current_build_id()
    assert index_build(if_changed=True) is None
    assert index_store.current_build_id() == current


@pytest.mark.django_db
def test_a_damaged_current_build_is_never_a_base_the_next_build_starts_from_scratch(listing_index: list[int]) -> None:
    current = index_store.current_build_id()
    assert current
    (index_store.builds_dir() / current / index_store.MEMBERS).write_bytes(b"garbage")
    build = index_build(if_changed=True)
    assert build is not None and build.kind == "full"
    assert index_drift().clean


@pytest.mark.django_db
def test_the_manifest_records_members_and_the_database_watermark(listing_index: list[int]) -> None:
    build_id = index_store.current_build_id()
    assert build_id
    manifest = index_store.read_manifest(build_id)
    assert index_store.MEMBERS in manifest["files"]
    assert manifest["watermark"]["embeddings"] == PaperEmbedding.objects.count()
    assert manifest["watermark"]["embeddings_updated"]
    members = index_store.read_members(build_id)
    assert members is not None
    hashes = dict(Paper.objects.values_list("pk", "content_hash"))
    assert members == {pk: hashes[pk][:16] for pk in listing_index}


@pytest.mark.django_db
def test_a_base_that_cannot_be_updated_is_rebuilt_from_scratch_in_a_clean_staging_directory(
    listing_index: list[int], paper_factory, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    new = paper_factory(title="Kelp forest carbon", abstract="How much carbon kelp forests bury in the deep sea.")
    assert embeddings_update(paper_ids=[new.pk]).embedded == 1

    def half_written(source, directory, **kwargs):  # type: ignore[no-untyped-def]
        (directory / "vectors.faiss").write_bytes(b"half of an update")
        raise ValueError("this base cannot be updated")

    monkeypatch.setattr(index_store, "save_updated", half_written)
    build = index_build()

    assert build is not None and build.kind == "full" and build.base_build == ""
    assert not [p for p in index_store.builds_dir().iterdir() if p.name.startswith(index_store.STAGING_PREFIX)]
    loaded = index_store.load_build(build.build_id)
    assert set(loaded.vectors.ids().tolist()) == set(Paper.objects.visible().values_list("pk", flat=True))
    assert index_drift().clean
