"""Search in a loop against gunicorn while builds are published (and one damaged build): no errors."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from tests.pipeline.conftest import Site
from tests.pipeline.harness import (
    search_ids,
    sqlite_pass,
    unpublished_build,
    vectors_file,
    write_current,
)

QUERIES = ["diffusion models for video generation", "reinforcement learning from human feedback", "rocket combustion", "graph neural networks"]


pytestmark = sqlite_pass


def test_searching_in_a_loop_while_builds_are_published_never_errors(site: Site) -> None:
    p, base = site.pipeline, site.base
    results: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        deadline = time.monotonic() + 180  # bounded even if the main thread fails
        n = 0
        while not stop.is_set() and time.monotonic() < deadline:
            query = QUERIES[n % len(QUERIES)]
            n += 1
            try:
                results.append(len(search_ids(base, query)))
            except (urllib.error.URLError, OSError, AssertionError) as exc:
                errors.append(f"{query!r}: {exc!r}")

    first = p.current_build()
    loop = threading.Thread(target=hammer, daemon=True)
    loop.start()
    try:
        papers = sorted(site.titles)[20:23]
        # Curation in the embedded default: each hide and unhide publishes a build in-process.
        out = p.manage(
            "shell", "-c",
            "import time; from papers.services import papers_set_hidden; from search.index_store import current_build_id\n"
            f"for paper in {papers}:\n"
            "    for hidden in (True, False):\n"
            "        papers_set_hidden(paper_ids=[paper], hidden=hidden); print('BUILD', current_build_id()); time.sleep(0.3)",
        ).stdout
        published = {line.split()[1] for line in out.splitlines() if line.startswith("BUILD ")}
        bad = unpublished_build(p)
        vectors_file(p, bad).write_bytes(b"not a faiss index")
        write_current(p, bad)
        time.sleep(1)
        p.manage("build_index", "--full")
        published.add(p.current_build())
        time.sleep(1)
    finally:
        stop.set()
        loop.join(timeout=120)

    assert not errors, errors[:5]
    assert len(results) >= 30, len(results)
    assert all(n > 0 for n in results), "a search came back empty"
    assert first not in published and len(published) == 7, published
