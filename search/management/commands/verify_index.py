"""manage.py verify_index [--repair] [--json]: compare the database with the published index."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from search.selectors import IndexDrift, index_drift, papers_needing_embedding
from search.services import index_repair

SHOWN = 10  # ids listed per kind of difference


class Command(BaseCommand):
    help = (
        "Check the current index build (file checksums, manifest, model) and compare it with the "
        "database: visible papers missing from it, papers in it with an older title/abstract "
        "(stale), and papers in it that are hidden, merged or deleted (extra). Exits non-zero on "
        "any difference. --repair embeds what lacks a current vector and publishes a fixed build."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repair", action="store_true", help="fix the differences, then verify again")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, repair: bool, as_json: bool, **options: Any) -> None:
        drift = index_drift(verify_files=True)
        self._report(drift, as_json=as_json, title="before repair" if repair else "")
        if repair and not drift.clean:
            pending = len(papers_needing_embedding())
            with tqdm(total=pending, unit=" papers", desc="embedding", disable=not sys.stderr.isatty()) as bar:
                summary = index_repair(full=bool(drift.problem), progress=bar.update)
            build = summary.build
            self.stderr.write(
                f"repair: {summary.embedded} embedded, {len(summary.failed)} failed"
                + (f", published {build.kind} build {build.build_id}" if build else ", no new build needed")
            )
            drift = index_drift(verify_files=True)
            self._report(drift, as_json=as_json, title="after repair")
        if not drift.clean:
            raise CommandError(f"index and database differ ({_summary(drift)})")

    def _report(self, drift: IndexDrift, *, as_json: bool, title: str) -> None:
        if as_json:
            facts = {
                "stage": title or "verify",
                "build_id": drift.build_id,
                "ok": drift.clean,
                "problem": drift.problem,
                "missing": drift.missing,
                "stale": drift.stale,
                "extra": drift.extra,
                "unembedded": drift.unembedded,
            }
            self.stdout.write(json.dumps(facts))
            return
        if title:
            self.stdout.write(f"-- {title}")
        self.stdout.write(f"build:    {drift.build_id or 'none'}")
        self.stdout.write(f"files:    {'REFUSED: ' + drift.problem if drift.problem else 'ok (checksums, manifest, model)'}")
        for name, ids, meaning in (
            ("missing", drift.missing, "visible papers not in the index"),
            ("stale", drift.stale, "in the index with an older title/abstract"),
            ("extra", drift.extra, "in the index but hidden, merged or deleted"),
            ("unembedded", drift.unembedded, "of those, no current vector stored yet"),
        ):
            shown = ", ".join(map(str, ids[:SHOWN])) + (", ..." if len(ids) > SHOWN else "")
            self.stdout.write(f"{name + ':':<12}{len(ids)}  ({meaning})" + (f": {shown}" if ids else ""))
        self.stdout.write("OK: the index matches the database" if drift.clean else "DIFFERENT: run verify_index --repair")


def _summary(drift: IndexDrift) -> str:
    parts = [f"{len(ids)} {name}" for name, ids in (("missing", drift.missing), ("stale", drift.stale), ("extra", drift.extra)) if ids]
    if drift.problem:
        parts.insert(0, drift.problem)
    return "; ".join(parts)
