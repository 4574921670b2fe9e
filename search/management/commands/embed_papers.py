"""manage.py embed_papers [--missing|--all]: compute and store paper vectors."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from search.selectors import papers_needing_embedding
from search.services import embeddings_update


class Command(BaseCommand):
    help = "Embed papers whose vector is missing or stale (--missing, the default) or every paper (--all)."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--missing", action="store_true", help="missing or stale vectors only (default)")
        group.add_argument("--all", action="store_true", help="re-embed every paper")
        parser.add_argument("--batch-size", type=int, default=256)

    def handle(self, *args: Any, all: bool, batch_size: int, **options: Any) -> None:
        ids = papers_needing_embedding(everything=all)
        embedded = skipped = 0
        with tqdm(total=len(ids), unit=" papers", disable=not sys.stderr.isatty()) as bar:
            for start in range(0, len(ids), batch_size):
                summary = embeddings_update(paper_ids=ids[start : start + batch_size], force=all)
                embedded += summary.embedded
                skipped += summary.skipped
                bar.update(len(ids[start : start + batch_size]))
        self.stdout.write(f"{embedded} embedded, {skipped} already up to date")
        if embedded:
            self.stdout.write("Run build_index to publish them.")
