"""manage.py harvest_arxiv [--endpoint URL] [--set SPEC ...] [--from DATE] [--until DATE]"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from harvest import services
from harvest.models import ARXIV_OAI_ENDPOINT


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Harvest arXiv metadata over OAI-PMH (metadataPrefix arXiv) into the collection, one set at a "
        "time, from the datestamp the last complete harvest of that set reached (or --from). Follows "
        "resumption tokens to the end, waits as a 503's Retry-After says, and resumes an interrupted "
        "harvest at its page. New and changed papers are embedded like any import."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--endpoint", default=ARXIV_OAI_ENDPOINT, help=f"OAI-PMH base URL (default {ARXIV_OAI_ENDPOINT})")
        parser.add_argument("--set", dest="sets", action="append", metavar="SPEC", help="an arXiv set (cs, math, physics:astro-ph, ...); repeatable; default: all of arXiv")
        parser.add_argument("--from", dest="from_date", type=_date, help="harvest records changed on or after this day (default: where the last harvest of the set ended)")
        parser.add_argument("--until", type=_date, help="and on or before this day (default: up to now)")
        parser.add_argument("--no-embed", action="store_true", help="only store papers; embed later with embed_papers --missing")
        parser.add_argument("--page-delay", type=float, default=None, help="seconds between pages (default HARVEST_PAGE_DELAY)")

    def handle(self, *args: Any, endpoint: str, sets: list[str] | None, from_date: dt.date | None, until: dt.date | None, no_embed: bool, page_delay: float | None, **options: Any) -> None:
        if from_date and until and until < from_date:
            raise CommandError("--until is before --from")
        failed = []
        for spec in sets or [""]:
            source = services.source_for(endpoint=endpoint, set_spec=spec)
            started = time.perf_counter()

            def progress(result: services.HarvestResult) -> None:
                if options.get("verbosity", 1) > 1:
                    self.stderr.write(f"{source.name}: page {result.counts['pages']}: {result}")

            try:
                result = services.harvest_run(
                    source=source, from_date=from_date, until=until, embed=not no_embed, page_delay=page_delay, progress=progress
                )
            except services.HarvestBusy as exc:
                raise CommandError(str(exc)) from exc
            elapsed = time.perf_counter() - started
            source.refresh_from_db()
            where = f"harvested up to {source.cursor}" if result.complete else "stopped; the next run resumes at the page it had not finished"
            self.stdout.write(f"{source.name} [{result.window[0]} .. {result.window[1]}]: {result} in {elapsed:.1f}s; {where}")
            for item in source.last_rejected:
                self.stderr.write(f"{item['source']}: {item['reason']}")
            if not result.complete:
                self.stderr.write(f"{source.name}: {result.error}")
                failed.append(source.name)
        if failed:
            raise CommandError(f"harvest incomplete: {', '.join(failed)}")
