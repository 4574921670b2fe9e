"""Relevance evaluation on BEIR-layout datasets (bench.beir reads them; bench.metrics scores them).

``eval_search`` never touches the live database or index: the parent process picks a workspace
``EVAL_DIR/<dataset>-<corpus sha>-<model>/`` and re-runs itself in a subprocess whose
DATABASE_URL and INDEX_DIR point inside it. The workspace survives, so a second run over the
same corpus with the same model reuses the stored embeddings and only rebuilds the index.

Reported per mode: nDCG@10, Recall@100 and MRR@10 (bench/metrics.py), p50/p95 latency.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.beir import Dataset, documents
from bench.metrics import mrr_at, ndcg_at, percentile, recall_at
from search import modes
from search.index_store import sha256_file

# Every search mode, reported as the two rankings first and then their fusion.
MODES: tuple[str, ...] = tuple(sorted(modes.MODES, key=lambda mode: mode == "hybrid"))
WORKSPACE_DB = "eval.sqlite3"


def corpus_digest(corpus: Path) -> str:
    return sha256_file(corpus)


def workspace_for(*, dataset: Path, model: str, root: Path) -> Path:
    """Where this corpus + model is evaluated: stable, so embeddings are reused across runs."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(dataset).resolve().name) or "dataset"
    model_slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", model)
    return Path(root) / f"{slug}-{corpus_digest(Path(dataset) / 'corpus.jsonl')[:16]}-{model_slug}"


# --- inside the isolated workspace (the subprocess) ------------------------------------------


@dataclass
class Prepared:
    papers: int
    embedded: int
    reused: int
    build_s: float
    embed_s: float
    doc_of: dict[int, str] = field(default_factory=dict)  # Paper pk -> BEIR _id


def run_in_workspace(*, command: list[str], workspace: Path, result_file: Path) -> dict[str, Any]:
    """Run an evaluation command in its own process on ``workspace``'s database and index, and
    return the JSON it wrote to ``result_file``. Raises RuntimeError when it fails.

    Its own SQLite file and INDEX_DIR keep the operator's collection untouched; tasks run in
    process (no REDIS_URL) so nothing is queued on a live broker.
    """
    import subprocess  # noqa: S404 - our own manage.py, arguments built by the calling command

    from django.conf import settings

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{workspace / WORKSPACE_DB}",
        "INDEX_DIR": str(workspace / "index"),
        "REDIS_URL": "",
    }
    completed = subprocess.run(command, env=env, cwd=settings.BASE_DIR, check=False)  # noqa: S603
    if completed.returncode != 0 or not result_file.is_file():
        raise RuntimeError(f"evaluation failed (exit {completed.returncode}); see the output above")
    result = json.loads(result_file.read_text())
    result_file.unlink()
    return result


def collection_prepare(*, corpus: Path, progress: Callable[[int, int], None] | None = None, batch: int = 256) -> Prepared:
    """Load the corpus into the (isolated) database, embed what is missing, build the index.

    Papers are created directly, one per BEIR document: the import service would merge
    documents with equal titles, and the qrels must see every document as itself.
    """
    from papers.models import Paper
    from search.selectors import papers_needing_embedding
    from search.services import embeddings_update, index_build

    if not Paper.objects.exists():
        rows = []
        for doc in documents(corpus):
            paper = Paper(title=doc.title, abstract=doc.text, links={"beir_id": doc.doc_id})
            paper.refresh_derived_fields()
            rows.append(paper)
        Paper.objects.bulk_create(rows, batch_size=1000)
    papers = Paper.objects.count()
    todo = papers_needing_embedding()
    reused = papers - len(todo)
    started = time.perf_counter()
    embedded = 0
    for start in range(0, len(todo), batch):
        embedded += embeddings_update(paper_ids=todo[start : start + batch]).embedded
        if progress:
            progress(min(start + batch, len(todo)), len(todo))
    embed_s = time.perf_counter() - started
    started = time.perf_counter()
    index_build()
    build_s = time.perf_counter() - started
    doc_of = {pk: str(links.get("beir_id", "")) for pk, links in Paper.objects.values_list("pk", "links")}
    return Prepared(papers=papers, embedded=embedded, reused=reused, build_s=build_s, embed_s=embed_s, doc_of=doc_of)


