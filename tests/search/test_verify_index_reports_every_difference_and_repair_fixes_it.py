"""verify_index: missing, stale and extra papers and damaged files make it exit non-zero; --repair fixes them."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from papers.models import Paper
from search import index_store
from search.models import PaperEmbedding


def _verify(*args: str) -> tuple[bool, str]:
    out = io.StringIO()
    try:
        call_command("verify_index", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return False, out.getvalue() + str(exc)
    return True, out.getvalue()


@pytest.mark.django_db
def test_a_matching_index_verifies(listing_index: list[int]) -> None:
    ok, out = _verify()
    assert ok and "OK: the index matches the database" in out


@pytest.mark.django_db
def test_missing_stale_and_extra_papers_are_each_reported_then_repaired(listing_index: list[int], paper_factory) -> None:  # type: ignore[no-untyped-def]
    new = paper_factory(title="Unindexed paper", abstract="Imported while the workers were down.")
    Paper.objects.filter(pk=listing_index[0]).update(hidden=True)
    edited = Paper.objects.get(pk=listing_index[1])
    edited.abstract = "An abstract rewritten after the last build."
    edited.save()  # no signal: nothing re-embeds or rebuilds it

    ok, out = _verify("--json")
    assert not ok
    report = json.loads(out.splitlines()[0])
    assert report["missing"] == [new.pk]
    assert report["stale"] == [listing_index[1]]
    assert report["extra"] == [listing_index[0]]
    assert sorted(report["unembedded"]) == sorted([new.pk, listing_index[1]])
    assert "1 missing; 1 stale; 1 extra" in out

    ok, out = _verify("--repair")
    assert ok, out
    assert out.rstrip().endswith("OK: the index matches the database")
    assert PaperEmbedding.objects.get(paper=edited).content_hash == Paper.objects.get(pk=edited.pk).content_hash
    assert _verify()[0]


@pytest.mark.django_db
def test_a_damaged_build_fails_verification_and_repair_rebuilds_it_from_the_database(listing_index: list[int]) -> None:
    damaged = index_store.current_build_id()
    assert damaged
    manifest = json.loads((index_store.builds_dir() / damaged / "manifest.json").read_text())
    target = index_store.builds_dir() / damaged / max(manifest["files"], key=lambda n: manifest["files"][n]["bytes"])
    target.write_bytes(target.read_bytes()[:-10])

    ok, out = _verify()
    assert not ok and "REFUSED" in out

    ok, out = _verify("--repair")
    assert ok, out
    assert index_store.current_build_id() != damaged
    assert index_store.read_manifest(str(index_store.current_build_id()))["kind"] == "full"
