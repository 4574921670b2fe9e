"""An incremental build analyses only the papers it adds: one new keyword segment, the base's
segments hard-linked (same inode, checksum taken from the base manifest), and the same BM25
scores as a full rebuild from the database."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from papers.models import Paper
from search import index_store
from search.index_store import builds_dir, load_build, sha256_file
from search.keyword import AUTHORS_SUBDIR, SEGMENT_FILES, SEGMENTS_FILE, SUBDIR, analyze
from search.services import embeddings_update, index_build


def _segments(build_id: str, subdir: str = SUBDIR) -> list[str]:
    return [s["name"] for s in json.loads((builds_dir() / build_id / subdir / SEGMENTS_FILE).read_text())["segments"]]


@pytest.mark.django_db
def test_adding_papers_writes_one_new_segment_and_links_every_unchanged_one(listing_index: list[int], paper_factory) -> None:  # type: ignore[no-untyped-def]
    base = index_store.current_build_id()
    assert base is not None
    hidden, edited = listing_index[:2]
    Paper.objects.filter(pk=hidden).update(hidden=True)
    paper = Paper.objects.get(pk=edited)
    paper.abstract = "Coral reef bleaching forecasts from satellites."
    paper.save()
    new = [
        paper_factory(title="Tidal energy arrays", abstract="Placing turbines in tidal channels to maximise yield.", authors=["Ada Lovelace"]),
        paper_factory(title="Tidal stream resource", abstract="Measuring tidal currents for turbines."),
    ]
    assert embeddings_update(paper_ids=[edited, *(p.pk for p in new)]).embedded == 3

    build = index_build()

    assert build is not None and build.kind == "incremental" and build.base_build == base
    manifest = load_build(build.build_id).manifest  # verifies every checksum
    assert manifest["keyword"]["analysed"] == 3  # the two new papers and the edited one, nothing else
    base_manifest = index_store.read_manifest(base)
    for subdir in (SUBDIR, AUTHORS_SUBDIR):
        old, now = _segments(base, subdir), _segments(build.build_id, subdir)
        assert now == [*old, f"s-{build.build_id}"]
        for segment in old:
            for file in SEGMENT_FILES:
                name = f"{subdir}/{segment}/{file}"
                assert os.path.samefile(builds_dir() / build.build_id / name, builds_dir() / base / name)
                assert manifest["files"][name] == base_manifest["files"][name]
        added = builds_dir() / build.build_id / subdir / f"s-{build.build_id}"
        assert sorted(np.load(added / "ids.npy").tolist()) == sorted([edited, *(p.pk for p in new)])
        for file in SEGMENT_FILES:
            assert os.stat(added / file).st_nlink == 1
            assert manifest["files"][f"{subdir}/s-{build.build_id}/{file}"]["sha256"] == sha256_file(added / file)

    incremental = load_build(build.build_id).keyword
    assert incremental is not None and incremental.authors is not None
    assert incremental.search(analyze("coral reef"), 5)[0][0] == edited
    assert hidden not in {pk for pk, _ in incremental.search(analyze(paper.title), 100)}
    assert incremental.authors.search(["lovelace"], 5) == [(new[0].pk, pytest.approx(incremental.authors.search(["lovelace"], 5)[0][1]))]

    full = load_build(index_build(full=True).build_id).keyword
    assert full is not None and len(full.segments) == 1 and len(full) == len(incremental)
    for query in ("tidal turbines", "coral reef bleaching", "language model", "diffusion image generation"):
        terms = analyze(query)
        expected = full.scores_for(terms, full.ids.tolist())
        got = incremental.scores_for(terms, full.ids.tolist())
        assert got == pytest.approx(expected, rel=1e-5)
        assert [pk for pk, _ in incremental.search(terms, 10)] == [pk for pk, _ in full.search(terms, 10)]