def _scores(*, runs: dict[str, list[str]], qrels: dict[str, dict[str, int]], latencies_ms: list[float]) -> dict[str, Any]:
    """Mean nDCG@10, Recall@100 and MRR@10 of ranked document ids per query, and latency p50/p95."""
    ndcg = [ndcg_at(ranked, qrels[qid], 10) for qid, ranked in runs.items()]
    recall = [recall_at(ranked, qrels[qid], 100) for qid, ranked in runs.items()]
    mrr = [mrr_at(ranked, qrels[qid], 10) for qid, ranked in runs.items()]
    return {
        "queries": len(runs),
        "ndcg@10": round(statistics.fmean(ndcg), 4) if ndcg else 0.0,
        "recall@100": round(statistics.fmean(recall), 4) if recall else 0.0,
        "mrr@10": round(statistics.fmean(mrr), 4) if mrr else 0.0,
        "p50_ms": round(percentile(latencies_ms, 0.5), 2),
        "p95_ms": round(percentile(latencies_ms, 0.95), 2),
    }


def _score_queries(
    *, queries: dict[str, str], qrels: dict[str, dict[str, int]], doc_of: dict[int, str], rank: Callable[[str], list[int]]
) -> dict[str, Any]:
    """Rank each query with ``rank`` (timed) and score it against the qrels."""
    runs, latencies = {}, []
    for qid, text in queries.items():
        started = time.perf_counter()
        ranked = rank(text)
        latencies.append((time.perf_counter() - started) * 1000)
        runs[qid] = [doc_of.get(pk, "") for pk in ranked]
    return _scores(runs=runs, qrels=qrels, latencies_ms=latencies)


def mode_evaluate(
    *, dataset: Dataset, doc_of: dict[int, str], mode: str, weight: float | None = None, depth: int = 100
) -> dict[str, Any]:
    """Run every judged query through the production ranking and score it against the qrels.

    Latency is measured per query around ``queries.ranked_ids`` (encode, both retrievals,
    fusion and the database visibility check): the work a search does before rendering.
    """
    from search.queries import ranked_ids

    scores = _score_queries(
        queries=dataset.queries, qrels=dataset.qrels, doc_of=doc_of,
        rank=lambda text: ranked_ids(query=text, mode=mode, weight=weight, limit=depth),
    )
    return {"mode": mode, "weight": weight, **scores}


def page_latency(*, dataset: Dataset, queries: int = 100) -> dict[str, Any]:
    """p50/p95 of a whole first results page (hybrid, 10 hits with explanations) for some queries.

    This is what a reader waits for: ranking plus highlighting and the closest sentence of each
    hit (whose sentences are embedded then), before any template renders.
    """
    from search.queries import semantic_search

    latencies = []
    for text in list(dataset.queries.values())[:queries]:
        started = time.perf_counter()
        semantic_search(query=text, page_size=10)
        latencies.append((time.perf_counter() - started) * 1000)
    return {
        "queries": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
    }


def table(rows: Iterable[dict[str, Any]]) -> str:
    """A plain-text table of evaluation rows (one per mode / weight)."""
    header = f"{'mode':<12} {'weight':>6} {'nDCG@10':>8} {'R@100':>7} {'MRR@10':>7} {'p50 ms':>8} {'p95 ms':>8}"
    lines = [header, "-" * len(header)]
    for row in rows:
        weight = "" if row.get("weight") is None else f"{row['weight']:.2f}"
        lines.append(
            f"{row['mode']:<12} {weight:>6} {row['ndcg@10']:>8.4f} {row['recall@100']:>7.4f} "
            f"{row['mrr@10']:>7.4f} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f}"
        )
    return "\n".join(lines)


# --- keyword backends: bm25s vs the database's own full-text search ---------------------------


def _score_runs(dataset: Dataset, runs: dict[str, list[str]], latencies: list[float], name: str) -> dict[str, Any]:
    return {"mode": name, "weight": None, **_scores(runs=runs, qrels=dataset.qrels, latencies_ms=latencies)}


def _fts_terms(text: str) -> list[str]:
    # Plain words only: FTS5 and tsquery both have their own query syntax to stay clear of.
    return list(dict.fromkeys(w.lower() for w in re.findall(r"[A-Za-z0-9]+", text) if len(w) > 1))


