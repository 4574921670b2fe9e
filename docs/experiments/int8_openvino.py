"""Experiment (not part of the app): can int8 OpenVINO make embedding faster at cosine >= 0.999?

Run in a separate virtual environment: NNCF depends on the PyPI package `ninja` (the build tool),
whose `ninja/__init__.py` overwrites django-ninja's in the same environment and breaks the API.

    python3 -m venv /tmp/nncf-venv && /tmp/nncf-venv/bin/pip install -r requirements.txt nncf==3.4.0
    cd /work/main && /tmp/nncf-venv/bin/python docs/experiments/int8_openvino.py

It quantizes the exported fp32 OpenVINO model (EMBEDDING_CACHE_DIR, made by the app on first use)
three ways with NNCF, calibrated on 200 arXiv abstracts (disjoint from the evaluation texts), and
prints abstracts/s and cosine to fp32 on 256 other abstracts, and per-query CPU ms on 200 titles.
Results on the 2-core machine are in docs/benchmarks.md ("int8").
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["HF_HUB_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django

django.setup()

import nncf
import numpy as np
import openvino as ov

from search import embedder
from bench import corpus

papers = list(corpus.read_papers(limit=20_000))
calibration = [p.text for p in papers[10_000:10_200]]
abstracts = [p.text for p in papers[:256]]
titles = [p.title for p in list(corpus.read_papers())[-200:]]
model = embedder.get_model("openvino")
fp32_path = embedder.exported_model(embedder._model_dir(), backend="openvino")
out = Path(os.environ.get("OUT", "var/int8-experiment"))
out.mkdir(parents=True, exist_ok=True)


def features(text: str) -> dict[str, np.ndarray]:
    ids = model.tokenizer.encode(text.strip()).ids
    return {
        "input_ids": np.array([ids], dtype=np.int64),
        "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
        "token_type_ids": np.zeros((1, len(ids)), dtype=np.int64),
    }


def variants() -> dict[str, Path]:
    paths = {"fp32": fp32_path}
    source = ov.Core().read_model(str(fp32_path))
    dataset = nncf.Dataset(calibration, features)
    static = nncf.quantize(source, dataset, model_type=nncf.ModelType.TRANSFORMER, subset_size=len(calibration))
    ov.save_model(static, str(out / "static.xml"))
    paths["int8 static (weights + activations)"] = out / "static.xml"
    source = ov.Core().read_model(str(fp32_path))
    keep_ffn = nncf.quantize(
        source,
        dataset,
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(calibration),
        ignored_scope=nncf.IgnoredScope(patterns=[r".*/output/dense/MatMul"]),
    )
    ov.save_model(keep_ffn, str(out / "static-ffn-out-fp32.xml"))
    paths["int8 static, FFN output layers fp32"] = out / "static-ffn-out-fp32.xml"
    weights = nncf.compress_weights(ov.Core().read_model(str(fp32_path)), mode=nncf.CompressWeightsMode.INT8_ASYM)
    ov.save_model(weights, str(out / "weights.xml"), compress_to_fp16=False)
    paths["int8 weights only"] = out / "weights.xml"
    return paths


def use(path: Path) -> None:
    model._compiled = ov.Core().compile_model(str(path), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    model._request = model._compiled.create_infer_request()


rows = []
reference = None
for name, path in variants().items():
    use(path)
    model.encode(abstracts[:8], batch_size=8)
    rates = []
    for _ in range(2):
        started = time.perf_counter()
        vectors = model.encode(abstracts, batch_size=16)
        rates.append(len(abstracts) / (time.perf_counter() - started))
    cpu = []
    for title in titles:
        started = time.process_time()
        model.encode([title], batch_size=1)
        cpu.append(time.process_time() - started)
    if reference is None:
        reference = vectors
    cosine = (vectors * reference).sum(axis=1)
    rows.append((name, max(rates), float(cosine.min()), float(cosine.mean()), statistics.median(cpu) * 1000))

print(f"load average {os.getloadavg()[0]:.2f}")
print("| model | abstracts/s | cosine min | cosine mean | query CPU p50 ms |")
print("|---|---|---|---|---|")
for name, rate, low, mean, query in rows:
    print(f"| {name} | {rate:.1f} | {low:.4f} | {mean:.4f} | {query:.1f} |")
