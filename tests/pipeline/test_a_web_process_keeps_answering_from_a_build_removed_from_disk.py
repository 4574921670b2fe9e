"""A web process keeps answering from the build it serves after that build's directory is removed.

The builder removes superseded builds once they are past the grace period and not among the
newest INDEX_KEEP_BUILDS. A web process that has had no request for a while still serves an
older build, and on its next request it goes on answering from it while it loads the new one in
the background. Everything a search reads from its build must therefore be opened when the build
is loaded, never by path later: spelling, authors, titles, explanations, related papers, the API.
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request

from tests.pipeline.conftest import Site
from tests.pipeline.harness import build_without_paper, search_ids, sqlite_pass, wait_served_everywhere

pytestmark = sqlite_pass


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=60) as response:  # raises on any 4xx/5xx
        return response.status, response.read().decode()


def test_every_kind_of_request_is_answered_from_a_served_build_whose_directory_was_removed(site: Site) -> None:
    p, base = site.pipeline, site.base
    paper = sorted(site.titles)[9]
    served = build_without_paper(p, paper)
    wait_served_everywhere(site.web, base, served)

    shutil.rmtree(p.index_dir / "builds" / served)  # CURRENT still names it: nothing new to load
    other = sorted(site.titles)[3]
    queries = [
        site.titles[paper],
        "lerning represntations of langauge",  # misspelt: the spelling dictionary
        "trnasformer atention",  # another misspelling, never searched before in this process
        "Vaswani",  # an author's name
        f"paper {other}",
        "xqzvw",  # nothing like it in the collection
    ]
    for _ in range(2):  # each query reaches both web processes
        for query in queries:
            assert paper not in search_ids(base, query)  # still the served build; every answer a 200
        status, body = _get(f"{base}/api/search?{urllib.parse.urlencode({'q': 'neural network pruning', 'explain': 'true'})}")
        assert status == 200 and json.loads(body)["results"], body[:500]
        assert _get(f"{base}/papers/{other}/")[0] == 200
        assert _get(f"{base}/api/papers/{other}/related")[0] == 200
    assert "Traceback" not in site.web.text(), site.web.tail()

    published = p.manage("build_index").stdout  # the next build starts from a base still on disk
    assert "published" in published, published
    wait_served_everywhere(site.web, base, str(p.current_build()))
    assert paper in search_ids(base, site.titles[paper])
