"""manage.py index_status: what is stored, embedded and indexed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from search.selectors import index_status


class Command(BaseCommand):
    help = "Show papers, embedded, pending and indexed counts, and the current build."

    def handle(self, *args: Any, **options: Any) -> None:
        s = index_status()
        self.stdout.write(f"papers:    {s.papers} ({s.visible} visible)")
        self.stdout.write(f"embedded:  {s.embedded} (model {s.model})")
        self.stdout.write(f"pending:   {s.pending}")
        self.stdout.write(f"indexed:   {s.indexed if s.indexed is not None else '-'}")
        self.stdout.write(f"build:     {s.build_id or 'none'}" + (f" (model {s.build_model}, created {s.build_created})" if s.build_id else ""))
        if s.problem:
            self.stdout.write(f"problem:   {s.problem}")
