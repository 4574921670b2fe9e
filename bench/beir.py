"""The one reader of BEIR-layout evaluation datasets: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.

JSON lines are read by the importers' own line reader (papers.importers.common.json_objects), so
a bad line is reported as ``file:line`` the same way ``import_papers --format beir`` reports it;
here it stops the evaluation instead of being skipped, since a missing document or query would
change the score. Documents keep their title and text exactly as the file has them (the importer
fills an empty title from the first sentence: evaluation embeds what the dataset says).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from papers.importers.common import json_objects
from papers.records import RecordError


@dataclass(frozen=True)
class Document:
    """One corpus document: its BEIR ``_id``, title and text."""

    doc_id: str
    title: str
    text: str


@dataclass
class Dataset:
    """One split of a BEIR-layout dataset: judged queries and their graded qrels."""

    path: Path
    split: str
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    @property
    def corpus(self) -> Path:
        return self.path / "corpus.jsonl"


def json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Each JSON object of a JSON-lines file; ValueError naming ``file:line`` at the first bad line."""
    with open(path, "rb") as stream:
        for item in json_objects(stream, str(path)):
            if not isinstance(item, RecordError):
                yield item[1]
                continue
            raise ValueError(str(item))  # a bad line: the file is not the dataset it claims to be


def documents(corpus: Path) -> Iterator[Document]:
    """The corpus's documents, in file order."""
    for doc in json_lines(corpus):
        yield Document(doc_id=str(doc["_id"]), title=str(doc.get("title") or ""), text=str(doc.get("text") or ""))


def queries_read(path: Path) -> dict[str, str]:
    """Every query of ``queries.jsonl`` (judged or not): ``_id`` -> text, in file order."""
    return {str(doc.get("_id", "")): str(doc.get("text", "")) for doc in json_lines(Path(path) / "queries.jsonl")}


def qrels_read(path: Path, split: str) -> dict[str, dict[str, int]]:
    """query id -> {document id: gain} for the judgements with a gain above 0."""
    qrels: dict[str, dict[str, int]] = {}
    with open(Path(path) / "qrels" / f"{split}.tsv", newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) < 3 or row[0] == "query-id":
                continue
            score = int(float(row[2]))
            if score > 0:
                qrels.setdefault(row[0], {})[row[1]] = score
    return qrels


def dataset_load(*, path: Path, split: str = "test") -> Dataset:
    """Read queries and qrels of a split; only queries with at least one relevant doc count."""
    path = Path(path)
    for needed in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (path / needed).is_file():
            raise ValueError(f"{path} is not a BEIR dataset with split {split!r}: {needed} is missing")
    qrels = qrels_read(path, split)
    queries = {qid: text for qid, text in queries_read(path).items() if qid in qrels}
    missing = set(qrels) - set(queries)
    if missing:
        raise ValueError(f"{len(missing)} judged queries are not in queries.jsonl (e.g. {sorted(missing)[:3]})")
    return Dataset(path=path, split=split, queries=queries, qrels=qrels)
