"""How close embedding comes to this CPU's own limit, measured in the same run.

The limit is the speed of the model's matrix multiplications alone: an OpenVINO graph made of
exactly the transformer's matmuls (per layer: Q, K, V and output projections, the two
attention products per head, the two feed-forward layers), with the model's dimensions, compiled
with the same precision, performance hint and threads as the embedder, and run on the very
batch shapes (rows x padded tokens) that embedding the same texts runs. Everything else the
embedder does (tokenising, embeddings, softmax, layer norms, GELU, pooling, moving data) is
what the ratio leaves out, so ``achieved / limit`` is the share of the CPU's matmul capacity
that real embedding reaches. Both are reported as GFLOP/s of the same matmul work.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from search import embedder


def _config(path: Path) -> dict[str, int]:
    config = json.loads((path / "config.json").read_text())
    return {
        "hidden": int(config["hidden_size"]),
        "intermediate": int(config["intermediate_size"]),
        "layers": int(config["num_hidden_layers"]),
        "heads": int(config["num_attention_heads"]),
    }


def matmul_flops(rows: int, width: int, shape: dict[str, int]) -> float:
    """Multiply-adds x 2 of the transformer's matmuls for one batch of rows x width tokens."""
    h, i = shape["hidden"], shape["intermediate"]
    tokens = rows * width
    per_layer = 2 * tokens * (4 * h * h + 2 * h * i) + 2 * 2 * rows * width * width * h
    return float(per_layer * shape["layers"])


def matmul_graph(shape: dict[str, int], *, seed: int = 0) -> Any:
    """An OpenVINO model: input [rows, tokens, hidden] through the model's matmuls only."""
    import openvino as ov
    import openvino.opset13 as ops

    h, i, heads = shape["hidden"], shape["intermediate"], shape["heads"]
    d = h // heads
    rng = np.random.default_rng(seed)

    def weight(rows: int, cols: int) -> Any:
        return ops.constant((rng.standard_normal((rows, cols)) / np.sqrt(rows)).astype(np.float32))

    x = ops.parameter(ov.PartialShape([-1, -1, h]), ov.Type.f32, name="hidden")
    split_shape = ops.constant(np.asarray([0, 0, heads, d], dtype=np.int64))
    merge_shape = ops.constant(np.asarray([0, 0, h], dtype=np.int64))
    heads_first = ops.constant(np.asarray([0, 2, 1, 3], dtype=np.int64))
    out = x
    for _ in range(shape["layers"]):
        q, k, v = (ops.transpose(ops.reshape(ops.matmul(out, weight(h, h), False, False), split_shape, True), heads_first) for _ in range(3))
        scores = ops.matmul(q, k, False, True)  # [rows, heads, tokens, tokens]
        mixed = ops.matmul(scores, v, False, False)  # [rows, heads, tokens, d]
        merged = ops.reshape(ops.transpose(mixed, heads_first), merge_shape, True)
        projected = ops.matmul(merged, weight(h, h), False, False)
        out = ops.matmul(ops.matmul(projected, weight(h, i), False, False), weight(i, h), False, False)
    return ov.Model([out], [x], "matmuls-only")


def _bulk_batches(texts: list[str], *, batch_size: int) -> list[dict[str, np.ndarray]]:
    """The padded inputs of every batch the embedder runs for ``texts`` in bulk (longest first,
    as ``encode`` orders them)."""
    model = embedder.get_model("openvino")
    encodings = model._features(list(texts))  # type: ignore[attr-defined]
    order = sorted(range(len(encodings)), key=lambda n: -len(encodings[n].ids))
    return [model._batch(encodings, order[s : s + batch_size], bulk=True)[1] for s in range(0, len(order), batch_size)]  # type: ignore[attr-defined]


def batch_shapes(texts: list[str], *, batch_size: int) -> list[tuple[int, int]]:
    """(rows, padded tokens) of every batch the embedder runs for ``texts`` in bulk."""
    return [(int(feeds["input_ids"].shape[0]), int(feeds["input_ids"].shape[1])) for feeds in _bulk_batches(texts, batch_size=batch_size)]