def keyword_backends_compare(
    *, dataset: Dataset, postgres_url: str = "", k1: float = 1.2, b: float = 0.75, title_weight: int = 1
) -> list[dict[str, Any]]:
    """Quality and latency of three keyword engines on the same corpus and queries.

    * bm25s (search/keyword.py: Snowball stems, English stop words), in memory;
    * SQLite FTS5 (``porter unicode61`` tokenizer, ``bm25()`` ranking with the title column
      weighted like bm25s's repeated title, query terms OR-ed);
    * PostgreSQL (``to_tsvector('english')`` with a GIN index, ``ts_rank_cd``, terms OR-ed),
      only when ``postgres_url`` is given; it works in a TEMPORARY table that vanishes with
      the connection.
    Latency is the time of one query, ranking the top 100.
    """
    import sqlite3

    import numpy as np

    from search.keyword import analyze, build_keyword_index, keyword_text

    docs = [(d.doc_id, d.title, d.text) for d in documents(dataset.corpus)]
    rows = []

    index = build_keyword_index(
        ids=np.arange(len(docs)),
        texts=(keyword_text(title, text, title_weight=title_weight) for _, title, text in docs),
        k1=k1,
        b=b,
    )
    runs, latencies = {}, []
    for qid, query in dataset.queries.items():
        started = time.perf_counter()
        hits = index.search(analyze(query), 100)
        latencies.append((time.perf_counter() - started) * 1000)
        runs[qid] = [docs[pk][0] for pk, _ in hits]
    rows.append(_score_runs(dataset, runs, latencies, "bm25s"))

    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE docs USING fts5(doc_id UNINDEXED, title, body, tokenize='porter unicode61')")
    connection.executemany("INSERT INTO docs VALUES (?, ?, ?)", docs)
    runs, latencies = {}, []
    for qid, query in dataset.queries.items():
        terms = _fts_terms(query)
        match = " OR ".join(f'"{t}"' for t in terms)
        started = time.perf_counter()
        found = connection.execute(
            "SELECT doc_id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0.0, ?, 1.0) LIMIT 100",
            (match, float(title_weight)),
        ).fetchall() if terms else []
        latencies.append((time.perf_counter() - started) * 1000)
        runs[qid] = [row[0] for row in found]
    connection.close()
    rows.append(_score_runs(dataset, runs, latencies, "sqlite-fts5"))

    if postgres_url:
        import psycopg

        with psycopg.connect(postgres_url, autocommit=True) as pg:
            pg.execute("CREATE TEMPORARY TABLE eval_docs (doc_id text, body tsvector)")
            with pg.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO eval_docs VALUES (%s, to_tsvector('english', %s))",
                    [(doc_id, keyword_text(title, text, title_weight=title_weight)) for doc_id, title, text in docs],
                )
            pg.execute("CREATE INDEX ON eval_docs USING gin (body)")
            pg.execute("ANALYZE eval_docs")
            runs, latencies = {}, []
            for qid, query in dataset.queries.items():
                terms = _fts_terms(query)
                started = time.perf_counter()
                found = pg.execute(
                    "WITH q AS (SELECT to_tsquery('english', %s) AS q) "
                    "SELECT doc_id FROM eval_docs, q WHERE body @@ q.q ORDER BY ts_rank_cd(body, q.q) DESC LIMIT 100",
                    (" | ".join(terms),),
                ).fetchall() if terms else []
                latencies.append((time.perf_counter() - started) * 1000)
                runs[qid] = [row[0] for row in found]
        rows.append(_score_runs(dataset, runs, latencies, "postgres-fts"))
    return rows


# --- robustness: misspelt queries, nonsense queries, the relevance floor -----------------------

# Neighbouring keys on a QWERTY keyboard: the substitutions people actually make.
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    near: dict[str, str] = {}
    for r, row in enumerate(_KEYBOARD_ROWS):
        for c, key in enumerate(row):
            found = [row[i] for i in (c - 1, c + 1) if 0 <= i < len(row)]
            for other in (r - 1, r + 1):
                if 0 <= other < len(_KEYBOARD_ROWS):
                    found += [_KEYBOARD_ROWS[other][i] for i in (c - 1, c, c + 1) if 0 <= i < len(_KEYBOARD_ROWS[other])]
            near[key] = "".join(found)
    return near


