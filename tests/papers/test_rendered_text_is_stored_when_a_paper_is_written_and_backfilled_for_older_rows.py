"""A paper's LaTeX is rendered once, when its text is written (import, curator edit), and stored;
pages, search explanations and feeds read the stored text instead of running pylatexenc on every
request. Rows written before the column existed still read rendered, and render_paper_texts
fills them without touching their content or ``updated``."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from papers import latex
from papers.models import Paper
from papers.services import paper_update, papers_import

TITLE = r"Magnetised turbulence with \texttt{Athena++} at $\chi = 1000$"
ABSTRACT = r"We run \texttt{Athena++} simulations of turbulent clouds with density contrast $\chi = 1000$."
SHOWN_TITLE = "Magnetised turbulence with Athena++ at χ = 1000"


class _Counting:
    """Stands in for papers.latex.to_text and counts the texts it is asked to render."""

    def __init__(self, real):  # type: ignore[no-untyped-def]
        self.real = real
        self.texts: list[str] = []

    def __call__(self, text: str) -> str:
        self.texts.append(text)
        return self.real(text)


def _import(tmp_path: Path, *records: dict[str, object]) -> None:
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    summary = papers_import(source=path, embed=False)
    assert not summary.errors


@pytest.mark.django_db
def test_import_stores_the_rendered_text_and_only_a_changed_text_is_rendered_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _import(
        tmp_path,
        {"arxiv_id": "2601.00001", "title": TITLE, "abstract": ABSTRACT, "categories": ["astro-ph.GA"]},
        {"arxiv_id": "2601.00002", "title": "Plain title", "abstract": "No markup at all, 50% plain."},
    )
    marked = Paper.objects.get(arxiv_id="2601.00001")
    plain = Paper.objects.get(arxiv_id="2601.00002")
    assert marked.rendered_title == SHOWN_TITLE
    assert marked.rendered_abstract == latex.to_text(ABSTRACT) and "χ = 1000" in marked.rendered_abstract
    assert (plain.rendered_title, plain.rendered_abstract) == ("", "")  # "" reads as stored
    assert plain.readable_title == "Plain title" and marked.readable_title == SHOWN_TITLE

    counting = _Counting(latex.to_text.__wrapped__)
    monkeypatch.setattr(latex, "to_text", counting)
    # A re-import that changes only the categories renders nothing again.
    _import(tmp_path, {"arxiv_id": "2601.00001", "title": TITLE, "abstract": ABSTRACT, "categories": ["astro-ph.SR"]})
    assert Paper.objects.get(pk=marked.pk).categories == ["astro-ph.SR"]
    assert counting.texts == []

    # A curator's new title is rendered when saved, and what is stored follows it.
    paper_update(paper=Paper.objects.get(pk=marked.pk), title=r"Cooling of $\alpha$-heated gas")
    assert r"Cooling of $\alpha$-heated gas" in counting.texts
    assert Paper.objects.get(pk=marked.pk).rendered_title == "Cooling of α-heated gas"


@pytest.mark.django_db
def test_search_and_paper_pages_read_the_stored_text_without_rendering_per_request(
    client: Client, paper_factory, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from search.services import embeddings_update, index_build

    paper = paper_factory(title=TITLE, abstract=ABSTRACT)
    other = paper_factory(title="Protein folding kinetics", abstract="Folding rates of small proteins.")
    embeddings_update(paper_ids=[paper.pk, other.pk])
    index_build()

    def refuse(text: str) -> str:
        raise AssertionError(f"rendered on a request: {text[:60]}")

    monkeypatch.setattr(latex, "to_text", refuse)
    results = client.get("/search", {"q": "Athena turbulent clouds"}).content.decode()
    assert "<mark>Athena</mark>++" in results and "χ = 1000" in results and "\\texttt" not in results
    page = client.get(paper.get_absolute_url()).content.decode()
    assert f'<h1 id="paper-title">{SHOWN_TITLE}</h1>' in page
    feed = client.get("/search/feed.atom", {"q": "Athena turbulent clouds"}).content.decode()
    assert SHOWN_TITLE in feed and "\\texttt" not in feed


BEFORE = [("papers", "0005_build_reads")]


@pytest.mark.django_db(transaction=True)
def test_rows_from_before_the_column_read_rendered_and_the_backfill_fills_them_without_touching_content() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Old = apps.get_model("papers", "Paper")
    old = Old.objects.create(title=TITLE, abstract=ABSTRACT, normalized_title="magnetised", content_hash="h1")
    plain = Old.objects.create(title="Plain", abstract="Plain text.", normalized_title="plain", content_hash="h2")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    before = {p.pk: p.updated for p in Paper.objects.all()}
    row = Paper.objects.get(pk=old.pk)
    assert row.rendered_title is None and row.readable_title == SHOWN_TITLE  # rendered when shown meanwhile

    out = StringIO()
    call_command("render_paper_texts", stdout=out, stderr=StringIO())
    assert "rendered 2 papers" in out.getvalue()
    row = Paper.objects.get(pk=old.pk)
    assert row.rendered_title == SHOWN_TITLE and "χ = 1000" in (row.rendered_abstract or "")
    assert row.title == TITLE and row.content_hash == "h1"  # the stored text and its hash are untouched
    assert (Paper.objects.get(pk=plain.pk).rendered_title, Paper.objects.get(pk=plain.pk).rendered_abstract) == ("", "")
    assert {p.pk: p.updated for p in Paper.objects.all()} == before
    again = StringIO()
    call_command("render_paper_texts", stdout=again, stderr=StringIO())
    assert "rendered 0 papers" in again.getvalue()
