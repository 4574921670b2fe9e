"""Links are checked when they are shown, not only when imported: a row already in the database
(imported before imports checked links, or typed in by a curator) with a javascript:, data: or
vbscript: link, or a relative one, never reaches an href on the paper page, in the API or in
BibTeX. The paper's arXiv links take their place where it has an arXiv id."""

from __future__ import annotations

import re

import pytest
from django.test import Client

UNSAFE = {
    "abs": "javascript:alert(document.cookie)",
    "pdf": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
}
MORE_UNSAFE = [
    " JaVaScRiPt:alert(1)",
    "vbscript:msgbox(1)",
    "//evil.example/paper.pdf",
    "/admin/",
    "https://ok.example/a b\" onmouseover=\"alert(1)",
    "file:///etc/passwd",
    "ftp://files.example/paper.pdf",
]


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [None, *MORE_UNSAFE])
def test_an_unsafe_stored_link_never_reaches_an_href(client: Client, paper_factory, bad: str | None) -> None:  # type: ignore[no-untyped-def]
    links = dict(UNSAFE) if bad is None else {"abs": bad, "pdf": bad}
    paper = paper_factory(title="A paper with hostile links", links=links)

    page = client.get(f"/papers/{paper.pk}/")
    assert page.status_code == 200
    hrefs = _hrefs(page.content.decode())
    assert not [h for h in hrefs if re.match(r"\s*(javascript|data|vbscript|file|ftp):", h, re.I) or h.startswith("//")]
    assert "arXiv page" not in page.content.decode() and ">PDF<" not in page.content.decode()  # no arXiv id: no link at all

    api = client.get(f"/api/papers/{paper.pk}").json()
    assert api["links"] == {}
    assert "javascript" not in api["bibtex"].lower() and "data:" not in api["bibtex"]


@pytest.mark.django_db
def test_the_arxiv_links_replace_unsafe_ones_and_safe_ones_are_kept(client: Client, paper_factory) -> None:  # type: ignore[no-untyped-def]
    replaced = paper_factory(arxiv_id="2501.00001", links=dict(UNSAFE))
    kept = paper_factory(links={"abs": "https://example.org/abs/1", "pdf": "http://example.org/1.pdf"})

    assert client.get(f"/api/papers/{replaced.pk}").json()["links"] == {
        "abs": "https://arxiv.org/abs/2501.00001",
        "pdf": "https://arxiv.org/pdf/2501.00001",
    }
    assert client.get(f"/api/papers/{kept.pk}").json()["links"] == {
        "abs": "https://example.org/abs/1",
        "pdf": "http://example.org/1.pdf",
    }
    page = client.get(f"/papers/{kept.pk}/").content.decode()
    assert 'href="https://example.org/abs/1"' in page and 'href="http://example.org/1.pdf"' in page
