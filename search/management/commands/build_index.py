"""manage.py build_index: build the index from stored vectors and publish it atomically."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from search.services import BuildBusy, index_build


class Command(BaseCommand):
    help = "Build the vector index from the vectors stored in the database and publish it atomically."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            build = index_build()
        except BuildBusy as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"published build {build.build_id}: {build.count} papers, model {build.model}, {build.duration_s:.1f}s")
