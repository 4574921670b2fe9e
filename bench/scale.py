"""A collection the size of all of arXiv (2.6M papers) for benchmarks: the 115k real papers plus
generated ones, in the benchmark's own SQLite database (never a user's).

Generated papers keep the real distribution. Paper ``g`` is recombined from two real papers
``p`` and ``q`` of the same primary arXiv category: its title is the first part of ``p``'s title
words and the rest of ``q``'s, its abstract ``p``'s first sentences followed by ``q``'s last ones
(``mix`` is ``q``'s share), with ``p``'s authors, categories and date. Its vector is
``(1 - mix) v_p + mix v_q`` plus a little noise, renormalised: near the real vectors of the two
texts it was made from. So BM25 sees real sentences, real document lengths and a real
vocabulary, and IVF real topical clusters; and every figure comes from the app's own code
(``build_index``, gunicorn), not from a model of it.

Generated rows are labelled: their ``content_hash`` starts with ``generated:`` (as in
bench/database.py) and they have no arXiv id or DOI. Every step is resumable and deterministic
(a seed), so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import corpus, database
from bench.database import ALIAS, GENERATED
from search.explain import SENTENCE_END

HOLDOUT = 200  # the corpus's last papers: their titles are the queries, never in the collection


@dataclass(frozen=True)
class Plan:
    """How each generated paper is made: its two real sources (corpus positions) and the mix."""

    p: np.ndarray
    q: np.ndarray
    mix: np.ndarray

    def __len__(self) -> int:
        return len(self.p)


def generated_rows(model_manager: Any) -> Any:
    """The generated rows of a Paper queryset, as a range of the indexed content hash (SQLite
    reads a LIKE prefix by scanning the whole table)."""
    return model_manager.filter(content_hash__gte=GENERATED, content_hash__lt=GENERATED[:-1] + chr(ord(GENERATED[-1]) + 1))


def make_plan(real: list[corpus.CorpusPaper], count: int, *, seed: int = 26) -> Plan:
    """``count`` (p, q, mix) triples: p uniform over the real papers, q from p's primary category."""
    # One stream per column: a plan of more papers begins with the same triples (resumable runs).
    rng_p, rng_q, rng_mix = (np.random.default_rng([seed, column]) for column in range(3))
    groups: dict[str, list[int]] = defaultdict(list)
    for n, paper in enumerate(real):
        groups[paper.categories[0] if paper.categories else ""].append(n)
    group_of = {key: np.asarray(members, dtype=np.int64) for key, members in groups.items()}
    p = rng_p.integers(0, len(real), count)
    primary = [real[i].categories[0] if real[i].categories else "" for i in range(len(real))]
    q = np.empty(count, dtype=np.int64)
    draws = rng_q.random(count)
    for n, source in enumerate(p.tolist()):
        members = group_of[primary[source]]
        q[n] = members[int(draws[n] * len(members))]
    mix = rng_mix.uniform(0.25, 0.5, count).astype(np.float32)
    return Plan(p=p, q=q, mix=mix)


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(text.strip()) if s]  # the boundaries explanations use


def generated_fields(p: corpus.CorpusPaper, q: corpus.CorpusPaper, mix: float, p_sentences: list[str], q_sentences: list[str]) -> dict[str, Any]:
    """Title, abstract and metadata of one generated paper (see the module's docstring)."""
    p_words, q_words = p.title.split(), q.title.split()
    keep = max(1, round(len(p_words) * (1 - mix)))
    title = " ".join(p_words[:keep] + q_words[min(keep, len(q_words)) :]) or p.title
    take_p = max(1, round(len(p_sentences) * (1 - mix)))
    take_q = max(1, round(len(q_sentences) * mix))
    abstract = " ".join(p_sentences[:take_p] + q_sentences[-take_q:])
    return {"title": title[:1000], "abstract": abstract[:10_000], "authors": p.authors, "categories": p.categories, "published": p.published}


NOISE_BLOCK = 20_000  # generated papers share one noise stream per block: any slicing gives the same vectors


