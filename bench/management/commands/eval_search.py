"""manage.py eval_search: relevance (nDCG@10, Recall@100, MRR@10) and latency on a BEIR dataset.

Runs in an isolated database and index under EVAL_DIR (default var/eval/), never the live
ones: this process re-runs itself in a subprocess whose DATABASE_URL and INDEX_DIR point into
the dataset's workspace. Stored embeddings there are reused on the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench import beir, evaluation

INSIDE_FLAG = "--inside-workspace"


def _weights(value: str) -> list[float]:
    try:
        weights = [float(w) for w in value.split(",") if w.strip()]
    except ValueError:
        raise ValueError(f"--weights takes numbers like 0.3,0.5,0.7, not {value!r}") from None
    for weight in weights:
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"every weight must be between 0 and 1, not {weight}")
    return weights


class Command(BaseCommand):
    help = (
        "Evaluate search on a BEIR-layout dataset (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) in an "
        "isolated database and index; prints a table of nDCG@10, Recall@100, MRR@10 and p50/p95 latency per mode."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True, type=Path, help="directory in BEIR layout")
        parser.add_argument("--split", default="test", help="qrels split to score (default: test)")
        parser.add_argument(
            "--mode", action="append", choices=evaluation.MODES,
            help="mode to evaluate; repeat for several (default: all three)",
        )
        parser.add_argument("--weight", type=float, help="hybrid dense share (default: SEARCH_HYBRID_WEIGHT)")
        parser.add_argument("--weights", help="evaluate hybrid at each of these weights, e.g. 0.3,0.5,0.7 (tuning)")
        parser.add_argument("--json", dest="json_out", type=Path, help="also write the results as JSON here")
        parser.add_argument("--workdir", type=Path, help="where isolated workspaces live (default: EVAL_DIR or var/eval)")
        parser.add_argument("--fresh", action="store_true", help="delete this dataset's workspace first (re-embeds)")
        parser.add_argument(
            "--compare-keyword-backends", action="store_true",
            help="instead: compare bm25s with SQLite FTS5 (and PostgreSQL full-text with --postgres) on keyword quality and latency",
        )
        parser.add_argument(
            "--robustness", action="store_true",
            help="also: misspelt queries (seeded typos) and nonsense queries, with the relevance floor and spelling off and on",
        )
        parser.add_argument(
            "--calibrate-floor", action="store_true",
            help="also: the evidence of relevant papers and of nonsense queries over a grid of relevance floors (use a train split)",
        )
        parser.add_argument("--seed", type=int, default=17, help="seed of the typos and nonsense queries (default 17)")
        parser.add_argument("--postgres", default="", help="PostgreSQL URL for --compare-keyword-backends (a TEMPORARY table)")
        parser.add_argument(INSIDE_FLAG, dest="inside", type=Path, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["inside"]:
            self._inside(options)
            return
        dataset = options["dataset"].resolve()
        try:
            beir.dataset_load(path=dataset, split=options["split"])  # fail fast, before any work
            weights = _weights(options["weights"]) if options["weights"] else []
            if options["weight"] is not None:
                weights = [*weights, *_weights(str(options["weight"]))]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["compare_keyword_backends"]:
            self._compare_keyword_backends(dataset, options)
            return
        root = (options["workdir"] or Path(os.environ.get("EVAL_DIR", settings.BASE_DIR / "var" / "eval"))).resolve()
        from search.embedder import model_name

        workspace = evaluation.workspace_for(dataset=dataset, model=model_name(), root=root)
        if options["fresh"] and workspace.exists():
            shutil.rmtree(workspace)
        workspace.mkdir(parents=True, exist_ok=True)
        result_file = workspace / f"result-{os.getpid()}.json"
        command = [
            sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "eval_search",
            "--dataset", str(dataset), "--split", options["split"], INSIDE_FLAG, str(result_file),
        ]
        for mode in options["mode"] or []:
            command += ["--mode", mode]
        if weights:
            command += ["--weights", ",".join(str(w) for w in weights)]
        for flag in ("robustness", "calibrate_floor"):
            if options[flag]:
                command.append("--" + flag.replace("_", "-"))
        command += ["--seed", str(options["seed"])]
        self.stderr.write(f"workspace {workspace}")
        try:
            result = evaluation.run_in_workspace(command=command, workspace=workspace, result_file=result_file)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{result['dataset']} split={result['split']} queries={result['queries']} docs={result['docs']} "
            f"model={result['model']} fusion={result['settings']['fusion']} "
            f"(embedded {result['embedded']}, reused {result['reused']})"
        )
        self.stdout.write(evaluation.table(result["results"]))
        if result.get("page_with_explanations"):
            page = result["page_with_explanations"]
            self.stdout.write(
                f"first page with explanations (hybrid, 10 hits, {page['queries']} queries): "
                f"p50 {page['p50_ms']:.1f} ms, p95 {page['p95_ms']:.1f} ms"
            )
        if result.get("robustness"):
            robust = result["robustness"]
            self.stdout.write(evaluation.table(robust["rows"]))
            nonsense = robust["nonsense"]
            self.stdout.write(
                f"typo loss (nDCG@10, clean - typos): floor+spelling off {robust['typo_loss_off']:.4f}, on {robust['typo_loss_on']:.4f}; "
                f"nonsense queries with total 0: {nonsense['total_zero']}/{nonsense['queries']} ({nonsense['share_total_zero']:.1%})"
            )
        self.stdout.write(json.dumps(result, indent=2))
        if options["json_out"]:
            options["json_out"].parent.mkdir(parents=True, exist_ok=True)
            options["json_out"].write_text(json.dumps(result, indent=2) + "\n")

    def _compare_keyword_backends(self, dataset: Path, options: dict[str, Any]) -> None:
        """No Django database is touched: FTS5 runs in memory, PostgreSQL in a temporary table."""
        data = beir.dataset_load(path=dataset, split=options["split"])
        rows = evaluation.keyword_backends_compare(
            dataset=data, postgres_url=options["postgres"], k1=settings.SEARCH_BM25_K1, b=settings.SEARCH_BM25_B,
            title_weight=settings.SEARCH_BM25_TITLE_WEIGHT,
        )
        result = {"dataset": str(dataset), "split": data.split, "queries": len(data.queries), "keyword_backends": rows}
        self.stdout.write(evaluation.table(rows))
        self.stdout.write(json.dumps(result, indent=2))
        if options["json_out"]:
            options["json_out"].parent.mkdir(parents=True, exist_ok=True)
            options["json_out"].write_text(json.dumps(result, indent=2) + "\n")

    def _inside(self, options: dict[str, Any]) -> None:
        """The subprocess: refuse anything but the workspace's own database and index."""
        from django.core.management import call_command

        from search.embedder import model_name

        result_file: Path = options["inside"]
        workspace = result_file.parent.resolve()
        database = Path(str(settings.DATABASES["default"]["NAME"])).resolve()
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3" or database.parent != workspace:
            raise CommandError(f"refusing to evaluate outside the workspace (database {database})")
        if Path(settings.INDEX_DIR).resolve().parent != workspace:
            raise CommandError(f"refusing to evaluate outside the workspace (index {settings.INDEX_DIR})")
        dataset = beir.dataset_load(path=options["dataset"], split=options["split"])
        call_command("migrate", verbosity=0, interactive=False)
        progress = _progress_bar(self.stderr)
        prepared = evaluation.collection_prepare(corpus=dataset.corpus, progress=progress)
        modes = options["mode"] or list(evaluation.MODES)
        weights: list[float | None] = list(_weights(options["weights"])) if options["weights"] else [None]
        rows = []
        for mode in modes:
            for weight in weights if mode == "hybrid" else [None]:
                row = evaluation.mode_evaluate(dataset=dataset, doc_of=prepared.doc_of, mode=mode, weight=weight)
                if mode == "hybrid" and row["weight"] is None:
                    row["weight"] = settings.SEARCH_HYBRID_WEIGHT
                rows.append(row)
                self.stderr.write(evaluation.table([row]).splitlines()[-1])
        page = evaluation.page_latency(dataset=dataset) if "hybrid" in modes else None
        robustness = (
            evaluation.robustness_evaluate(dataset=dataset, doc_of=prepared.doc_of, seed=options["seed"])
            if options["robustness"] else None
        )
        calibration = (
            evaluation.floor_calibrate(dataset=dataset, doc_of=prepared.doc_of, seed=options["seed"])
            if options["calibrate_floor"] else None
        )
        result = {
            "dataset": str(dataset.path),
            "split": dataset.split,
            "queries": len(dataset.queries),
            "docs": prepared.papers,
            "model": model_name(),
            "embedded": prepared.embedded,
            "reused": prepared.reused,
            "embed_s": round(prepared.embed_s, 1),
            "index_build_s": round(prepared.build_s, 2),
            "settings": {
                "hybrid_weight": settings.SEARCH_HYBRID_WEIGHT,
                "fusion": settings.SEARCH_FUSION,
                "fusion_depth": settings.SEARCH_FUSION_DEPTH,
                "rrf_k": settings.SEARCH_RRF_K,
                "bm25_k1": settings.SEARCH_BM25_K1,
                "bm25_b": settings.SEARCH_BM25_B,
                "bm25_title_weight": settings.SEARCH_BM25_TITLE_WEIGHT,
            },
            "results": rows,
            "page_with_explanations": page,
            "robustness": robustness,
            "floor_calibration": calibration,
        }
        result_file.write_text(json.dumps(result))


def _progress_bar(stream: Any) -> Any:
    """A tqdm bar over embedding batches, silent when stderr is not a terminal."""
    from tqdm import tqdm

    bar: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc="embedding", unit="paper", disable=not sys.stderr.isatty()))
        bar[0].n = done
        bar[0].refresh()
        if done >= total:
            bar[0].close()

    return update