KEYBOARD_NEIGHBOURS = _neighbours()
TYPO_KINDS = ("neighbour", "drop", "swap", "double")


def misspell(word: str, kind: str, rng: Any) -> str:
    """One realistic typo inside ``word`` (never its first letter: people rarely miss that one)."""
    if len(word) < 3:
        return word
    i = int(rng.integers(1, len(word) - 1)) if kind == "swap" else int(rng.integers(1, len(word)))
    if kind == "neighbour":
        near = KEYBOARD_NEIGHBOURS.get(word[i].lower(), "")
        return word[:i] + str(rng.choice(list(near))) + word[i + 1 :] if near else word
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :] if word[i] != word[i + 1] else word[:i] + word[i] + word[i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]  # double


def typo_queries(queries: dict[str, str], *, seed: int = 17) -> dict[str, str]:
    """Every query with one or two seeded typos in its words of four or more letters."""
    import numpy as np

    rng = np.random.default_rng(seed)
    result = {}
    for qid, text in queries.items():
        words = [m for m in re.finditer(r"[A-Za-z]{4,}", text)]
        if not words:
            result[qid] = text
            continue
        count = min(len(words), int(rng.integers(1, 3)))
        chosen = sorted(rng.choice(len(words), size=count, replace=False).tolist())
        out, position = [], 0
        for index in chosen:
            match = words[index]
            out += [text[position : match.start()], misspell(match.group(), str(rng.choice(TYPO_KINDS)), rng)]
            position = match.end()
        result[qid] = "".join(out) + text[position:]
    return result


def nonsense_queries(*, count: int = 200, seed: int = 17) -> list[str]:
    """Random letter strings of one to three words, four to twelve letters each."""
    import numpy as np

    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return [
        " ".join("".join(rng.choice(letters, size=int(rng.integers(4, 13)))) for _ in range(int(rng.integers(1, 4))))
        for _ in range(count)
    ]


def ranking_evaluate(
    *, dataset: Dataset, doc_of: dict[int, str], queries: dict[str, str], name: str, mode: str = "hybrid",
    floor: bool = True, correct: bool = True,
) -> dict[str, Any]:
    """``mode_evaluate`` over given query texts, with the floor and spelling on or off."""
    from search.queries import ranked_ids

    scores = _score_queries(
        queries=queries, qrels=dataset.qrels, doc_of=doc_of,
        rank=lambda text: ranked_ids(query=text, mode=mode, limit=100, floor=floor, correct=correct),
    )
    return {"mode": name, "weight": None, "floor": floor, "spelling": correct, **scores}


def nonsense_evaluate(*, count: int = 200, seed: int = 17, mode: str = "hybrid") -> dict[str, Any]:
    """How often a random letter string reports no results at all (``total`` 0)."""
    from search.queries import search_total

    totals = [search_total(query=q, mode=mode) for q in nonsense_queries(count=count, seed=seed)]
    return {
        "queries": len(totals), "seed": seed, "total_zero": sum(1 for t in totals if t == 0),
        "share_total_zero": round(sum(1 for t in totals if t == 0) / max(1, len(totals)), 4),
        "median_total": statistics.median(totals) if totals else 0,
    }


def robustness_evaluate(*, dataset: Dataset, doc_of: dict[int, str], seed: int = 17) -> dict[str, Any]:
    """Clean vs misspelt queries with the floor and spelling off ("today") and on, plus nonsense."""
    typos = typo_queries(dataset.queries, seed=seed)
    rows = [
        ranking_evaluate(dataset=dataset, doc_of=doc_of, queries=dataset.queries, name="clean, off", floor=False, correct=False),
        ranking_evaluate(dataset=dataset, doc_of=doc_of, queries=typos, name="typos, off", floor=False, correct=False),
        ranking_evaluate(dataset=dataset, doc_of=doc_of, queries=dataset.queries, name="clean, on"),
        ranking_evaluate(dataset=dataset, doc_of=doc_of, queries=typos, name="typos, on"),
    ]
    changed = sum(1 for qid in typos if typos[qid] != dataset.queries[qid])
    return {
        "seed": seed, "typo_queries_changed": changed, "examples": [(dataset.queries[q], typos[q]) for q in list(typos)[:5]],
        "rows": rows,
        "typo_loss_off": round(rows[0]["ndcg@10"] - rows[1]["ndcg@10"], 4),
        "typo_loss_on": round(rows[2]["ndcg@10"] - rows[3]["ndcg@10"], 4),
        "nonsense": nonsense_evaluate(seed=seed),
    }


