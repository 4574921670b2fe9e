"""A paper that kills its worker process (say, a tokenizer segfault) is not redelivered forever:
after a few deaths its batch is split until the paper is alone, then recorded as failed; every
other paper of the batch is embedded and indexed."""

from __future__ import annotations

import json

from tests.pipeline.harness import Pipeline, postgres_pass, wait_until
from tests.pipeline.instrumented import FAST_MODEL_NAME


@postgres_pass
def test_a_paper_that_kills_its_worker_is_split_off_and_recorded(broker_pipeline: Pipeline) -> None:
    p = broker_pipeline
    p.env.update({"EMBEDDING_MODEL_NAME": FAST_MODEL_NAME, "EMBED_TASK_BATCH": "4", "BUILD_DEBOUNCE_SECONDS": "1", "FAST_EMBEDDER_KILL_ON": "POISON"})
    rows = [{"title": f"Ordinary paper {n}", "abstract": f"Nothing unusual about paper number {n}.", "arxiv_id": f"2601.{n:05d}"} for n in range(12)]
    rows[5]["abstract"] = "This abstract contains POISON for the tokenizer."
    data = p.tmp / "papers.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    worker = p.worker(concurrency=1)
    p.manage("import_papers", str(data))

    def settled() -> bool:
        return p.count("search_embeddingfailure") == 1 and p.count("search_indexbuild", "status = 'published' AND count = 11") >= 1

    wait_until(settled, timeout=240, interval=1.0, what="the poison paper to be isolated", on_timeout=worker.tail)
    [(title, error)] = p.db.query("SELECT p.title, f.error FROM search_embeddingfailure f JOIN papers_paper p ON p.id = f.paper_id")
    assert title == "Ordinary paper 5" and "died 3 times" in error
    assert p.count("search_paperembedding") == 11
    assert worker.text().count("signal 9") >= 3
    code, report = p.verify()
    assert code != 0 and len(report["missing"]) == 1  # verify_index keeps pointing at it
    assert "Ordinary paper 5" in p.manage("index_status").stdout
