"""Import of arXiv ids, DOIs and a .bib file: what is in the collection is saved (with the chosen
tags), what is not is listed by name, nothing is dropped silently."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from library.models import SavedPaper

pytestmark = pytest.mark.django_db

BIB = """
@misc{known2025, title = {Anything}, eprint = {2504.00891}, archivePrefix = {arXiv}}
@article{bydoi, title = {Known by DOI}, doi = {10.5555/PAPERSCOPE.1}}
@article{missing2020, title = {A paper nobody imported}, doi = {10.9999/absent}}
@misc{titled, title = {{Known} by its title only}}
@misc{broken, title = {unclosed
"""


def test_ids_dois_and_a_bib_file_are_saved_or_reported(ada_client: Client, ada: Any, reader_collection: dict[str, int], paper_factory: Any) -> None:
    by_doi = paper_factory(title="Known by DOI", doi="10.5555/paperscope.1")
    by_title = paper_factory(title="Known by its title only")
    text = "\n".join([
        "2503.19523", "arXiv:2505.17352v2", "https://arxiv.org/abs/2509.24159", "2101.00001",
        "doi:10.5555/paperscope.1", "10.1234/not-here", "not an identifier", "# a comment", "",
    ])
    bib = SimpleUploadedFile("refs.bib", BIB.encode(), content_type="application/x-bibtex")
    response = ada_client.post("/library/import", {"identifiers": text, "bib": bib, "tags": "imported"})
    html = response.content.decode()
    assert response.status_code == 200
    saved = set(SavedPaper.objects.filter(user=ada).values_list("paper_id", flat=True))
    expected = {reader_collection[k] for k in ("2503.19523", "2505.17352", "2509.24159", "2504.00891")} | {by_doi.pk, by_title.pk}
    assert saved == expected
    assert all(s.tags.filter(name="imported").exists() for s in SavedPaper.objects.filter(user=ada))
    for reported in ("2101.00001", "10.1234/not-here", "10.9999/absent", "not an identifier"):
        assert reported in html, reported
    assert "6 saved, 1 already in your library, 3 not in the collection" in html  # the DOI listed twice
    assert "unparseable entry" in html or "broken" in html  # the broken .bib entry is reported too


def test_an_empty_or_oversized_import_is_a_400(ada_client: Client, settings: Any) -> None:
    assert ada_client.post("/library/import", {"identifiers": ""}).status_code == 400
    settings.LIBRARY_IMPORT_MAX_KB = 1
    response = ada_client.post("/library/import", {"identifiers": "2503.19523\n" * 200})
    assert response.status_code == 400 and "at most 1 KB" in response.content.decode()