def floor_calibrate(*, dataset: Dataset, doc_of: dict[int, str], seed: int = 17) -> dict[str, Any]:
    """The evidence (cosine, idf-weighted word share) of judged-relevant papers in each query's
    top 100, and the best of any paper for nonsense queries: the relevance floor is chosen so
    that nearly every relevant paper passes and nonsense finds nothing (docs/relevance.md)."""
    import numpy as np

    from search import embedder
    from search.index_store import current_index
    from search.queries import rank
    from search.ranking import AnalysedQuery

    index = current_index()
    if index is None or index.keyword is None:
        raise RuntimeError("no index build with a keyword index to calibrate on")
    keyword = index.keyword

    def evidence(text: str) -> list[tuple[int, float, float]]:
        query = AnalysedQuery.of(text)
        ranked = rank(
            index=index, query=query, query_vector=embedder.encode_query(text), mode="hybrid", weight=0.4, filters=None, needed=100
        ).fused
        coverage = keyword.scores_at(keyword.coverage(list(query.terms)), [f.pk for f in ranked[:100]])
        return [(f.pk, float(f.dense or 0.0), float(coverage.get(f.pk, 0.0))) for f in ranked[:100]]

    relevant: list[tuple[float, float]] = []
    others: list[tuple[float, float]] = []
    best: list[tuple[float, float]] = []
    for qid, text in dataset.queries.items():
        found = evidence(text)
        best.append((max((d for _, d, _ in found), default=0.0), max((w for _, _, w in found), default=0.0)))
        for pk, dense, words in found:
            (relevant if dataset.qrels[qid].get(doc_of.get(pk, ""), 0) > 0 else others).append((dense, words))
    nonsense = []
    for q in nonsense_queries(count=200, seed=seed):
        found = evidence(q)
        nonsense.append((max((d for _, d, _ in found), default=0.0), max((w for _, _, w in found), default=0.0)))
    rel, oth, real_best, non_best = (np.asarray(x, dtype=np.float64).reshape(-1, 2) for x in (relevant, others, best, nonsense))

    def share(a: np.ndarray, dense_min: float, words_min: float) -> float:
        return round(float(((a[:, 0] >= dense_min) | (a[:, 1] >= words_min)).mean()), 4) if len(a) else 0.0

    floors = [
        {"dense": d, "words": w, "relevant_kept": share(rel, d, w), "others_kept": share(oth, d, w)}
        for d in (0.20, 0.25, 0.30, 0.35, 0.40) for w in (0.1, 0.2, 0.3, 0.4, 0.5)
    ]
    gates = [
        {"dense": d, "words": w, "real_queries_open": share(real_best, d, w), "nonsense_queries_open": share(non_best, d, w)}
        for d in (0.30, 0.35, 0.40) for w in (0.4, 0.5, 0.6)
    ]
    return {
        "split": dataset.split, "relevant_in_top100": len(rel), "others_in_top100": len(oth),
        "nonsense_best_cosine_p50_p95_max": [round(percentile(non_best[:, 0].tolist(), q), 3) for q in (0.50, 0.95, 1.0)],
        "relevant_cosine_p1_p5_p50": [round(percentile(rel[:, 0].tolist(), q), 3) for q in (0.01, 0.05, 0.50)] if len(rel) else [],
        "floors": floors,
        "gates": gates,
    }


# --- navigational queries: ids, URLs, titles, author names ------------------------------------


