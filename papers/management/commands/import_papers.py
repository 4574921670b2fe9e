"""manage.py import_papers PATH... [--format ...]: import papers from files."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from papers.importers import FORMATS
from papers.records import RecordError
from papers.services import ImportSummary, papers_import


class Command(BaseCommand):
    help = (
        "Import papers from files (.gz allowed). Bad records are reported as file:line: reason "
        "and skipped, unreadable or over-long fields as warnings (the rest of the record is kept); "
        "fields a curator edited are never overwritten; new and changed papers are queued for embedding."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--format", dest="fmt", choices=FORMATS, default="auto")
        parser.add_argument(
            "--no-embed", action="store_true", help="only store papers; embed later with embed_papers --missing"
        )

    def handle(self, *args: Any, paths: list[str], fmt: str, no_embed: bool, **options: Any) -> None:
        total = ImportSummary()
        started = time.perf_counter()
        show_progress = sys.stderr.isatty() and options.get("verbosity", 1) > 0
        for path in paths:
            with tqdm(desc=path, unit=" papers", disable=not show_progress) as bar:

                def on_error(error: RecordError) -> None:
                    self.stderr.write(str(error))

                def on_batch(summary: ImportSummary) -> None:
                    for warning in summary.warnings:
                        self.stderr.write(f"warning: {warning}")
                    bar.update(summary.imported)

                try:
                    summary = papers_import(
                        source=path, fmt=fmt, embed=not no_embed, on_error=on_error, on_batch=on_batch
                    )
                except (OSError, ValueError) as exc:
                    self.stderr.write(f"{path}: {exc}")
                    total.errors.append(f"{path}: {exc}")
                    continue
            total.add(summary)
        elapsed = time.perf_counter() - started
        rate = total.imported / elapsed if elapsed else 0.0
        self.stdout.write(f"{total} ({total.imported} papers in {elapsed:.1f}s, {rate:,.0f} papers/s)")
        if total.imported == 0:
            raise CommandError("nothing could be imported")
