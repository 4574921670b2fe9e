"""manage.py index_status [--json]: what is stored, embedded, pending, failed, built and drifting."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from search.selectors import index_status


class Command(BaseCommand):
    help = (
        "Show papers, embedded, pending and indexed counts, failed embeddings with their errors, "
        "the last builds, drift between the index and the database, and queued tasks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", dest="as_json", action="store_true", help="print everything as JSON")
        parser.add_argument("--limit", type=int, default=10, help="failures and builds shown (default 10)")

    def handle(self, *args: Any, as_json: bool, limit: int, **options: Any) -> None:
        s = index_status(details=True, limit=limit)
        if as_json:
            self.stdout.write(json.dumps(dataclasses.asdict(s), indent=2))
            return
        w = self.stdout.write
        w(f"papers:    {s.papers} ({s.visible} visible)")
        w(f"embedded:  {s.embedded} (model {s.model})")
        w(f"pending:   {s.pending} (no vector, or a vector of an older title/abstract)")
        w(f"failed:    {s.failed}")
        for f in s.failures:
            w(f"  paper {f['paper']} ({f['attempts']} attempt(s), {f['updated'][:19]}): {f['title']}")
            w(f"    {f['error'].splitlines()[0][:200] if f['error'] else ''}")
        w(f"indexed:   {s.indexed if s.indexed is not None else '-'}")
        w(f"build:     {s.build_id or 'none'}" + (f" (model {s.build_model}, created {s.build_created})" if s.build_id else ""))
        drift = "none" if not (s.missing or s.stale or s.extra) else f"{s.missing} missing, {s.stale} stale, {s.extra} extra"
        w(f"drift:     {drift} (index vs database; verify_index for details)")
        if s.queued:
            w("queued:    " + ", ".join(f"{queue} {count}" for queue, count in s.queued.items()))
        if s.problem:
            w(f"problem:   {s.problem}")
        if s.builds:
            w("last builds:")
            for b in s.builds:
                line = f"  {b['build_id']}  {b['status']:<9} {b['kind']:<11} {b['count']:>8} papers (+{b['added']} -{b['removed']}) {b['duration_s']:.2f}s"
                w(line + (f"  {b['error'][:120]}" if b["error"] else ""))
