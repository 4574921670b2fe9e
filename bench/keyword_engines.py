"""Incremental keyword index candidates, measured: tantivy against segmented BM25 (bm25s layout).

A tool, not part of the product: run it in a scratch venv that has tantivy, bm25s, PyStemmer,
numpy and psutil (docs/scale.md, "Keyword index"). Every engine indexes the same pre-analysed
tokens (search.keyword.analyze over keyword_text with the title twice), so the comparison is of
engines, not tokenisers. Prints one JSON object, then a table.

    python bench/keyword_engines.py --scifact ../shared/data/beir-scifact \
        --arxiv ../shared/data/arxiv-abstracts-115k/papers.jsonl.gz --add 1000

Engines:

* ``bm25s``: today's index (one bm25s retriever over the whole collection), rebuilt on any change.
* ``segments``: immutable segments of term frequencies and document lengths (the bm25s CSC
  layout, before idf is multiplied in); BM25 is computed at query time with collection-wide
  statistics, so scores equal one index over everything. Adding N papers writes one segment of N.
* ``bm25s-per-segment``: one bm25s retriever per segment, each with its own statistics (what
  "merge bm25s indexes" gives without query-time statistics): shown for its quality loss.
* ``tantivy``: a whitespace-tokenised field holding the same tokens; Lucene-style BM25.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.measure import cpu_model  # noqa: E402 - after the path insert above
from search.keyword import analyze, keyword_text

K1, B = 1.2, 0.75


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


# --- segmented BM25 (the bm25s CSC layout with tf, not scores) ---------------------------------


class Segment:
    """Terms (sorted), postings (doc, tf) per term, document lengths: all numpy arrays."""

    def __init__(self, terms: np.ndarray, indptr: np.ndarray, docs: np.ndarray, tfs: np.ndarray, lengths: np.ndarray) -> None:
        self.terms, self.indptr, self.docs, self.tfs, self.lengths = terms, indptr, docs, tfs, lengths
        self.lookup = {t: i for i, t in enumerate(terms.tolist())}  # the shipped index binary-searches instead

    @classmethod
    def build(cls, corpus: Sequence[list[str]]) -> Segment:
        vocab: dict[str, int] = {}
        flat = np.fromiter((vocab.setdefault(t, len(vocab)) for doc in corpus for t in doc), dtype=np.int64)
        lengths = np.fromiter((len(doc) for doc in corpus), dtype=np.int32, count=len(corpus))
        doc_of = np.repeat(np.arange(len(corpus), dtype=np.int64), lengths)
        names = np.asarray(list(vocab), dtype=object)
        order = np.argsort(names.astype(str), kind="stable")  # local ids -> sorted rank
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        keys, tfs = np.unique(rank[flat] * len(corpus) + doc_of, return_counts=True)
        term_of, docs = np.divmod(keys, max(len(corpus), 1))
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.add.at(indptr, term_of + 1, 1)
        return cls(names[order].astype(str), np.cumsum(indptr), docs.astype(np.int32), tfs.astype(np.float32), lengths)

    @classmethod
    def merge(cls, segments: Sequence[Segment], deleted: Sequence[np.ndarray]) -> Segment:
        """One segment holding the live documents of ``segments`` in order (a background job)."""
        terms = np.unique(np.concatenate([s.terms for s in segments]))
        parts_docs, parts_tf, parts_term, lengths = [], [], [], []
        offset = 0
        for segment, gone in zip(segments, deleted, strict=True):
            keep = np.ones(len(segment.lengths), dtype=bool)
            keep[gone] = False
            renumber = np.cumsum(keep) - 1 + offset
            where = np.searchsorted(terms, segment.terms)
            counts = np.diff(segment.indptr)
            term_of = np.repeat(where, counts)
            live = keep[segment.docs]
            parts_docs.append(renumber[segment.docs[live]])
            parts_tf.append(segment.tfs[live])
            parts_term.append(term_of[live])
            lengths.append(segment.lengths[keep])
            offset += int(keep.sum())
        term_of = np.concatenate(parts_term)
        docs = np.concatenate(parts_docs)
        order = np.lexsort((docs, term_of))
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.add.at(indptr, term_of + 1, 1)
        return cls(terms, np.cumsum(indptr), docs[order].astype(np.int32), np.concatenate(parts_tf)[order], np.concatenate(lengths))

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        blob = "\n".join(self.terms.tolist()).encode()
        (path / "terms.txt").write_bytes(blob)
        for name in ("indptr", "docs", "tfs", "lengths"):
            np.save(path / f"{name}.npy", getattr(self, name), allow_pickle=False)


class SegmentedIndex:
    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments
        self.deleted = [np.zeros(0, dtype=np.int64) for _ in segments]

    def scores(self, terms: list[str]) -> np.ndarray:
        sizes = [len(s.lengths) for s in self.segments]
        n = sum(sizes)
        avgdl = sum(float(s.lengths.sum()) for s in self.segments) / max(n, 1)
        result = np.zeros(n, dtype=np.float32)
        for term in terms:  # a repeated query word counts once per repetition, as bm25s does
            spans = []
            for segment in self.segments:
                i = segment.lookup.get(term)
                spans.append(None if i is None else (int(segment.indptr[i]), int(segment.indptr[i + 1])))
            df = sum(hi - lo for span in spans if span for lo, hi in [span])
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            offset = 0
            for segment, span, size in zip(self.segments, spans, sizes, strict=True):
                if span:
                    docs = segment.docs[span[0] : span[1]]
                    tf = segment.tfs[span[0] : span[1]]
                    norm = K1 * ((1 - B) + B * segment.lengths[docs] / avgdl)
                    result[offset + docs] += idf * tf / (norm + tf)
                offset += size
        offset = 0
        for gone, size in zip(self.deleted, sizes, strict=True):
            result[offset + gone] = 0
            offset += size
        return result


# --- engines behind one small interface ---------------------------------------------------------


class Engine:
    name = ""

    def build(self, corpus: Sequence[list[str]], workdir: Path) -> None:
        raise NotImplementedError

    def add(self, corpus: Sequence[list[str]]) -> None:
        raise NotImplementedError

    def merge(self) -> None:
        raise NotImplementedError

    def top(self, terms: list[str], k: int) -> list[tuple[int, float]]:  # (position, score)
        raise NotImplementedError

    def size_mb(self) -> float:
        raise NotImplementedError


def top_of(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    hits = np.flatnonzero(scores > 0)
    if k < len(hits):
        hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
    order = np.lexsort((hits, -scores[hits]))
    return [(int(hits[i]), float(scores[hits[i]])) for i in order]


class Bm25sEngine(Engine):
    name = "bm25s"

    def build(self, corpus: Sequence[list[str]], workdir: Path) -> None:
        import bm25s

        self.workdir, self.corpus = workdir, list(corpus)
        self.retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
        self.retriever.index(self.corpus, show_progress=False)
        self.retriever.save(str(workdir), show_progress=False)

    def add(self, corpus: Sequence[list[str]]) -> None:  # bm25s cannot add: everything again
        self.corpus += list(corpus)
        if not self.rebuild_on_add:  # at scale: the add costs a full build, already measured
            return
        shutil.rmtree(self.workdir)
        self.workdir.mkdir()
        self.build(self.corpus, self.workdir)

    rebuild_on_add = True

    def merge(self) -> None:
        pass

    def top(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        ids = [self.retriever.vocab_dict[t] for t in terms if t in self.retriever.vocab_dict]
        if not ids:
            return []
        return top_of(np.asarray(self.retriever.get_scores_from_ids(ids), dtype=np.float32), k)

    def size_mb(self) -> float:
        return dir_mb(self.workdir)


class SegmentsEngine(Engine):
    """The shipped index (search/keyword.py), saved and memory-mapped as a build would."""

    name = "segments"

    def build(self, corpus: Sequence[list[str]], workdir: Path) -> None:
        from search.keyword import build_keyword_index

        self.workdir, self.builds = workdir, 0
        index = build_keyword_index(ids=np.arange(len(corpus)), token_lists=corpus, k1=K1, b=B)
        self.index = self._published(index)

    def _published(self, index: Any) -> Any:
        from search.keyword import KeywordIndex

        self.builds += 1
        target = self.workdir / f"build-{self.builds}"
        index.save(target)  # unchanged segments are hard links to the previous build's
        return KeywordIndex.load(target, mmap=True)

    def add(self, corpus: Sequence[list[str]]) -> None:
        from search.keyword import build_segment

        first = len(self.index.ids)
        segment = build_segment(f"s-{self.builds}", ids=np.arange(first, first + len(corpus)), token_lists=corpus)
        self.index = self._published(self.index.updated(removed=np.zeros(0, dtype=np.int64), added=segment))

    def merge(self) -> None:
        from search.keyword import KeywordIndex, Segment

        segments = self.index.segments
        merged = Segment.merge("merged", segments, [np.ones(len(s), dtype=bool) for s in segments])
        self.index = self._published(KeywordIndex(ids=np.asarray(merged.ids), segments=[merged], k1=K1, b=B))

    def top(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        return self.index.search(terms, k)

    def size_mb(self) -> float:
        return dir_mb(self.workdir / f"build-{self.builds}")


class Bm25sPerSegmentEngine(Engine):
    """Each segment scored with its own idf and average length (no global statistics)."""

    name = "bm25s-per-segment"

    def build(self, corpus: Sequence[list[str]], workdir: Path) -> None:
        self.retrievers: list[Any] = []
        self.sizes: list[int] = []
        self.workdir = workdir
        self.add(corpus)

    def add(self, corpus: Sequence[list[str]]) -> None:
        import bm25s

        retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
        retriever.index(list(corpus), show_progress=False)
        retriever.save(str(self.workdir / f"seg-{len(self.retrievers)}"), show_progress=False)
        self.retrievers.append(retriever)
        self.sizes.append(len(corpus))

    def merge(self) -> None:
        pass

    def top(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        parts = []
        for retriever, size in zip(self.retrievers, self.sizes, strict=True):
            ids = [retriever.vocab_dict[t] for t in terms if t in retriever.vocab_dict]
            parts.append(np.asarray(retriever.get_scores_from_ids(ids), dtype=np.float32) if ids else np.zeros(size, dtype=np.float32))
        return top_of(np.concatenate(parts), k)

    def size_mb(self) -> float:
        return dir_mb(self.workdir)


class TantivyEngine(Engine):
    name = "tantivy"

    def build(self, corpus: Sequence[list[str]], workdir: Path) -> None:
        import tantivy

        self.tantivy = tantivy
        self.workdir = workdir
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
        builder.add_integer_field("pos", stored=True, indexed=True, fast=True)
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema, path=str(workdir))
        self.count = 0
        self.add(corpus)

    def add(self, corpus: Sequence[list[str]]) -> None:
        writer = self.index.writer(heap_size=200_000_000, num_threads=1)
        for tokens in corpus:
            writer.add_document(self.tantivy.Document(body=" ".join(tokens), pos=self.count))
            self.count += 1
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()

    def merge(self) -> None:
        # tantivy-py exposes no explicit merge call: its merge policy runs in the writer's
        # background threads, waited for in ``add`` (the cost is inside that time).
        pass

    def top(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        if not terms:
            return []
        tantivy = self.tantivy
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "body", t)) for t in terms]
        )
        searcher = self.index.searcher()
        hits = searcher.search(query, k).hits
        return [(int(searcher.doc(address)["pos"][0]), float(score)) for score, address in hits]

    def segments(self) -> int:
        return len(self.index.searcher().segment_readers()) if hasattr(self.index.searcher(), "segment_readers") else -1

    def size_mb(self) -> float:
        return dir_mb(self.workdir)


ENGINES: dict[str, Callable[[], Engine]] = {
    e.name: e for e in (Bm25sEngine, SegmentsEngine, Bm25sPerSegmentEngine, TantivyEngine)
}


# --- data and metrics -----------------------------------------------------------------------------


def scifact(directory: Path) -> tuple[list[str], list[list[str]], list[list[str]], list[dict[str, int]]]:
    docs = [json.loads(line) for line in (directory / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    doc_ids = [d["_id"] for d in docs]
    corpus = [analyze(keyword_text(d["title"], d["text"], title_weight=2)) for d in docs]
    qrels: dict[str, dict[str, int]] = {}
    for line in (directory / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        qid, did, rel = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(rel)
    queries = [json.loads(line) for line in (directory / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    queries = [q for q in queries if q["_id"] in qrels]
    return doc_ids, corpus, [analyze(q["text"]) for q in queries], [qrels[q["_id"]] for q in queries]


def ndcg10(ranked: list[str], rel: dict[str, int]) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sum(r / math.log2(i + 2) for i, r in enumerate(sorted(rel.values(), reverse=True)[:10]))
    return dcg / ideal if ideal else 0.0


def arxiv_corpus(path: Path, limit: int | None) -> tuple[list[list[str]], list[list[str]]]:
    """Tokens of the papers (cached next to the work dir: analysis is the same for every engine)."""
    cache = Path(tempfile.gettempdir()) / f"kwbench-tokens-{limit or 'all'}.jsonl"
    if not cache.exists():
        with gzip.open(path, "rt", encoding="utf-8") as handle, open(cache, "w", encoding="utf-8") as out:
            for n, line in enumerate(handle):
                if limit and n >= limit:
                    break
                paper = json.loads(line)
                out.write(" ".join(analyze(keyword_text(paper["title"], paper["abstract"], title_weight=2))) + "\n")
    corpus = [line.split() for line in cache.read_text(encoding="utf-8").splitlines()]
    queries = [doc[:6] for doc in corpus[:: max(1, len(corpus) // 200)][:200]]  # title-like queries
    return corpus, queries


def latency(engine: Engine, queries: list[list[str]], k: int = 100) -> dict[str, float]:
    times, cpu_times = [], []
    for terms in queries:
        started, cpu = time.perf_counter(), time.process_time()
        engine.top(terms, k)
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
    times.sort()
    cpu_times.sort()

    def p99(values: list[float]) -> float:
        return round(values[min(len(values) - 1, int(len(values) * 0.99))], 2)

    # CPU milliseconds too: on a shared machine the wall clock also counts waiting for a core.
    return {
        "p50_ms": round(statistics.median(times), 2), "p99_ms": p99(times),
        "cpu_p50_ms": round(statistics.median(cpu_times), 2), "cpu_p99_ms": p99(cpu_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scifact", type=Path)
    parser.add_argument("--arxiv", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="first N arXiv papers only")
    parser.add_argument("--add", type=int, default=1000, help="papers added after the full build")
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args()
    names = args.engines.split(",")
    report: dict[str, Any] = {"cpu": cpu_model(), "engines": {}}
    if args.scifact:
        doc_ids, corpus, queries, qrels = scifact(args.scifact)
        for name in names:
            engine = ENGINES[name]()
            with tempfile.TemporaryDirectory() as tmp:
                # Four fifths first, the rest added as a second segment: what an incremental build sees.
                cut = len(corpus) * 4 // 5
                (Path(tmp) / "idx").mkdir()
                engine.build(corpus[:cut], Path(tmp) / "idx")
                engine.add(corpus[cut:])
                scores = [ndcg10([doc_ids[p] for p, _ in engine.top(q, 10)], rel) for q, rel in zip(queries, qrels, strict=True)]
                report["engines"].setdefault(name, {})["scifact_ndcg10"] = round(sum(scores) / len(scores), 4)
    if args.arxiv:
        corpus, queries = arxiv_corpus(args.arxiv, args.limit)
        base, extra = corpus[: len(corpus) - args.add], corpus[len(corpus) - args.add :]
        for name in names:
            if name == "bm25s-per-segment":
                continue  # its point is quality (SciFact); at scale it costs what segments do
            engine = ENGINES[name]()
            if isinstance(engine, Bm25sEngine):
                engine.rebuild_on_add = False
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "idx").mkdir()
                before = rss_mb()
                # CPU seconds beside wall seconds: on a shared machine the wall clock measures the
                # neighbours (tantivy's own threads count in process time too).
                started, cpu = time.perf_counter(), time.process_time()
                engine.build(base, Path(tmp) / "idx")
                built, built_cpu = time.perf_counter() - started, time.process_time() - cpu
                started, cpu = time.perf_counter(), time.process_time()
                engine.add(extra)
                added, added_cpu = time.perf_counter() - started, time.process_time() - cpu
                after_add = latency(engine, queries)
                started, cpu = time.perf_counter(), time.process_time()
                engine.merge()
                merged, merged_cpu = time.perf_counter() - started, time.process_time() - cpu
                row = report["engines"].setdefault(name, {})
                if name == "bm25s":
                    added, added_cpu = built, built_cpu  # it rebuilds everything (not repeated here)
                row.update({
                    "papers": len(corpus), "full_build_s": round(built, 2), f"add_{args.add}_s": round(added, 3),
                    "merge_s": round(merged, 2), "full_build_cpu_s": round(built_cpu, 2),
                    f"add_{args.add}_cpu_s": round(added_cpu, 3), "merge_cpu_s": round(merged_cpu, 2), "query_after_add": after_add, "query_after_merge": latency(engine, queries),
                    "disk_mb": round(engine.size_mb(), 1), "rss_growth_mb": round(rss_mb() - before, 1),
                })
                print(json.dumps({name: row}), file=sys.stderr, flush=True)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(report, indent=2))
    columns = ["scifact_ndcg10", "full_build_cpu_s", f"add_{args.add}_cpu_s", "merge_cpu_s", "query_after_add", "query_after_merge", "disk_mb", "rss_growth_mb"]
    print("\n| engine | " + " | ".join(columns) + " |\n|" + "---|" * (len(columns) + 1))
    for name, row in report["engines"].items():
        cells = []
        for c in columns:
            value = row.get(c, "")
            if isinstance(value, dict):
                cells.append(f"{value['p50_ms']}/{value['p99_ms']} ms (CPU {value.get('cpu_p50_ms', '?')}/{value.get('cpu_p99_ms', '?')})")
            else:
                cells.append(str(value))
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
