"""Experiment (not part of the app): does an int8 model that runs inside the app's own
environment make bulk embedding faster than the app's OpenVINO model?

The issue allows an int8 opt-in for bulk embedding only if SciFact nDCG@10 stays within 0.005 of
f32. NNCF (OpenVINO's int8 tool, docs/experiments/int8_openvino.py) cannot share the app's
environment; onnxruntime's quantizers can. This script compares, on 256 real arXiv abstracts,
one thread each, the best of 2 timed passes (texts sorted and batched by 8 as workers batch them):

- onnxruntime f32: the app's ``onnx`` backend;
- OpenVINO f32 and bf16 (where the CPU has it): the app's default backend;
- onnxruntime int8, dynamic (weights int8 per channel, activations quantized per batch):
  ``onnxruntime.quantization.quantize_dynamic`` on the app's ONNX export;
- OpenVINO running onnxruntime's static QDQ int8 model (u8 activations calibrated by min/max
  on 128 other abstracts, int8 weights per channel; MatMuls only).

and the cosine of each one's vectors to onnxruntime f32's.

    cd /work/main && .venv/bin/python docs/experiments/int8_onnxruntime.py

Results are in docs/benchmarks.md ("int8 inside the app's environment").
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["EMBEDDING_THREADS"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django

django.setup()

import numpy as np
import onnxruntime as ort
import openvino as ov
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from bench import corpus
from search import embedder

logging.getLogger().setLevel(logging.WARNING)  # the quantizers log every tensor
papers = list(corpus.read_papers(limit=20_000))
abstracts = [p.text for p in papers[:256]]
calibration = [p.text for p in papers[10_000:10_128]]
out = Path(os.environ.get("OUT", "var/int8-onnxruntime")).resolve()
out.mkdir(parents=True, exist_ok=True)

onnx_f32 = embedder.get_model("onnx")
openvino = embedder.get_model("openvino")
source = embedder.exported_model(embedder._model_dir(), backend="onnx")


def with_session(path: Path) -> Any:
    """The app's onnx encoder (tokenising, batching, pooling) running another ONNX file."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    encoder = object.__new__(type(onnx_f32))
    encoder.__dict__.update(onnx_f32.__dict__)
    encoder._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    encoder._inputs = {i.name for i in encoder._session.get_inputs()}
    encoder._run = encoder._run_onnx
    return encoder


def with_openvino(path: Path, precision: str) -> Any:
    """The app's OpenVINO encoder compiling another model file or precision."""
    encoder = object.__new__(type(openvino))
    encoder.__dict__.update(openvino.__dict__)
    compiled = ov.Core().compile_model(str(path), "CPU", embedder._openvino_config("LATENCY", precision, 1))
    encoder._compiled, encoder._request = compiled, compiled.create_infer_request()
    encoder._inputs = {i.get_any_name() for i in compiled.inputs}
    encoder.precision = precision
    encoder._run = encoder._run_openvino  # bound to this encoder's request, not the copied one's
    return encoder


class _Calibration(CalibrationDataReader):
    def __init__(self) -> None:
        encodings = onnx_f32._features(calibration)
        self.items = iter([onnx_f32._batch(encodings, [i])[1] for i in range(len(calibration))])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.items, None)


os.chdir(out)  # the quantizers leave temporary files in the working directory
dynamic = out / "model.int8-dynamic.onnx"
if not dynamic.exists():
    quantize_dynamic(str(source), str(dynamic), weight_type=QuantType.QInt8, per_channel=True)
static = out / "model.int8-qdq.onnx"
if not static.exists():
    prepared = out / "model.prepared.onnx"
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared), str(static), _Calibration(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"],
    )

export = embedder.exported_model(embedder._model_dir(), backend="openvino")
has_bf16 = "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
variants = {
    "onnxruntime f32": with_session(source),
    "OpenVINO f32": with_openvino(export, "f32"),
    **({"OpenVINO bf16": with_openvino(export, "bf16")} if has_bf16 else {}),
    "onnxruntime int8 dynamic": with_session(dynamic),
    "OpenVINO running the static QDQ int8 model": with_openvino(static, "f32"),
}
best = dict.fromkeys(variants, float("inf"))
vectors: dict[str, np.ndarray] = {}
for _ in range(2):  # interleaved passes
    for name, encoder in variants.items():
        started = time.perf_counter()
        vectors[name] = encoder.encode(abstracts, batch_size=8)
        best[name] = min(best[name], time.perf_counter() - started)
print(f"{'model':45s} abstracts/s  cosine min  cosine mean")
for name in variants:
    cosine = (vectors["onnxruntime f32"] * vectors[name]).sum(axis=1)
    print(f"{name:45s} {len(abstracts) / best[name]:11.1f}  {cosine.min():10.4f}  {cosine.mean():11.4f}")
