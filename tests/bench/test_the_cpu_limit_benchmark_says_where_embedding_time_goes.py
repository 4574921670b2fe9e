"""bench_speed's CPU-limit part says where the real model's time goes, node group by node group,
and the most embedding could reach of the matmul limit if every other node were free."""

from __future__ import annotations

import json

import pytest

from bench import cpu_limit
from tests.conftest import SAMPLE_1K

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


def _abstracts(n: int) -> list[str]:
    with open(SAMPLE_1K, encoding="utf-8") as handle:
        rows = [json.loads(next(handle)) for _ in range(n)]
    return [f"{r['title']}. {r['abstract']}" for r in rows]


def test_the_profile_of_real_abstracts_names_the_matmuls_and_the_attention_block_and_adds_up() -> None:
    profile = cpu_limit.op_profile(texts=_abstracts(16), batch_size=8)
    groups = {row["group"]: row for row in profile["groups"]}
    matmuls, attention = "projections and feed-forward (matmuls)", "attention block (scores, softmax, mixing)"
    assert matmuls in groups and attention in groups, sorted(groups)
    assert groups[matmuls]["seconds"] > 0 and groups[attention]["seconds"] > 0
    assert abs(sum(row["seconds"] for row in profile["groups"]) - profile["request_s"]) < 0.01
    expected = (groups[matmuls]["seconds"] + groups[attention]["seconds"]) / profile["request_s"]
    assert abs(profile["matmul_and_attention_share"] - expected) < 0.01
    assert 0 < profile["matmul_and_attention_share"] < 1  # layer norms, adds, the embedding lookup: never free
    assert set(profile["kernels"]) == {matmuls, attention}


def test_nodes_are_grouped_by_the_op_they_came_from() -> None:
    assert cpu_limit._group("__module.inner.encoder.layer.0.attention.self/aten::scaled_dot_product_attention/x", "Subgraph").startswith("attention")
    assert cpu_limit._group("MatMul_12", "MatMul").startswith("attention")  # unfused: the scores and the mixing
    assert cpu_limit._group("Softmax_3", "Softmax").startswith("attention")
    assert cpu_limit._group("__module.inner.encoder.layer.0.intermediate.dense/aten::linear/Add", "FullyConnected").startswith("projections")
    assert cpu_limit._group("x/aten::layer_norm/MVN", "MVN") == "layer norms"
    assert cpu_limit._group("Transpose_1", "Transpose") == "other: Transpose"
