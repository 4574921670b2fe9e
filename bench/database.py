"""The benchmark's own database: the real corpus imported by the app's importer, plus generated rows.

It is a separate SQLite file under var/bench/ (never the configured database), reached through
a second connection alias, so a benchmark never touches a user's papers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connections

from papers.models import Paper
from search.models import PaperEmbedding

ALIAS = "bench"
GENERATED = "generated:"


def app_env(*, database: Path | str, index_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """Environment for a manage.py / gunicorn child that works on the benchmark database
    (a SQLite file, or a database URL such as bench/stack.py's PostgreSQL one)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database if isinstance(database, str) else f"sqlite:///{database}",
        "PYTHONPATH": str(settings.BASE_DIR),
        "REDIS_URL": "",  # in-process tasks: the benchmark runs no workers
    }
    if index_dir is not None:
        env["INDEX_DIR"] = str(index_dir)
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 3600) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def prepare(*, database: Path, corpus: Path) -> None:
    """Create the database and import the corpus with the app's importer (skipped when done)."""
    marker = database.with_suffix(".imported")
    # The corpus's resolved path: the same file named another way (relative, through a symlink)
    # must not delete and re-import a collection of millions of papers.
    if database.is_file() and marker.is_file() and marker.read_text() in (str(corpus), str(corpus.resolve())):
        connect(database)
        return
    database.unlink(missing_ok=True)
    env = app_env(database=database)
    manage("migrate", "-v0", env=env)
    manage("import_papers", str(corpus), "--no-embed", env=env)
    marker.write_text(str(corpus.resolve()))
    connect(database)


def connect(database: Path) -> None:
    """Register the ``bench`` alias for the benchmark database in this process."""
    config = dict(connections.databases["default"])
    config.update({"ENGINE": "django.db.backends.sqlite3", "NAME": str(database), "OPTIONS": {"timeout": 60}})
    register(ALIAS, config)


def register(alias: str, config: dict[str, object]) -> None:
    """Point ``alias`` at ``config`` in this process, dropping a connection it made to another
    database before (a second benchmark run in one process, as the tests make)."""
    if alias in connections.databases:
        connections[alias].close()
        del connections[alias]
    connections.databases[alias] = config
    connections[alias].ensure_connection()


def real_paper_ids(arxiv_ids: list[str]) -> np.ndarray:
    """Paper pks of the corpus papers, in corpus order."""
    by_arxiv = dict(Paper.objects.using(ALIAS).filter(arxiv_id__isnull=False).values_list("arxiv_id", "pk"))
    missing = [a for a in arxiv_ids if a not in by_arxiv]
    if missing:
        raise RuntimeError(f"{len(missing)} corpus papers are not in the benchmark database (e.g. {missing[:3]})")
    return np.asarray([by_arxiv[a] for a in arxiv_ids], dtype=np.int64)


def generated_paper_ids(count: int, *, template_ids: np.ndarray) -> np.ndarray:
    """Pks of ``count`` generated papers (hidden rows copying real papers' text), creating what is missing."""
    existing = list(
        Paper.objects.using(ALIAS).filter(content_hash__startswith=GENERATED).order_by("pk").values_list("pk", flat=True)
    )
    if len(existing) < count:
        templates = list(Paper.objects.using(ALIAS).filter(pk__in=template_ids[:2000].tolist()))
        todo = count - len(existing)
        batch: list[Paper] = []
        for n in range(len(existing), count):
            source = templates[n % len(templates)]
            batch.append(
                Paper(
                    title=source.title,
                    abstract=source.abstract,
                    authors=source.authors,
                    categories=source.categories,
                    published=source.published,
                    hidden=True,  # never in an app build: these rows only back generated vectors
                    content_hash=f"{GENERATED}{n:010d}",
                    normalized_title="",
                    rendered_title=source.rendered_title,
                    rendered_abstract=source.rendered_abstract,
                )
            )
            if len(batch) == 20_000:
                Paper.objects.using(ALIAS).bulk_create(batch, batch_size=2000)
                batch = []
        if batch:
            Paper.objects.using(ALIAS).bulk_create(batch, batch_size=2000)
        existing = list(
            Paper.objects.using(ALIAS).filter(content_hash__startswith=GENERATED).order_by("pk").values_list("pk", flat=True)
        )
        assert len(existing) >= count, (len(existing), count, todo)
    return np.asarray(existing[:count], dtype=np.int64)


def store_embeddings(*, ids: np.ndarray, vectors: np.ndarray, model: str) -> None:
    """Store vectors as the app's PaperEmbedding rows (what index_build reads), replacing older ones."""
    hashes: dict[int, str] = {}
    for start in range(0, len(ids), 20_000):  # SQLite caps the variables of one statement
        chunk = ids[start : start + 20_000].tolist()
        hashes.update(Paper.objects.using(ALIAS).filter(pk__in=chunk).values_list("pk", "content_hash"))
    PaperEmbedding.objects.using(ALIAS).filter(model=model).delete()
    for start in range(0, len(ids), 5000):
        rows = [
            PaperEmbedding(
                paper_id=int(pk), model=model, dim=vectors.shape[1], vector=np.asarray(v, dtype=np.float32).tobytes(), content_hash=hashes[int(pk)]
            )
            for pk, v in zip(ids[start : start + 5000], vectors[start : start + 5000], strict=True)
        ]
        PaperEmbedding.objects.using(ALIAS).bulk_create(rows, batch_size=1000)


def show_only(ids: np.ndarray) -> int:
    """Make exactly the generated rows among ``ids`` visible to an app build; hide every other one.

    Generated rows are hidden by default (only the benchmark's own indexes use them); an app
    build (``build_index --full``) at a size beyond the corpus needs them visible. Returns how
    many generated rows are visible now.
    """
    generated = Paper.objects.using(ALIAS).filter(content_hash__startswith=GENERATED)
    wanted = set(ids.tolist())
    chosen = [pk for pk in generated.filter(hidden=True).values_list("pk", flat=True) if pk in wanted]
    stale = [pk for pk in generated.filter(hidden=False).values_list("pk", flat=True) if pk not in wanted]
    for pks, hidden in ((chosen, False), (stale, True)):
        for start in range(0, len(pks), 20_000):
            Paper.objects.using(ALIAS).filter(pk__in=pks[start : start + 20_000]).update(hidden=hidden)
    return generated.filter(hidden=False).count()
