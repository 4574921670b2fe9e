"""manage.py build_index [--full] [--no-wait]: build the index from stored vectors and publish it atomically."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from search.coordination import BuildBusy
from search.services import index_build


class Command(BaseCommand):
    help = (
        "Publish an index of the vectors stored in the database: incrementally from the current "
        "build (papers added, re-embedded, hidden or deleted since), or from scratch with --full. "
        "Waits for a build that is already running, then builds only what it missed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="rebuild from scratch even if nothing changed")
        parser.add_argument("--no-wait", action="store_true", help="fail at once if another build is running")

    def handle(self, *args: Any, full: bool, no_wait: bool, **options: Any) -> None:
        try:
            build = index_build(full=full, if_changed=not full, wait=0.0 if no_wait else float(settings.CELERY_TASK_TIME_LIMIT))
        except BuildBusy as exc:
            raise CommandError(str(exc)) from exc
        if build is None:
            self.stdout.write("index is up to date with the database; nothing to build (use --full to rebuild anyway)")
            return
        self.stdout.write(
            f"published {build.kind} build {build.build_id}: {build.count} papers "
            f"(+{build.added} -{build.removed}), model {build.model}, {build.duration_s:.1f}s"
        )
