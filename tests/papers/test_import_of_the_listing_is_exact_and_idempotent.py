from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from papers.models import Paper
from tests.conftest import LISTING


def _source_blocks() -> list[tuple[str, str]]:
    lines = [line.rstrip("\n") for line in LISTING.read_text(encoding="utf-8").splitlines()]
    body = [line for line in lines if line.strip()]
    assert body[:5] == ["new", "Get trending papers in your email inbox!", "Subscribe", "byAK and the research community", "Mar 13"]
    pairs = body[5:]
    return [(pairs[i].strip(), pairs[i + 1].strip()) for i in range(0, len(pairs), 2)]


@pytest.mark.django_db
def test_importing_the_listing_gives_exactly_its_61_papers() -> None:
    out = StringIO()
    call_command("import_papers", str(LISTING), "--no-embed", stdout=out, stderr=StringIO())
    assert "61 created" in out.getvalue()
    stored = {(p.title, p.abstract) for p in Paper.objects.all()}
    assert stored == set(_source_blocks())
    assert len(stored) == 61
    assert any("{p}_{theta}(Y|X)" in abstract for _, abstract in stored)
    assert any("\\%" in abstract for _, abstract in stored)


@pytest.mark.django_db
def test_importing_the_listing_again_changes_nothing() -> None:
    call_command("import_papers", str(LISTING), "--no-embed", stdout=StringIO(), stderr=StringIO())
    before = list(Paper.objects.order_by("pk").values("pk", "title", "abstract", "updated"))
    out = StringIO()
    call_command("import_papers", str(LISTING), "--no-embed", stdout=out, stderr=StringIO())
    assert "0 created, 0 updated, 0 merged, 61 unchanged, 0 rejected" in out.getvalue()
    assert list(Paper.objects.order_by("pk").values("pk", "title", "abstract", "updated")) == before
