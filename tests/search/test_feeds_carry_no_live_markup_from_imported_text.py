"""A feed reader never turns imported text into live markup: Atom ``<summary type="html">`` and
RSS ``<description>`` carry the abstract HTML-escaped, so ``<img onerror=...>`` in an abstract is
shown as text. Read with feedparser, as a feed reader would, with its own sanitiser off (a reader
that does not sanitise is exactly the one this protects). Summaries are bounded too."""

from __future__ import annotations

from html.parser import HTMLParser

import feedparser
import pytest
from django.test import Client

HOSTILE_ABSTRACT = (
    'We study <img src=x onerror="alert(1)"> attention. <script>alert(2)</script> '
    '<a href="javascript:alert(3)">Click</a> & more < less.'
)
HOSTILE_TITLE = "<b onmouseover=alert(4)>Bold</b> claims about <i>attention</i>"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def _live_tags(text: str) -> list[str]:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    return parser.tags


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/search/feed.atom", "/search/feed.rss"])
def test_a_feed_reader_gets_the_abstract_as_text_not_markup(client: Client, paper_factory, path: str) -> None:  # type: ignore[no-untyped-def]
    paper_factory(title=HOSTILE_TITLE, abstract=HOSTILE_ABSTRACT)
    response = client.get(path)
    assert response.status_code == 200

    feed = feedparser.parse(response.content, sanitize_html=False)
    assert not feed.bozo, feed.bozo_exception
    (entry,) = feed.entries
    assert entry.summary_detail.type == "text/html"  # what a reader renders as HTML
    assert _live_tags(entry.summary) == []
    # What the reader shows is the abstract's own text, markup characters included.
    shown = feedparser.parse(response.content).entries[0].summary
    assert "&lt;img src=x onerror=" in shown and "&lt;script&gt;" in shown and "&amp; more &lt; less" in shown
    if entry.title_detail.type == "text/html":
        assert _live_tags(entry.title) == []
    assert "Bold" in entry.title


@pytest.mark.django_db
def test_a_huge_abstract_is_bounded_in_the_feed(client: Client, paper_factory) -> None:  # type: ignore[no-untyped-def]
    paper_factory(title="A long one", abstract="word " * 200_000)  # 1 MB
    response = client.get("/search/feed.atom")
    assert response.status_code == 200
    assert len(response.content) < 10_000
    assert feedparser.parse(response.content).entries[0].summary.endswith("…")
