"""CPU milliseconds a keyword query costs: the segmented KeywordIndex against one bm25s index.

A tool, not part of the product (docs/scale.md, "Keyword index"). Reads the analysed arXiv tokens
that bench/keyword_engines.py cached; CPU time, so a busy shared machine does not skew it.

    python bench/keyword_query_cpu.py 115236
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import bm25s
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from search.keyword import build_keyword_index


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 115_236
    cache = Path(tempfile.gettempdir()) / "kwbench-tokens-all.jsonl"
    corpus = [line.split() for line in cache.read_text(encoding="utf-8").splitlines()[:limit]]
    queries = [doc[:6] for doc in corpus[:: max(1, len(corpus) // 200)][:200]]
    index = build_keyword_index(ids=np.arange(len(corpus)), token_lists=corpus, k1=1.2, b=0.75)
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index(corpus, show_progress=False)

    def segments() -> None:
        for query in queries:
            index.search(query, 100)

    def one_bm25s() -> None:
        for query in queries:
            tokens = [retriever.vocab_dict[t] for t in query if t in retriever.vocab_dict]
            np.flatnonzero(np.asarray(retriever.get_scores_from_ids(tokens), dtype=np.float32) > 0)

    for name, run in (("segments (search, top 100)", segments), ("bm25s (scores only)", one_bm25s)):
        run()  # warm
        started = time.process_time()
        run()
        print(f"{name}: {(time.process_time() - started) / len(queries) * 1000:.2f} ms CPU a query ({len(corpus)} papers)")


if __name__ == "__main__":
    main()
