"""Saving from any list (plain form and htmx), tags made on the fly, notes, removal, per-tag pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from library.models import SavedPaper, Tag

pytestmark = pytest.mark.django_db


def test_a_plain_form_post_saves_and_returns_to_the_page(ada_client: Client, ada: Any, reader_collection: dict[str, int]) -> None:
    paper_id = reader_collection["2503.19523"]
    response = ada_client.post(f"/library/papers/{paper_id}/save", {"next": "/search?q=agents", "tags": "agents, To Read"})
    assert response.status_code == 302 and response["Location"] == "/search?q=agents"
    saved = SavedPaper.objects.get(user=ada, paper_id=paper_id)
    assert {t.name for t in saved.tags.all()} == {"agents", "To Read"}
    # The same tag in another case is the same tag; an open redirect is refused.
    response = ada_client.post(f"/library/papers/{paper_id}/save", {"tags": "AGENTS", "next": "https://evil.example/"})
    assert response["Location"] == f"/papers/{paper_id}/"
    assert Tag.objects.filter(user=ada).count() == 2


def test_htmx_swaps_the_control_and_the_results_page_shows_it(ada_client: Client, ada: Any, reader_collection: dict[str, int]) -> None:
    paper_id = reader_collection["2504.00891"]
    page = ada_client.get("/search", {"q": "language model agents"})
    assert page.status_code == 200
    assert f'action="/library/papers/{paper_id}/save"' in page.content.decode() or 'class="save-control"' in page.content.decode()
    response = ada_client.post(f"/library/papers/{paper_id}/save", {"tags": "rl"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div class="save-control"')
    assert "Saved" in html and ">rl</span>" in html and f'/library/papers/{paper_id}/remove' in html
    response = ada_client.post(f"/library/papers/{paper_id}/remove", HTTP_HX_REQUEST="true")
    assert ">Save</button>" in response.content.decode()
    assert not SavedPaper.objects.filter(user=ada).exists()


def test_the_paper_page_and_related_list_carry_the_control(ada_client: Client, reader_collection: dict[str, int]) -> None:
    paper_id = reader_collection["2505.17352"]
    html = ada_client.get(f"/papers/{paper_id}/").content.decode()
    assert f'id="save-{paper_id}"' in html
    assert html.count('class="save-control"') >= 2  # the paper itself and its related papers


def test_anonymous_readers_are_sent_to_sign_in(client: Client, reader_collection: dict[str, int]) -> None:
    paper_id = reader_collection["2505.17352"]
    assert "/accounts/login/?next=" in client.get(f"/papers/{paper_id}/").content.decode()
    response = client.post(f"/library/papers/{paper_id}/save")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not SavedPaper.objects.exists()


def test_notes_tags_and_search_inside_a_tag(ada_client: Client, ada: Any, reader_collection: dict[str, int]) -> None:
    first, second, third = (reader_collection[k] for k in ("2503.19523", "2509.24159", "2602.06795"))
    for pid in (first, second):
        ada_client.post(f"/library/papers/{pid}/save", {"tags": "thesis"})
    ada_client.post(f"/library/papers/{third}/save", {"tags": "later"})
    response = ada_client.post(f"/library/papers/{first}/edit", {"tags": "thesis, chapter 2", "note": "Read section 4 closely"})
    assert response.status_code == 302
    saved = SavedPaper.objects.get(user=ada, paper_id=first)
    assert saved.note == "Read section 4 closely" and {t.name for t in saved.tags.all()} == {"thesis", "chapter 2"}
    thesis = Tag.objects.get(user=ada, name="thesis")
    page = ada_client.get(f"/library/tags/{thesis.pk}/").content.decode()
    assert f"/papers/{first}/" in page and f"/papers/{second}/" in page and f"/papers/{third}/" not in page
    # Search inside the tag reaches the note too.
    page = ada_client.get(f"/library/tags/{thesis.pk}/", {"q": "section 4"}).content.decode()
    assert f"/papers/{first}/" in page and f"/papers/{second}/" not in page


def test_bad_input_is_a_400_with_a_message(ada_client: Client, reader_collection: dict[str, int]) -> None:
    pid = reader_collection["2503.19523"]
    response = ada_client.post(f"/library/papers/{pid}/save", {"tags": "x" * 65})
    assert response.status_code == 400 and "at most 64 characters" in response.content.decode()
    ada_client.post(f"/library/papers/{pid}/save")
    response = ada_client.post(f"/library/papers/{pid}/edit", {"tags": "", "note": "n" * 10_001})
    assert response.status_code == 400
    assert ada_client.post("/library/papers/999999/save").status_code == 404


def test_save_this_search_carries_the_query_and_filters_into_the_form(ada_client: Client, reader_collection: dict[str, int]) -> None:
    page = ada_client.get("/search", {"q": "reward models", "mode": "dense", "year_from": 2025, "category": "cs.CL"}).content.decode()
    assert "Save this search" in page
    form = ada_client.get("/library/searches", {"q": "reward models", "mode": "dense", "year_from": 2025, "category": "cs.CL"}).content.decode()
    assert 'value="reward models"' in form and 'value="2025"' in form and 'value="cs.CL"' in form
    response = ada_client.post("/library/searches", {"query": "reward models", "mode": "dense", "year_from": 2025, "categories": "cs.CL", "digest": "weekly"})
    assert response.status_code == 302
    from library.models import SavedSearch

    saved = SavedSearch.objects.get()
    assert (saved.query, saved.mode, saved.year_from, saved.categories, saved.digest) == ("reward models", "dense", 2025, ["cs.CL"], "weekly")


def test_library_pages_make_a_fixed_number_of_queries(ada_client: Client, ada: Any, reader_collection: dict[str, int], django_assert_max_num_queries: Any) -> None:
    from papers.models import Paper

    for pk in Paper.objects.values_list("pk", flat=True)[:40]:
        ada_client.post(f"/library/papers/{pk}/save", {"tags": "one, two"})
    tag = Tag.objects.get(user=ada, name="one")
    for url in ("/library/", f"/library/tags/{tag.pk}/", "/library/export.csv", "/library/export.bib"):
        ada_client.get(url)  # citation keys are given on the first export
        with django_assert_max_num_queries(8):
            assert ada_client.get(url).status_code == 200, url