def navigation_prepare(*, corpus: Path, limit: int, seed: int = 17) -> int:
    """Load the first ``limit`` arXiv papers into the (isolated) database, give each a random
    unit vector (embedding is the slow step on a small machine; the navigational layers and BM25
    do not read vectors, and random ones never pass the relevance floor's cosine bar, so the
    dense side adds nothing) and build the index."""
    import datetime as dt

    import numpy as np

    from bench.corpus import read_papers
    from papers.models import Paper
    from search import embedder
    from search.models import PaperEmbedding
    from search.services import index_build

    if not Paper.objects.exists():
        rows = []
        for record in read_papers(corpus, limit=limit):
            paper = Paper(
                title=record.title, abstract=record.abstract, authors=record.authors, categories=record.categories,
                published=dt.date.fromisoformat(record.published) if record.published else None, arxiv_id=record.arxiv_id,
            )
            paper.refresh_derived_fields()
            rows.append(paper)
        Paper.objects.bulk_create(rows, batch_size=1000)
    if not PaperEmbedding.objects.exists():
        rng = np.random.default_rng(seed)
        papers = list(Paper.objects.order_by("pk").values_list("pk", "content_hash"))
        dim = embedder.embedding_dim()
        vectors = rng.standard_normal((len(papers), dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        PaperEmbedding.objects.bulk_create(
            [
                PaperEmbedding(paper_id=pk, model=embedder.model_name(), dim=dim, vector=v.tobytes(), content_hash=h)
                for (pk, h), v in zip(papers, vectors, strict=True)
            ],
            batch_size=1000,
        )
    index_build()
    return Paper.objects.count()


def navigation_evaluate(*, sample: int = 250, authors_sample: int = 300, seed: int = 17) -> dict[str, Any]:
    """Ids, URLs and exact titles: is the paper first? Author names: precision@5 of their papers.

    Precision@5 of an author with n papers counts their papers among the first min(5, n) results
    (an author with three papers can fill three places). The name is typed as a paper lists it,
    as "Surname, Given" and as "G. Surname" (the initial form counts every author who shares the
    initial and surname as a right answer: that is all the reader said).
    """
    import numpy as np

    from papers.models import Paper
    from search import authors as names
    from search.queries import semantic_search

    speller = speller_cost()  # first, in a process that has not loaded it yet
    rng = np.random.default_rng(seed)
    papers = list(Paper.objects.order_by("pk").values_list("pk", "arxiv_id", "title", "normalized_title", "authors"))
    chosen = [papers[i] for i in rng.choice(len(papers), size=min(sample, len(papers)), replace=False)]
    title_counts = Counter(normalized for _, _, _, normalized, _ in papers)

    def first(query: str) -> tuple[int | None, float]:
        started = time.perf_counter()
        hits = semantic_search(query=query, page_size=5, sentence_by_meaning=False).hits
        return (hits[0].paper.pk if hits else None), (time.perf_counter() - started) * 1000

    kinds: dict[str, list[tuple[bool, float]]] = {}
    forms = {
        "arxiv id": "{id}", "id with version": "{id}v2", "arXiv:id": "arXiv:{id}",
        "abs URL": "https://arxiv.org/abs/{id}v1", "pdf URL": "https://arxiv.org/pdf/{id}",
    }
    for pk, arxiv_id, title, normalized, _ in chosen:
        for kind, form in forms.items():
            found, ms = first(form.format(id=arxiv_id))
            kinds.setdefault(kind, []).append((found == pk, ms))
        if title_counts[normalized] == 1:  # a title two papers share cannot name one of them
            found, ms = first(title)
            kinds.setdefault("exact title", []).append((found == pk, ms))
            found, ms = first(title.lower().rstrip("."))
            kinds.setdefault("title, lower case", []).append((found == pk, ms))

    by_author: dict[str, list[int]] = {}
    for pk, _, _, _, listed in papers:
        for name in listed or []:
            if len(names.name_words(str(name))) >= 2:
                by_author.setdefault(str(name), []).append(pk)
    frequent = sorted(name for name, pks in by_author.items() if len(pks) >= 3)
    picked = [frequent[i] for i in rng.choice(len(frequent), size=min(authors_sample, len(frequent)), replace=False)]
    listed_by_pk = {pk: listed or [] for pk, _, _, _, listed in papers}
    precision: dict[str, list[float]] = {}
    latency: dict[str, list[float]] = {}
    misses: list[dict[str, Any]] = []
    for name in picked:
        words = names.name_words(name)
        variants = {"as listed": name, "Surname, Given": f"{name.split()[-1]}, {' '.join(name.split()[:-1])}"}
        if len(words[0]) > 1:
            variants["G. Surname"] = f"{name.split()[0][0]}. {name.split()[-1]}"
        for form, typed in variants.items():
            started = time.perf_counter()
            hits = semantic_search(query=typed, page_size=5, sentence_by_meaning=False).hits
            latency.setdefault(form, []).append((time.perf_counter() - started) * 1000)
            if form == "G. Surname":
                relevant = {pk for pk, listed in listed_by_pk.items() if any(names.same_author(str(n), typed) for n in listed)}
            else:
                relevant = set(by_author[name])
            cut = min(5, len(relevant))
            precision.setdefault(form, []).append(sum(1 for h in hits[:cut] if h.paper.pk in relevant) / cut)
            if form == "as listed" and precision[form][-1] < 1.0:
                # Who took the places: the names on the wrong papers that look like the typed one.
                wrong = [h.paper.pk for h in hits[:cut] if h.paper.pk not in relevant]
                lookalikes = sorted({str(n) for pk in wrong for n in listed_by_pk.get(pk, []) if names.same_author(str(n), typed)})
                misses.append({"typed": typed, "papers": len(relevant), "precision@5": precision[form][-1], "listed_instead": lookalikes[:5]})
    rows = [
        {"kind": kind, "queries": len(found), "first": round(statistics.fmean(ok for ok, _ in found), 4),
         "p50_ms": round(percentile([ms for _, ms in found], 0.5), 1), "p95_ms": round(percentile([ms for _, ms in found], 0.95), 1)}
        for kind, found in kinds.items()
    ]
    author_rows = [
        {"kind": f"author: {form}", "queries": len(values), "precision@5": round(statistics.fmean(values), 4),
         "all_five_right": round(statistics.fmean(v == 1.0 for v in values), 4),
         "p50_ms": round(percentile(latency[form], 0.5), 1), "p95_ms": round(percentile(latency[form], 0.95), 1)}
        for form, values in precision.items()
    ]
    identified = [ok for kind, found in kinds.items() for ok, _ in found]
    return {
        "papers": len(papers), "seed": seed, "authors_with_3_papers": len(frequent),
        "id_url_title_first": round(statistics.fmean(identified), 4) if identified else 0.0,
        "rows": rows, "authors": author_rows, "author_misses": misses, "speller": speller,
    }


def speller_cost() -> dict[str, Any]:
    """Words in the current build's spelling dictionary, the time one process spends loading them
    (as a web process's first misspelt query pays) and the memory the loaded dictionary holds."""
    import tracemalloc

    from search import spelling
    from search.index_store import current_index

    index = current_index()
    if index is None or index.keyword is None or index.keyword.words_file is None:
        return {}
    with open(index.keyword.words_file, encoding="utf-8") as handle:
        words = sum(1 for _ in handle)

    spelling.forget_loaded()
    started = time.perf_counter()
    spelling.speller_for(index.keyword)
    load_s = time.perf_counter() - started
    # Loaded again under tracemalloc for the bytes it holds (tracing slows the load itself).
    spelling.forget_loaded()
    tracemalloc.start()
    spelling.speller_for(index.keyword)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"words": words, "load_s": round(load_s, 2), "held_mb": round(held / 2**20, 1)}


def navigation_table(result: dict[str, Any]) -> str:
    speller = result.get("speller") or {}
    lines = [
        (f"spelling dictionary: {speller.get('words', 0)} words, loaded in {speller.get('load_s', 0.0)} s, "
         f"holding {speller.get('held_mb', 0.0)} MB"),
    ] + [f"{'query kind':<26} {'queries':>7} {'first':>7} {'P@5':>7} {'p50 ms':>8} {'p95 ms':>8}", "-" * 68]
    for row in result["rows"]:
        lines.append(f"{row['kind']:<26} {row['queries']:>7} {row['first']:>7.4f} {'':>7} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f}")
    for row in result["authors"]:
        lines.append(f"{row['kind']:<26} {row['queries']:>7} {'':>7} {row['precision@5']:>7.4f} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f}")
    return "\n".join(lines)
