"""Crash the builder after writing and before publishing, or half-way through writing.

Readers (a running gunicorn) never load the partial or unpublished build, the next build
succeeds, and the leftovers are removed after the grace period.
"""

from __future__ import annotations

import time

from tests.pipeline.conftest import Site
from tests.pipeline.harness import (
    build_without_paper,
    search_ids,
    sqlite_pass,
    wait_served_everywhere,
)

pytestmark = sqlite_pass


def test_a_builder_killed_before_publishing_or_mid_write_leaves_search_on_the_previous_build(site: Site) -> None:
    p, base = site.pipeline, site.base
    paper = sorted(site.titles)[7]
    query = site.titles[paper]
    served = build_without_paper(p, paper)
    wait_served_everywhere(site.web, base, served)
    before = {d.name for d in (p.index_dir / "builds").iterdir()}

    crashed = p.manage("build_index", "--full", instruments=("--crash-before-publish",), check=False)
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    crashed_mid_write = p.manage("build_index", "--full", instruments=("--crash-mid-write",), check=False)
    assert crashed_mid_write.returncode == -9, crashed_mid_write.stderr[-2000:]

    left = {d.name for d in (p.index_dir / "builds").iterdir()} - before
    unpublished = [name for name in left if not name.startswith(".")]
    staging = [name for name in left if name.startswith(".staging-")]
    assert len(unpublished) == 1 and len(staging) == 1, left
    assert (p.index_dir / "builds" / staging[0] / "partial.bin").exists()
    assert p.current_build() == served

    deadline = time.monotonic() + 3  # many reload intervals: both web processes look at CURRENT again
    while time.monotonic() < deadline:
        assert paper not in search_ids(base, query)  # still the previous build, and every answer a 200

    published = p.manage("build_index").stdout
    assert "published" in published, published
    assert p.current_build() not in (served, unpublished[0])
    wait_served_everywhere(site.web, base, str(p.current_build()))
    assert paper in search_ids(base, query)
    assert p.verify()[0] == 0

    # Past the grace period the next build sweeps the crashed writers' leftovers away.
    p.manage("build_index", "--full", env={"INDEX_BUILD_GRACE_SECONDS": "0", "INDEX_KEEP_BUILDS": "1"})
    remaining = {d.name for d in (p.index_dir / "builds").iterdir()}
    assert remaining == {p.current_build()}, remaining
    assert "refused" not in site.web.text()