def generated_vectors(plan: Plan, real: np.ndarray, *, start: int, stop: int, seed: int = 27, noise: float = 0.15) -> np.ndarray:
    """Vectors of generated papers ``start``..``stop``: the same vectors however the range is cut."""
    dim = real.shape[1]
    out = np.empty((stop - start, dim), dtype=np.float32)
    for block in range(start // NOISE_BLOCK, (stop - 1) // NOISE_BLOCK + 1 if stop > start else start // NOISE_BLOCK):
        low, high = block * NOISE_BLOCK, min((block + 1) * NOISE_BLOCK, stop)
        rng = np.random.default_rng([seed, low])
        draws = rng.standard_normal((high - low, dim), dtype=np.float32)  # the block's stream from its start
        first = max(low, start)
        p, q, mix = plan.p[first:high], plan.q[first:high], plan.mix[first:high, None]
        rows = (1 - mix) * real[p] + mix * real[q] + (noise / np.sqrt(dim)) * draws[first - low :]
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        out[first - start : high - start] = rows
    return out


def _papers(plan: Plan, real: list[corpus.CorpusPaper], split: list[list[str]], *, start: int, stop: int) -> list[Any]:
    """Unsaved Paper rows of the plan's generated papers ``start``..``stop``, labelled by number."""
    from papers.models import Paper

    made = []
    for number in range(start, stop):
        pi, qi = int(plan.p[number]), int(plan.q[number])
        fields = generated_fields(real[pi], real[qi], float(plan.mix[number]), split[pi], split[qi])
        paper = Paper(**{**fields, "published": dt.date.fromisoformat(fields["published"]) if fields["published"] else None})
        paper.refresh_derived_fields()
        paper.content_hash = f"{GENERATED}{number:010d}"
        made.append(paper)
    return made


def populate(
    *, database_path: Path, size: int, source: Path = corpus.ARXIV_115K, plan_extra: int = 0, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """The collection of ``size`` papers: the corpus ``source`` (its last HOLDOUT papers hidden)
    plus generated rows up to ``size`` (and ``plan_extra`` more planned, for incremental rounds).
    Resumable."""
    from papers.models import Paper

    database.prepare(database=database_path, corpus=source)
    real = list(corpus.read_papers(source))
    held_out = [p.arxiv_id for p in real[-HOLDOUT:]]
    Paper.objects.using(ALIAS).filter(arxiv_id__in=held_out).update(hidden=True)
    collection_real = len(real) - HOLDOUT
    wanted = max(0, size - collection_real)
    plan = make_plan(real[:collection_real], wanted + plan_extra)
    have = generated_rows(Paper.objects.using(ALIAS)).count()
    split = [sentences(p.abstract) for p in real[:collection_real]]
    log(f"generated papers: {have:,} of {wanted:,} present")
    batch = 10_000
    for start in range(have, wanted, batch):
        stop = min(wanted, start + batch)
        Paper.objects.using(ALIAS).bulk_create(_papers(plan, real, split, start=start, stop=stop), batch_size=2_000)
        if (stop // batch) % 25 == 0 or stop == wanted:
            log(f"  generated {stop:,}/{wanted:,}")
    return {"real": collection_real, "generated": wanted, "plan": plan, "real_papers": real, "sentences": split}


def add_generated(
    *, plan: Plan, real: list[corpus.CorpusPaper], split: list[list[str]], vectors: np.ndarray, start: int, count: int, model: str, using: str = ALIAS,
) -> list[int]:
    """Create generated papers ``start``..``start+count`` of the plan with their embeddings (an
    incremental round: what a harvest of ``count`` new papers leaves in the database ``using``)."""
    from papers.models import Paper
    from search.models import PaperEmbedding

    made = Paper.objects.using(using).bulk_create(_papers(plan, real, split, start=start, stop=start + count), batch_size=2_000)
    pks = [int(p.pk) for p in made] if all(p.pk for p in made) else list(
        Paper.objects.using(using).filter(content_hash__in=[p.content_hash for p in made]).order_by("pk").values_list("pk", flat=True)
    )
    block = generated_vectors(plan, vectors, start=start, stop=start + count)
    hashes = dict(Paper.objects.using(using).filter(pk__in=pks).values_list("pk", "content_hash"))
    PaperEmbedding.objects.using(using).bulk_create(
        [PaperEmbedding(paper_id=pk, model=model, dim=block.shape[1], vector=v.tobytes(), content_hash=hashes[pk]) for pk, v in zip(pks, block, strict=True)],
        batch_size=1_000,
    )
    return pks


def store_vectors(*, plan: Plan, real: list[corpus.CorpusPaper], vectors: np.ndarray, generated: int, model: str, log: Callable[[str], None] = print) -> int:
    """PaperEmbedding rows for every paper of the collection (real vectors for real papers,
    generated ones for the rest), made once: skipped when the count already matches."""
    from papers.models import Paper
    from search.models import PaperEmbedding

    collection_real = len(real) - HOLDOUT
    expected = collection_real + generated
    stored = PaperEmbedding.objects.using(ALIAS).filter(model=model).count()
    if stored == expected:
        return stored
    PaperEmbedding.objects.using(ALIAS).filter(model=model).delete()
    dim = vectors.shape[1]
    by_arxiv = dict(Paper.objects.using(ALIAS).filter(arxiv_id__isnull=False).values_list("arxiv_id", "pk"))
    real_rows = [(by_arxiv[p.arxiv_id], vectors[n]) for n, p in enumerate(real[:collection_real])]
    hashes = dict(Paper.objects.using(ALIAS).filter(arxiv_id__isnull=False).values_list("pk", "content_hash"))
    for start in range(0, len(real_rows), 5_000):
        PaperEmbedding.objects.using(ALIAS).bulk_create(
            [PaperEmbedding(paper_id=pk, model=model, dim=dim, vector=np.asarray(v, dtype=np.float32).tobytes(), content_hash=hashes[pk]) for pk, v in real_rows[start : start + 5_000]],
            batch_size=1_000,
        )
    log(f"  stored {len(real_rows):,} real vectors")
    generated_pks = list(
        generated_rows(Paper.objects.using(ALIAS)).order_by("content_hash").values_list("pk", "content_hash")
    )[:generated]
    for start in range(0, generated, 20_000):
        stop = min(generated, start + 20_000)
        block = generated_vectors(plan, vectors, start=start, stop=stop)
        PaperEmbedding.objects.using(ALIAS).bulk_create(
            [
                PaperEmbedding(paper_id=pk, model=model, dim=dim, vector=v.tobytes(), content_hash=h)
                for (pk, h), v in zip(generated_pks[start:stop], block, strict=True)
            ],
            batch_size=1_000,
        )
        if (stop // 20_000) % 25 == 0 or stop == generated:
            log(f"  stored {stop:,}/{generated:,} generated vectors")
    return PaperEmbedding.objects.using(ALIAS).filter(model=model).count()
