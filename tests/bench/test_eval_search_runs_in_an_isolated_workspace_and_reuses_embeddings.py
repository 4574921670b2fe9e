"""eval_search on a tiny BEIR dataset: isolated database and index, a table, JSON, reuse."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from papers.models import Paper

DOCS = {
    "d1": ("Malaria vaccine trial in children", "A randomised trial of a malaria vaccine in African children."),
    "d2": ("Dengue transmission by mosquitoes", "Aedes mosquitoes spread dengue virus in tropical cities."),
    "d3": ("Deep learning for protein structure", "Neural networks predict protein folds from sequences."),
    "d4": ("Black hole mergers", "Gravitational waves from merging black holes were detected."),
    "d5": ("Supernova light curves", "Type Ia supernovae brighten and fade over weeks."),
    "d6": ("Graph neural networks", "Message passing networks learn on graphs of molecules."),
    "d7": ("Soil bacteria and crop yield", "Microbes in soil change how much wheat a field yields."),
    "d8": ("Ocean warming and coral bleaching", "Heat waves in the sea bleach coral reefs."),
}
QUERIES = {
    "q1": ("does a vaccine protect kids against malaria", {"d1": 2}),
    "q2": ("mosquito-borne virus spread in cities", {"d2": 1}),
    "q3": ("predicting how proteins fold with neural nets", {"d3": 1}),
    "q4": ("detecting gravitational waves from colliding black holes", {"d4": 1, "d5": 1}),
    "q5": ("coral reefs and marine heat waves", {"d8": 1}),
}


def _write_dataset(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    with open(root / "corpus.jsonl", "w") as handle:
        handle.writelines(json.dumps({"_id": doc_id, "title": title, "text": text, "metadata": {}}) + "\n" for doc_id, (title, text) in DOCS.items())
    with open(root / "queries.jsonl", "w") as handle:
        handle.writelines(json.dumps({"_id": qid, "text": text, "metadata": {}}) + "\n" for qid, (text, _) in QUERIES.items())
        handle.write(json.dumps({"_id": "unjudged", "text": "ignored", "metadata": {}}) + "\n")
    with open(root / "qrels" / "test.tsv", "w") as handle:
        handle.write("query-id\tcorpus-id\tscore\n")
        for qid, (_, judged) in QUERIES.items():
            handle.writelines(f"{qid}\t{doc_id}\t{score}\n" for doc_id, score in judged.items())
    return root


@pytest.mark.slow
@pytest.mark.django_db
def test_it_evaluates_every_mode_in_an_isolated_workspace(tmp_path: Path, settings: object) -> None:
    dataset = _write_dataset(tmp_path / "tiny-beir")
    workdir = tmp_path / "eval"
    out = StringIO()
    call_command("eval_search", "--dataset", str(dataset), "--workdir", str(workdir), "--json", str(tmp_path / "r.json"), stdout=out)
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["queries"] == 5 and result["docs"] == 8
    assert result["embedded"] == 8 and result["reused"] == 0
    rows = {row["mode"]: row for row in result["results"]}
    assert set(rows) == {"dense", "keyword", "hybrid"}
    for row in rows.values():
        for metric in ("ndcg@10", "recall@100", "mrr@10"):
            assert 0.0 <= row[metric] <= 1.0
        assert 0 < row["p50_ms"] <= row["p95_ms"]
    # Every query has an unambiguous answer among eight unrelated documents.
    assert rows["dense"]["mrr@10"] == 1.0 and rows["hybrid"]["mrr@10"] == 1.0
    # The relevance floor leaves supernova light curves out of "colliding black holes" (judged relevant
    # here only to give q4 two answers): every other judged document is found.
    assert rows["hybrid"]["recall@100"] >= 0.9
    text = out.getvalue()
    assert "nDCG@10" in text and "hybrid" in text
    # Nothing was written to the database or index this process serves.
    assert not Paper.objects.exists()
    assert not Path(settings.INDEX_DIR).exists()  # type: ignore[attr-defined]
    (workspace,) = workdir.iterdir()
    assert (workspace / "eval.sqlite3").is_file() and (workspace / "index" / "CURRENT").is_file()

    # Same corpus, same model: the stored embeddings are reused, nothing is re-embedded.
    call_command("eval_search", "--dataset", str(dataset), "--workdir", str(workdir), "--mode", "keyword",
                 "--json", str(tmp_path / "r2.json"), stdout=StringIO())
    again = json.loads((tmp_path / "r2.json").read_text())
    assert again["embedded"] == 0 and again["reused"] == 8
    assert [row["mode"] for row in again["results"]] == ["keyword"]
    assert again["results"][0]["ndcg@10"] == rows["keyword"]["ndcg@10"]


def test_it_refuses_a_directory_that_is_not_a_beir_dataset(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is missing"):
        call_command("eval_search", "--dataset", str(tmp_path), "--workdir", str(tmp_path / "eval"))
