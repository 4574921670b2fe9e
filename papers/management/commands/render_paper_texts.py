"""manage.py render_paper_texts: store the rendered title and abstract of papers written before
Paperscope stored them (after upgrading past migration papers 0006). Resumable; pages show such
papers correctly meanwhile, rendering their text on each view."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from papers.models import Paper
from papers.services import papers_render_texts


class Command(BaseCommand):
    help = "Store the LaTeX-rendered title and abstract of papers that do not have them yet (written before they were stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        todo = Paper.objects.filter(rendered_title__isnull=True).count()
        with tqdm(total=todo, unit="paper", disable=todo == 0 or options["verbosity"] < 1, file=self.stderr) as bar:
            done = papers_render_texts(batch_size=options["batch_size"], on_batch=bar.update)
        self.stdout.write(f"rendered {done} papers")
