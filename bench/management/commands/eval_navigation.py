"""manage.py eval_navigation: do ids, URLs, exact titles and author names find what they name?

Runs on the first --papers records of the arXiv abstracts corpus (../shared/data/arxiv-abstracts-115k)
in an isolated database and index under EVAL_DIR (default var/eval/), never the live ones, like
eval_search: this process re-runs itself with DATABASE_URL and INDEX_DIR inside the workspace.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench import evaluation

INSIDE_FLAG = "--inside-workspace"


class Command(BaseCommand):
    help = (
        "Navigational benchmark: arXiv ids, abs/pdf URLs and exact titles must put their paper first; author names "
        "are scored by precision@5. Isolated database and index; prints a table and JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True, type=Path, help="directory holding papers.jsonl.gz (arXiv abstracts)")
        parser.add_argument("--papers", type=int, default=15_000, help="how many papers, from the oldest (default 15000)")
        parser.add_argument("--sample", type=int, default=250, help="papers whose ids, URLs and titles are queried")
        parser.add_argument("--authors", type=int, default=300, help="authors with 3+ papers whose names are queried")
        parser.add_argument("--seed", type=int, default=17)
        parser.add_argument("--json", dest="json_out", type=Path, help="also write the result as JSON here")
        parser.add_argument("--workdir", type=Path, help="where isolated workspaces live (default: EVAL_DIR or var/eval)")
        parser.add_argument(INSIDE_FLAG, dest="inside", type=Path, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        corpus = options["dataset"].resolve() / "papers.jsonl.gz"
        if not corpus.is_file():
            raise CommandError(f"{corpus} is missing: --dataset takes the arxiv-abstracts-115k directory")
        if not 100 <= options["papers"] <= 200_000:
            raise CommandError("--papers must be between 100 and 200000")
        if options["inside"]:
            self._inside(corpus, options)
            return
        root = (options["workdir"] or Path(os.environ.get("EVAL_DIR", settings.BASE_DIR / "var" / "eval"))).resolve()
        workspace = root / f"arxiv-navigation-{options['papers']}-seed{options['seed']}"
        workspace.mkdir(parents=True, exist_ok=True)
        result_file = workspace / f"result-{os.getpid()}.json"
        command = [
            sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "eval_navigation", "--dataset", str(options["dataset"].resolve()),
            "--papers", str(options["papers"]), "--sample", str(options["sample"]), "--authors", str(options["authors"]),
            "--seed", str(options["seed"]), INSIDE_FLAG, str(result_file),
        ]
        self.stderr.write(f"workspace {workspace}")
        try:
            result = evaluation.run_in_workspace(command=command, workspace=workspace, result_file=result_file)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{result['papers']} papers (first of {corpus.name}), seed {result['seed']}, "
            f"{result['authors_with_3_papers']} authors with 3+ papers; id/URL/title first: {result['id_url_title_first']:.2%}"
        )
        self.stdout.write(evaluation.navigation_table(result))
        self.stdout.write(json.dumps(result, indent=2))
        if options["json_out"]:
            options["json_out"].parent.mkdir(parents=True, exist_ok=True)
            options["json_out"].write_text(json.dumps(result, indent=2) + "\n")

    def _inside(self, corpus: Path, options: dict[str, Any]) -> None:
        from django.core.management import call_command

        result_file: Path = options["inside"]
        workspace = result_file.parent.resolve()
        database = Path(str(settings.DATABASES["default"]["NAME"])).resolve()
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3" or database.parent != workspace:
            raise CommandError(f"refusing to evaluate outside the workspace (database {database})")
        if Path(settings.INDEX_DIR).resolve().parent != workspace:
            raise CommandError(f"refusing to evaluate outside the workspace (index {settings.INDEX_DIR})")
        call_command("migrate", verbosity=0, interactive=False)
        evaluation.navigation_prepare(corpus=corpus, limit=options["papers"], seed=options["seed"])
        result = evaluation.navigation_evaluate(sample=options["sample"], authors_sample=options["authors"], seed=options["seed"])
        result_file.write_text(json.dumps(result))