def bench_cpu_limit(*, texts: list[str], batch_size: int, rounds: int = 3) -> dict[str, Any]:
    """Embedding's matmul GFLOP/s against the matmul-only graph's on the same shapes, same run.

    Rounds interleave the two (embed, limit, embed, limit, ...); the best of each counts.
    """
    import openvino as ov

    model = embedder.get_model("openvino")
    path = Path(str(embedder._model_dir()))
    shape = _config(path)
    shapes = batch_shapes(texts, batch_size=batch_size)
    flops = sum(matmul_flops(rows, width, shape) for rows, width in shapes)
    core = ov.Core()
    threads = int(getattr(model, "_threads", 0) or 0)
    config = embedder._openvino_config("THROUGHPUT", model.precision, threads)
    compiled = core.compile_model(matmul_graph(shape), "CPU", config)
    queue = ov.AsyncInferQueue(compiled, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal((rows, width, shape["hidden"]), dtype=np.float32) for rows, width in shapes]

    def limit_round() -> float:
        started = time.perf_counter()
        for batch in inputs:
            queue.start_async({0: batch})
        queue.wait_all()
        return time.perf_counter() - started

    def embed_round() -> float:
        started = time.perf_counter()
        model.encode(texts, batch_size=batch_size, bulk=True)
        return time.perf_counter() - started

    embed_round(), limit_round()  # warm-up: every shape compiled and allocated once
    embed_s, limit_s = [], []
    for _ in range(rounds):
        embed_s.append(embed_round())
        limit_s.append(limit_round())
    achieved, limit = flops / min(embed_s) / 1e9, flops / min(limit_s) / 1e9
    return {
        "backend": "openvino",
        "precision": model.precision,
        "texts": len(texts),
        "batch_size": batch_size,
        "batches": len(shapes),
        "tokens_padded": sum(r * w for r, w in shapes),
        "matmul_gflop": round(flops / 1e9, 1),
        "embed_s": [round(s, 3) for s in embed_s],
        "limit_s": [round(s, 3) for s in limit_s],
        "abstracts_per_s": round(len(texts) / min(embed_s), 1),
        "achieved_gflops": round(achieved, 1),
        "limit_gflops": round(limit, 1),
        "share_of_limit": round(achieved / limit, 3),
        "model": shape,
    }


# Where the real model's time goes: OpenVINO's per-node counters, grouped. The attention block
# (scores, scale, mask, softmax, mixing) is one fused node on CPUs where OpenVINO fuses it and
# separate MatMul/Softmax/Add nodes where it does not; its nodes carry the converted op's name.
_ATTENTION = "scaled_dot_product_attention"
ATTENTION_GROUP = "attention block (scores, softmax, mixing)"
MATMUL_GROUP = "projections and feed-forward (matmuls)"


def _group(node_name: str, node_type: str) -> str:
    if _ATTENTION in node_name or node_type in ("Softmax", "MatMul"):
        return ATTENTION_GROUP
    if node_type == "FullyConnected":
        return MATMUL_GROUP
    if node_type in ("MVN", "MulAdd") or "LayerNorm" in node_name or "layer_norm" in node_name:
        return "layer norms"
    return f"other: {node_type}"


def op_profile(*, texts: list[str], batch_size: int) -> dict[str, Any]:
    """Seconds per group of the model's nodes, one request after a warm-up, on the embedder's
    own batches and precision; and the share of the CPU's limit embedding could reach if
    everything but the matmuls and the attention block took no time (``ceiling``: the real
    model's matmul work over those nodes' time, against the limit measured beside it)."""
    import openvino as ov

    model = embedder.get_model("openvino")
    core = ov.Core()
    config = embedder._openvino_config("THROUGHPUT", model.precision, int(getattr(model, "_threads", 0) or 0))
    config["PERF_COUNT"] = True
    compiled = core.compile_model(str(model._export), "CPU", config)  # type: ignore[attr-defined]
    request = compiled.create_infer_request()
    names = {i.get_any_name() for i in compiled.inputs}
    feeds = [{k: v for k, v in batch.items() if k in names} for batch in _bulk_batches(texts, batch_size=batch_size)]
    for feed in feeds:
        request.infer(feed)  # warm-up: every shape compiled once
    groups: dict[str, float] = {}
    kinds: dict[str, str] = {}
    for feed in feeds:
        request.infer(feed)
        for node in request.profiling_info:
            group = _group(node.node_name, node.node_type)
            groups[group] = groups.get(group, 0.0) + node.real_time.total_seconds()
            if group in (ATTENTION_GROUP, MATMUL_GROUP):
                kinds.setdefault(group, f"{node.node_type} ({node.exec_type})")
    total = sum(groups.values())
    rows = sorted(groups.items(), key=lambda kv: -kv[1])
    return {
        "request_s": round(total, 3),
        "groups": [{"group": g, "seconds": round(s, 3), "share": round(s / total, 3) if total else 0.0} for g, s in rows],
        "kernels": kinds,
        "matmul_and_attention_share": round((groups.get(ATTENTION_GROUP, 0.0) + groups.get(MATMUL_GROUP, 0.0)) / total, 3) if total else 0.0,
    }
