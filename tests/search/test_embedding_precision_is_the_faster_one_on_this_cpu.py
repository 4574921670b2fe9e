"""OpenVINO computes in f32 or bf16, whichever is faster on the CPU it runs on (EMBEDDING_PRECISION=auto).

bf16 halved the time on AMD EPYC Zen 4/5 and took 1.6x longer on an Intel Xeon whose AMX the VM
hides, so the choice is measured once per CPU, cached, and never guessed from the flags alone.

The decision rule and its cache are tested on planned timings (the ``timings`` fixture); the last
tests measure for real on this CPU, and check that auto's choice is the faster one here.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from search import embedder

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


class _Core:
    """What openvino_precision asks of ov.Core, for a CPU with the given capabilities."""

    def __init__(self, capabilities: list[str], name: str = "Test CPU") -> None:
        self.capabilities, self.name = capabilities, name

    def get_property(self, device: str, name: str) -> Any:
        assert device == "CPU"
        return {"OPTIMIZATION_CAPABILITIES": self.capabilities, "FULL_DEVICE_NAME": self.name}[name]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    (tmp_path / "openvino").mkdir()
    return tmp_path / "openvino" / "model.xml"


@pytest.fixture
def timings(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, float]]:
    """Seconds per batch the next measurements report; each measurement is recorded."""
    planned: list[dict[str, float]] = []
    measured: list[dict[str, float]] = []

    def fake(core: Any, export: Path, *, threads: int, vocab: int) -> dict[str, float]:
        time.sleep(0.05)  # long enough for concurrent callers to overlap
        measured.append(planned.pop(0))
        return measured[-1]

    monkeypatch.setattr(embedder, "_time_precisions", fake)
    planned.append({"f32": 0.200, "bf16": 0.100})
    return planned


def test_auto_keeps_bf16_where_it_is_clearly_faster_and_caches_the_answer(export: Path, timings: list, settings: Any) -> None:
    settings.EMBEDDING_PRECISION = "auto"
    core = _Core(["FP32", "BF16", "INT8"])
    assert embedder.openvino_precision(core, export, threads=1, vocab=30522) == "bf16"
    cached = json.loads((export.parent / "precision.json").read_text())
    (entry,) = cached.values()
    assert entry["precision"] == "bf16" and entry["seconds_per_batch"] == {"f32": 0.2, "bf16": 0.1}
    # Measured once: later processes on this CPU read the answer (a second timing would fail).
    assert embedder.openvino_precision(core, export, threads=1, vocab=30522) == "bf16"
    assert timings == []


def test_auto_keeps_f32_where_bf16_is_slower_or_barely_faster(export: Path, timings: list, settings: Any) -> None:
    settings.EMBEDDING_PRECISION = "auto"
    timings[0] = {"f32": 0.160, "bf16": 0.241}  # this Intel Xeon's numbers
    assert embedder.openvino_precision(_Core(["FP32", "BF16"]), export, threads=1, vocab=30522) == "f32"
    timings.append({"f32": 0.200, "bf16": 0.180})  # 10% faster does not pay for the fidelity
    assert embedder.openvino_precision(_Core(["FP32", "BF16"], name="Other CPU"), export, threads=1, vocab=30522) == "f32"
    assert len(json.loads((export.parent / "precision.json").read_text())) == 2


def test_another_cpu_is_measured_again_a_thread_count_is_not(export: Path, timings: list, settings: Any) -> None:
    settings.EMBEDDING_PRECISION = "auto"
    assert embedder.openvino_precision(_Core(["FP32", "BF16"]), export, threads=1, vocab=30522) == "bf16"
    # Same CPU, other threads (a web worker after a Docker build's warm-up): the cached answer.
    assert embedder.openvino_precision(_Core(["FP32", "BF16"]), export, threads=2, vocab=30522) == "bf16"
    timings.append({"f32": 0.1, "bf16": 0.3})
    assert embedder.openvino_precision(_Core(["FP32", "BF16"], name="Another CPU"), export, threads=1, vocab=30522) == "f32"
    assert timings == []


def test_a_cpu_without_bf16_uses_f32_without_measuring(export: Path, timings: list, settings: Any) -> None:
    settings.EMBEDDING_PRECISION = "auto"
    assert embedder.openvino_precision(_Core(["FP32", "INT8"]), export, threads=1, vocab=30522) == "f32"
    assert len(timings) == 1 and not (export.parent / "precision.json").exists()


def test_processes_starting_together_measure_once(export: Path, timings: list, settings: Any) -> None:
    settings.EMBEDDING_PRECISION = "auto"
    answers: list[str] = []
    callers = [
        threading.Thread(target=lambda: answers.append(embedder.openvino_precision(_Core(["BF16"]), export, threads=1, vocab=30522)))
        for _ in range(4)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert answers == ["bf16"] * 4 and timings == []


def test_an_explicit_precision_is_used_as_set_and_bf16_is_refused_where_missing(export: Path, timings: list, settings: Any) -> None:
    settings.EMBEDDING_PRECISION = "f32"
    assert embedder.openvino_precision(_Core(["FP32", "BF16"]), export, threads=1, vocab=30522) == "f32"
    settings.EMBEDDING_PRECISION = "bf16"
    assert embedder.openvino_precision(_Core(["FP32", "BF16"]), export, threads=1, vocab=30522) == "bf16"
    with pytest.raises(RuntimeError, match="no bf16"):
        embedder.openvino_precision(_Core(["FP32"]), export, threads=1, vocab=30522)
    assert len(timings) == 1  # nothing was measured


def test_the_real_measurement_times_both_precisions_on_this_cpu() -> None:
    import openvino as ov

    core = ov.Core()
    if "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        pytest.skip("this CPU has no bf16 in OpenVINO: auto uses f32 without measuring")
    export = embedder.exported_model(embedder._model_dir(), backend="openvino")
    seconds = embedder._time_precisions(core, export, threads=1, vocab=30522)
    assert set(seconds) == {"f32", "bf16"}
    assert all(0 < s < 30 for s in seconds.values())


@pytest.mark.parametrize("precision", ["f32", "auto"])
def test_the_encoder_computes_in_the_chosen_precision(precision: str, settings: Any) -> None:
    settings.EMBEDDING_PRECISION = precision
    model = embedder._ExportedEncoder(embedder._model_dir(), "openvino")
    assert model.precision in ("f32", "bf16")
    if precision == "f32":
        assert model.precision == "f32"
    compiled = str(model._compiled.get_property("INFERENCE_PRECISION_HINT"))
    assert ("bfloat16" if model.precision == "bf16" else "float32") in compiled
    texts = ["Graph neural networks for molecule property prediction.", "protein folding"]
    reference = embedder.get_model("torch").encode(texts, batch_size=8)
    vectors = model.encode(texts, batch_size=8)
    # f32 is the torch computation reordered; bf16 rounds every product's inputs.
    assert float((vectors * reference).sum(axis=1).min()) >= (0.999999 if model.precision == "f32" else 0.9999)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_auto_picks_the_precision_that_really_embeds_real_abstracts_faster_on_this_cpu(tmp_path: Path, settings: Any) -> None:
    """The tests above check the decision rule on planned timings; this one checks the claim of
    this file's name on this machine: auto's choice, measured afresh, is the precision that
    embeds real abstracts faster here, timed independently through the encoder itself."""
    import shutil
    import statistics

    import openvino as ov

    from tests.conftest import LISTING

    core = ov.Core()
    if "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        pytest.skip("this CPU has no bf16 in OpenVINO: auto uses f32 without measuring")
    settings.EMBEDDING_THREADS = 1
    export = embedder.exported_model(embedder._model_dir(), backend="openvino")
    fresh = tmp_path / "openvino"
    shutil.copytree(export.parent, fresh, ignore=shutil.ignore_patterns("precision.json", ".precision.lock"))
    settings.EMBEDDING_PRECISION = "auto"
    chosen = embedder.openvino_precision(core, fresh / export.name, threads=1, vocab=30522)

    abstracts = [line for line in LISTING.read_text().splitlines() if len(line) > 200][:16]
    assert len(abstracts) == 16
    seconds = {}
    for precision in ("f32", "bf16"):
        settings.EMBEDDING_PRECISION = precision
        encoder = embedder._ExportedEncoder(embedder._model_dir(), "openvino")
        encoder.encode(abstracts, batch_size=8)  # warm-up
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            encoder.encode(abstracts, batch_size=8)
            runs.append(time.perf_counter() - started)
        seconds[precision] = statistics.median(runs)
    print(f"auto chose {chosen}; real abstracts, median of 5: f32 {seconds['f32']:.3f} s, bf16 {seconds['bf16']:.3f} s")
    if chosen == "bf16":
        assert seconds["bf16"] < seconds["f32"], seconds
    else:  # f32 unless bf16 is clearly faster (BF16_WORTH_IT); allow 10% noise on a shared machine
        assert seconds["bf16"] > embedder.BF16_WORTH_IT * seconds["f32"] * 0.9, seconds
