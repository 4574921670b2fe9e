"""Cost of the nightly digest job: N saved searches (one reader each) over the arXiv corpus.

Runs in a child process on its own SQLite database and index under --workdir (never the
configured database). Papers: the first --papers of the 115k corpus, with their real vectors
where the recommendation benchmark embedded them (var/bench/recommend-*.npy) and generated ones
(bench.corpus.generated_vectors) for the rest: ranking cost depends on the collection
size, not on which vectors are real. --new-share of the papers count as added since yesterday.
Queries: titles of random papers. Prints JSON and a table; time and peak memory are measured
around digest_run only, with the model already loaded.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from bench.measure import cpu_model


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Command(BaseCommand):
    help = "Time and peak memory of the daily digest for N saved searches (JSON + table)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--searches", type=int, default=1000)
        parser.add_argument("--papers", type=int, default=115_236)
        parser.add_argument("--new-share", type=float, default=0.01, help="share of papers added since the last digest")
        parser.add_argument("--workdir", type=Path, default=None)
        parser.add_argument("--json", type=Path, default=None)
        parser.add_argument("--inner", choices=["setup", "run"], default=None, help="(internal) a step inside the benchmark database")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["inner"] == "setup":
            self._setup(options)
            return
        if options["inner"] == "run":
            self._run(options)
            return
        workdir = (options["workdir"] or Path(settings.VAR_DIR) / "bench" / "digests").resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "db.sqlite3").unlink(missing_ok=True)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}", "INDEX_DIR": str(workdir / "index"),
               "REDIS_URL": "", "PAPERSCOPE_IGNORE_DOTENV": "1", "LOG_LEVEL": "WARNING"}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=settings.BASE_DIR, env=env, check=True)
        common = ["--searches", str(options["searches"]), "--papers", str(options["papers"]), "--new-share", str(options["new_share"])]
        started = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", "bench_digests", "--inner", "setup", *common], cwd=settings.BASE_DIR, env=env, check=True)
        env["BENCH_SETUP_SECONDS"] = f"{time.perf_counter() - started:.1f}"
        # A fresh process for the job itself, so its peak memory is the job's (plus Django, model, index).
        cmd = [sys.executable, "manage.py", "bench_digests", "--inner", "run", *common]
        if options["json"]:
            cmd += ["--json", str(Path(options["json"]).resolve())]
        subprocess.run(cmd, cwd=settings.BASE_DIR, env=env, check=True)

    def _setup(self, options: dict[str, Any]) -> None:
        import datetime as dt
        import random

        import numpy as np
        from django.contrib.auth import get_user_model
        from django.utils import timezone

        from bench.corpus import (
            ARXIV_115K,
            bench_dir,
            generated_vectors,
            read_papers,
        )
        from library.models import SavedSearch
        from papers.models import Paper
        from search import embedder
        from search.models import PaperEmbedding
        from search.services import index_build

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # count, never send
        corpus = list(read_papers(ARXIV_115K, limit=options["papers"]))
        rows = []
        for p in corpus:
            paper = Paper(title=p.title, abstract=p.abstract, authors=p.authors, categories=p.categories,
                          published=dt.date.fromisoformat(p.published) if p.published else None, arxiv_id=p.arxiv_id)
            paper.refresh_derived_fields()
            rows.append(paper)
        Paper.objects.bulk_create(rows, batch_size=2000)
        ids = dict(Paper.objects.values_list("arxiv_id", "pk"))
        real_file = sorted(bench_dir().glob("recommend-*-seed0.npy"))
        real: dict[str, np.ndarray] = {}
        if real_file:
            matrix = np.load(real_file[-1], allow_pickle=False)
            real = dict(zip(json.loads(real_file[-1].with_suffix(".ids.json").read_text()), matrix, strict=True))
        pool = np.vstack(list(real.values())) if real else embedder.encode([p.text for p in corpus[:500]])
        fake = generated_vectors(pool, len(corpus), seed=1)
        model, dim = embedder.model_name(), pool.shape[1]
        hashes = dict(Paper.objects.values_list("pk", "content_hash"))
        embeddings = [
            PaperEmbedding(paper_id=ids[p.arxiv_id], model=model, dim=dim, content_hash=hashes[ids[p.arxiv_id]],
                           vector=np.asarray(real.get(p.arxiv_id, fake[i]), dtype=np.float32).tobytes())
            for i, p in enumerate(corpus)
        ]
        PaperEmbedding.objects.bulk_create(embeddings, batch_size=2000)
        old = timezone.now() - dt.timedelta(days=30)
        rng = random.Random(0)
        pks = sorted(ids.values())
        new = set(rng.sample(pks, int(len(pks) * options["new_share"])))
        Paper.objects.exclude(pk__in=new).update(created=old)
        index_build()
        User = get_user_model()
        users = User.objects.bulk_create([User(username=f"reader{n}", email=f"reader{n}@example.org") for n in range(options["searches"])])
        queries = [corpus[i].title for i in rng.sample(range(len(corpus)), options["searches"])]
        SavedSearch.objects.bulk_create([
            SavedSearch(user=u, name=q[:200], query=q[:2000], digest="daily", floor=0.2) for u, q in zip(users, queries, strict=True)
        ])

    def _run(self, options: dict[str, Any]) -> None:
        from library.digests import digest_run
        from papers.models import Paper
        from search import embedder

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # count, never send
        embedder.encode_query("warm the model up before timing")
        rss_before = _rss_mb()
        t0 = time.perf_counter()
        summary = digest_run(frequency="daily")
        seconds = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        papers = Paper.objects.count()
        import datetime as dt

        from django.utils import timezone

        new = Paper.objects.filter(created__gt=timezone.now() - dt.timedelta(days=2)).count()
        from django.core import mail

        result = {
            "papers": papers, "new_papers": new,
            "saved_searches": options["searches"], "rankings": summary.rankings, "emails": summary.emails,
            "emails_in_outbox": len(mail.outbox), "papers_sent": summary.papers, "failures": len(summary.failures),
            "seconds": round(seconds, 1), "ms_per_saved_search": round(1000 * seconds / max(1, options["searches"]), 1),
            "rss_before_mb": round(rss_before, 0), "peak_rss_mb": round(peak, 0),
            "setup_seconds": float(os.environ.get("BENCH_SETUP_SECONDS", "0")), "cpu": cpu_model(), "cores": len(os.sched_getaffinity(0)),
            "embedding_backend": settings.EMBEDDING_BACKEND, "index_kind": settings.INDEX_KIND,
        }
        text = json.dumps(result, indent=2)
        self.stdout.write(text)
        if options["json"]:
            Path(options["json"]).write_text(text + "\n")
        self.stdout.write("\n| saved searches | papers | new | emails | papers sent | job s | ms / search | RSS before MB | peak RSS MB |")
        self.stdout.write("|---|---|---|---|---|---|---|---|---|")
        self.stdout.write(
            f"| {result['saved_searches']} | {result['papers']:,} | {result['new_papers']:,} | {result['emails']} | {result['papers_sent']} "
            f"| {result['seconds']} | {result['ms_per_saved_search']} | {result['rss_before_mb']:.0f} | {result['peak_rss_mb']:.0f} |"
        )
