"""Sentence-transformer embedding with selectable backends; loaded lazily, once per process, after any fork.

Backends (setting ``EMBEDDING_BACKEND``):

- ``torch``: sentence-transformers itself (the reference, fp32).
- ``onnx``: the same weights exported locally to ONNX with ``torch.onnx`` and run by onnxruntime.
- ``openvino``: the same weights converted to OpenVINO IR (fp32) from the torch module and run by
  OpenVINO in fp32 or, on CPUs that have it, bf16: ``EMBEDDING_PRECISION`` (``auto``: whichever
  is faster on this CPU, measured once and cached: bf16 pays on some CPUs and loses on others,
  docs/speed.md). Both stay within the cosine to torch that docs/benchmarks.md reports.

The exported files are produced from the local model on first use and cached under
``EMBEDDING_CACHE_DIR`` (nothing is downloaded: invariant 7). Exported backends tokenise with the
model's own ``tokenizer.json`` (the fast tokenizer sentence-transformers uses), truncate at the
model's ``max_seq_length``, mean-pool over the attention mask and L2-normalise, exactly as the
model's sentence-transformers config says, so vectors match torch's (``manage.py bench_speed``
measures the cosine; docs/benchmarks.md has the numbers). Web processes on an exported backend never import torch.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from django.conf import settings

EMBEDDING_BACKENDS = ("torch", "onnx", "openvino")
OPENVINO_PRECISIONS = ("auto", "f32", "bf16")
# ``auto`` picks bf16 only when it takes at most this share of f32's time: it costs a little
# fidelity to torch (docs/speed.md), so it must clearly pay.
BF16_WORTH_IT = 0.85
# What ``auto`` times: eight abstract-length texts, the batch workers embed at a typical width.
CALIBRATION_BATCH = (8, 192)
# Bump when the export recipe changes, so stale cached exports are never reused.
EXPORT_VERSION = 3
ONNX_OPSET = 17
_INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")

logger = logging.getLogger(__name__)


class Encoder(Protocol):
    """What every backend offers (the subset of SentenceTransformer the app uses)."""

    backend: str
    precision: str  # what the model computes in: "f32", or "bf16" (OpenVINO, where it is faster)
    max_seq_length: int

    def encode(self, sentences: list[str], *, batch_size: int = 32, **kwargs: Any) -> np.ndarray: ...

    def get_sentence_embedding_dimension(self) -> int: ...

    def token_count(self, text: str) -> int: ...


_lock = threading.Lock()
_models: dict[str, Encoder] = {}
_model_pid: int | None = None


def configured_backend() -> str:
    """EMBEDDING_BACKEND (validated once, by the system check paperscope.E002)."""
    return str(settings.EMBEDDING_BACKEND)


def get_model(backend: str | None = None) -> Encoder:
    """Return this process's encoder for ``backend`` (default: the configured one), loading it once.

    The pid check means a forked child never reuses a parent's model (torch, onnxruntime and
    OpenVINO thread pools do not survive a fork).
    """
    global _model_pid
    backend = backend or configured_backend()
    if backend not in EMBEDDING_BACKENDS:
        raise RuntimeError(f"unknown embedding backend {backend!r}; choose one of {EMBEDDING_BACKENDS}")
    if _model_pid != os.getpid() or backend not in _models:
        with _lock:
            if _model_pid != os.getpid():
                _models.clear()
                _model_pid = os.getpid()
            if backend not in _models:
                path = _model_dir()
                _models[backend] = _TorchEncoder(path) if backend == "torch" else _ExportedEncoder(path, backend)
    return _models[backend]


def model_name() -> str:
    """The name stored with every vector and index build."""
    return str(settings.EMBEDDING_MODEL_NAME)


def encode(texts: Sequence[str], *, batch_size: int | None = None, bulk: bool = False) -> np.ndarray:
    """Embed texts as L2-normalised float32 rows (inner product = cosine) with the configured backend.

    ``bulk``: many texts where only the total time counts (workers embedding papers). OpenVINO
    then runs one inference stream per core, batches in flight together, instead of every core
    on one batch (the latency setting queries need); the vectors are the same.
    """
    if not texts:
        return np.zeros((0, embedding_dim()), dtype=np.float32)
    vectors = get_model().encode(
        list(texts),
        batch_size=batch_size or settings.EMBEDDING_BATCH_SIZE,
        bulk=bulk,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)


def encode_query(text: str) -> np.ndarray:
    """Embed one query (a question or a pasted abstract) as a 1 x dim float32 array."""
    return encode([text], batch_size=1)


def embedding_dim() -> int:
    """Dimension of the configured model's vectors."""
    return int(get_model().get_sentence_embedding_dimension() or 0)


def is_truncated(text: str) -> bool:
    """Whether the text is longer than the model's window (only its start is embedded)."""
    model = get_model()
    # Character pre-check avoids tokenising short queries on the hot path.
    if len(text) < model.max_seq_length * 2:
        return False
    return model.token_count(text) > model.max_seq_length


# --- backends --------------------------------------------------------------------------------


def _model_dir() -> Path:
    # A local model directory: the system check paperscope.E001 refuses anything else at startup.
    return Path(settings.EMBEDDING_MODEL)


def model_dimension(path: Path) -> int | None:
    """The dimension of the vectors the model at ``path`` makes, read from its configuration
    files without loading it (None when they do not say): the last Dense module's output, else
    the Pooling module's input width, else the transformer's hidden size."""
    dim: int | None = None
    for module in _modules(path):
        config = _read_json(path / module.get("path", "") / "config.json")
        if module.get("type", "").endswith("Dense") and config.get("out_features"):
            dim = int(config["out_features"])
        elif module.get("type", "").endswith("Pooling") and config.get("word_embedding_dimension") and dim is None:
            dim = int(config["word_embedding_dimension"])
    if dim is None and _read_json(path / "config.json").get("hidden_size"):
        dim = int(_read_json(path / "config.json")["hidden_size"])
    return dim


def _set_torch_threads() -> None:
    import torch

    if settings.EMBEDDING_THREADS:
        torch.set_num_threads(settings.EMBEDDING_THREADS)


class _TorchEncoder:
    """sentence-transformers on torch: the reference every other backend is measured against."""

    backend = "torch"
    precision = "f32"

    def __init__(self, path: Path) -> None:
        from sentence_transformers import SentenceTransformer

        _set_torch_threads()
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        if self.model.max_seq_length is None:
            raise ValueError(f"the model at {path} declares no max_seq_length")
        self.max_seq_length: int = self.model.max_seq_length

    def encode(self, sentences: list[str], *, batch_size: int = 32, **kwargs: Any) -> np.ndarray:
        kwargs.pop("bulk", None)  # torch has one way to run
        kwargs.setdefault("normalize_embeddings", True)
        kwargs.setdefault("convert_to_numpy", True)
        kwargs.setdefault("show_progress_bar", False)
        return np.asarray(self.model.encode(sentences, batch_size=batch_size, **kwargs), dtype=np.float32)

    def get_sentence_embedding_dimension(self) -> int:
        # sentence-transformers 6 renamed the method; keep working with either name.
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(dimension() or 0)

    def token_count(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


class _ExportedEncoder:
    """An exported copy of the model run by onnxruntime or OpenVINO, pooled as the ST config says."""

    def __init__(self, path: Path, backend: str) -> None:
        from tokenizers import Tokenizer

        self.backend = backend
        self.precision = "f32"  # the inference precision; OpenVINO's is chosen below
        st_config = _read_json(path / "sentence_bert_config.json")
        self.max_seq_length = int(st_config.get("max_seq_length") or 512)
        self._lower_case = bool(st_config.get("do_lower_case", False))
        self._pooling = _pooling_mode(path)
        self._normalize = any(m.get("type", "").endswith("Normalize") for m in _modules(path))
        self._dim = int(_read_json(path / "config.json").get("hidden_size") or 0)
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._counter = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._counter.no_padding()
        self._counter.no_truncation()
        self._pad_id = int(self.tokenizer.token_to_id("[PAD]") or 0)
        export = exported_model(path, backend=backend)
        threads = int(settings.EMBEDDING_THREADS or 0)
        if backend == "onnx":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if threads:
                options.intra_op_num_threads = threads
            self._session = ort.InferenceSession(str(export), options, providers=["CPUExecutionProvider"])
            self._inputs = {i.name for i in self._session.get_inputs()}
            self._run = self._run_onnx
        else:
            import openvino as ov

            self._core, self._export, self._threads = ov.Core(), export, threads
            self.precision = openvino_precision(self._core, export, threads=threads, vocab=self.tokenizer.get_vocab_size())
            self._compiled = self._core.compile_model(str(export), "CPU", _openvino_config("LATENCY", self.precision, threads))
            self._request = self._compiled.create_infer_request()
            self._infer_lock = threading.Lock()
            self._inputs = {i.get_any_name() for i in self._compiled.inputs}
            self._run = self._run_openvino
            self._bulk_queue: Any = None  # compiled on the first bulk call (workers only)
            self._bulk_lock = threading.Lock()

    def _run_onnx(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0])

    def _run_openvino(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        # CompiledModel.__call__ shares one request between threads, so concurrent gunicorn
        # threads would overwrite each other's outputs. One request behind a lock instead of
        # one per thread: each request keeps its own activation arena (memory per thread),
        # and one inference already uses every core.
        with self._infer_lock:
            self._request.infer({k: v for k, v in feeds.items() if k in self._inputs})
            return np.array(self._request.get_output_tensor(0).data, copy=True)

    def _features(self, texts: list[str]) -> list[Any]:
        texts = [t.strip() for t in texts]
        if self._lower_case:
            texts = [t.lower() for t in texts]
        return list(self.tokenizer.encode_batch(texts))

    def encode(self, sentences: list[str], *, batch_size: int = 32, **kwargs: Any) -> np.ndarray:
        if isinstance(sentences, str):
            sentences = [sentences]
        encodings = self._features(list(sentences))
        out = np.zeros((len(encodings), self._dim), dtype=np.float32)
        bulk = bool(kwargs.get("bulk"))
        # Longest first, like sentence-transformers: similar lengths share a batch, less padding.
        order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
        batches = [self._batch(encodings, order[s : s + batch_size], bulk=bulk) for s in range(0, len(order), max(1, batch_size))]
        # One thread (a Celery worker process on its share of the cores) has one stream anyway.
        if bulk and self.backend == "openvino" and len(batches) > 1 and self._threads != 1:
            self._run_bulk(batches, out)
        else:
            for chunk, feeds in batches:
                out[chunk] = _pool(self._run(feeds).astype(np.float32, copy=False), feeds["attention_mask"], self._pooling)
        if self._normalize or kwargs.get("normalize_embeddings", True):
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.maximum(norms, 1e-12)
        return out

    def _batch(self, encodings: list[Any], chunk: list[int], *, bulk: bool = False) -> tuple[list[int], dict[str, np.ndarray]]:
        """One padded batch of token ids, attention mask and token types for the rows ``chunk``."""
        width = padded_width(max(len(encodings[i].ids) for i in chunk), self.max_seq_length, bulk=bulk)
        ids = np.full((len(chunk), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(chunk), width), dtype=np.int64)
        types = np.zeros((len(chunk), width), dtype=np.int64)
        for row, i in enumerate(chunk):
            enc = encodings[i]
            n = len(enc.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = enc.ids, enc.attention_mask, enc.type_ids
        return chunk, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    def _run_bulk(self, batches: list[tuple[list[int], dict[str, np.ndarray]]], out: np.ndarray) -> None:
        """Batches in flight on OpenVINO's throughput streams (one per core here): faster than
        the latency setting on abstracts (docs/speed.md); same vectors."""
        import openvino as ov

        with self._bulk_lock:
            if self._bulk_queue is None:
                compiled = self._core.compile_model(str(self._export), "CPU", _openvino_config("THROUGHPUT", self.precision, self._threads))
                self._bulk_queue = ov.AsyncInferQueue(compiled, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))

            def done(request: Any, job: tuple[list[int], np.ndarray]) -> None:
                chunk, mask = job
                hidden = request.get_output_tensor(0).data
                out[chunk] = _pool(hidden.astype(np.float32, copy=False), mask, self._pooling)

            self._bulk_queue.set_callback(done)
            for chunk, feeds in batches:
                self._bulk_queue.start_async({k: v for k, v in feeds.items() if k in self._inputs}, (chunk, feeds["attention_mask"]))
            self._bulk_queue.wait_all()

    def get_sentence_embedding_dimension(self) -> int:
        return self._dim

    def token_count(self, text: str) -> int:
        return len(self._counter.encode(text.strip()).ids)


def padded_width(width: int, limit: int, *, bulk: bool = False) -> int:
    """The sequence length a batch is padded to: a multiple of 8 up to 64 tokens, 32 up to 128, 64 above.

    OpenVINO keeps memory for every distinct input shape it has run (docs/benchmarks.md measured
    a web process growing with each new query length), so a dozen lengths bound it; steps stay small where queries are, because every padded token costs as
    much compute as a real one. Padding is masked out of attention and pooling, so the vectors
    do not change (tests/search compare them).

    ``bulk`` (papers, in workers and commands): a multiple of 8 at every length. Abstracts fill
    the long lengths, where the coarse steps pad several times more tokens than steps of 8; in
    bulk the extra shapes cost no measurable memory and embedding ran faster (docs/benchmarks.md).
    """
    step = 8 if bulk or width <= 64 else 32 if width <= 128 else 64
    return max(width, min(-(-width // step) * step, limit))


def _modules(path: Path) -> list[dict[str, Any]]:
    modules = json.loads((path / "modules.json").read_text()) if (path / "modules.json").is_file() else []
    return list(modules)


def _pooling_mode(path: Path) -> str:
    for module in _modules(path):
        if module.get("type", "").endswith("Pooling"):
            config = _read_json(path / module.get("path", "") / "config.json")
            modes = [m for m in ("cls_token", "mean_tokens", "max_tokens") if config.get(f"pooling_mode_{m}")]
            extra = [k for k, v in config.items() if k.startswith("pooling_mode_") and v and k[13:] not in modes]
            if len(modes) != 1 or extra:
                raise RuntimeError(f"exported backends support one of cls/mean/max pooling, model has {config}")
            return modes[0]
    raise RuntimeError(f"{path} has no sentence-transformers Pooling module")


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    if mode == "cls_token":
        return hidden[:, 0]
    weights = mask[..., None].astype(np.float32)
    if mode == "max_tokens":
        return np.where(weights > 0, hidden, -1e9).max(axis=1)
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


# --- local export (cached) ---------------------------------------------------------------------


def _export_key(path: Path) -> str:
    """Identifies the weights cheaply (paths, sizes, mtimes) plus the export recipe."""
    facts: list[object] = [EXPORT_VERSION, ONNX_OPSET, str(path.resolve())]
    for name in sorted(os.listdir(path)):
        stat = (path / name).stat()
        facts.append((name, stat.st_size, stat.st_mtime_ns))
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()[:16]


def export_dir(path: Path | None = None) -> Path:
    """Where this model's exported files live (under EMBEDDING_CACHE_DIR)."""
    path = path or _model_dir()
    return Path(settings.EMBEDDING_CACHE_DIR) / f"{path.resolve().name}-{_export_key(path)}"


def exported_model(path: Path, *, backend: str) -> Path:
    """The model file for ``backend`` (``onnx/model.onnx`` or ``openvino/model.xml``), exporting it once.

    Each backend's export is made from the torch module on its own (the OpenVINO one needs no
    ONNX file), under a file lock, and lands by atomic rename, so concurrent workers never read
    a half-written model.
    """
    if backend not in ("onnx", "openvino"):
        raise ValueError(f"only the onnx and openvino backends are exported, not {backend!r}")
    target = export_dir(path)
    wanted = target / backend / ("model.onnx" if backend == "onnx" else "model.xml")
    if wanted.is_file():
        return wanted
    target.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not wanted.is_file():
            staging = Path(tempfile.mkdtemp(dir=target, prefix=f".{backend}."))
            try:
                (_export_onnx if backend == "onnx" else _export_openvino)(path, staging)
                (staging / "source.json").write_text(json.dumps(_source_facts(path)))
                if (target / backend).exists():  # an incomplete earlier export (no model file)
                    shutil.rmtree(target / backend)
                os.replace(staging, target / backend)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    return wanted


def _source_facts(path: Path) -> dict[str, Any]:
    import torch

    return {"model": str(path), "export_version": EXPORT_VERSION, "opset": ONNX_OPSET, "torch": torch.__version__}


def _last_hidden_module(path: Path) -> Any:
    """The packaged transformer as a torch module from token ids to its last hidden states."""
    import torch
    from transformers import AutoModel

    _set_torch_threads()
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    return LastHidden(model)


def _export_onnx(path: Path, staging: Path) -> None:
    import torch

    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in _INPUT_NAMES)
    with torch.no_grad():
        torch.onnx.export(
            _last_hidden_module(path),
            example,
            str(staging / "model.onnx"),
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles dynamic axes
            input_names=list(_INPUT_NAMES),
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in (*_INPUT_NAMES, "last_hidden_state")},
            opset_version=ONNX_OPSET,
        )


def _export_openvino(path: Path, staging: Path) -> None:
    """Convert the torch module itself (not an ONNX file): OpenVINO's PyTorch frontend keeps the
    attention block whole, and the result embeds faster than the ONNX route (docs/speed.md)."""
    import openvino as ov
    import torch

    example = {name: torch.ones((2, 16), dtype=torch.int64) for name in _INPUT_NAMES}
    with torch.no_grad():
        model = ov.convert_model(
            _last_hidden_module(path),
            example_input=example,
            input=[(name, [-1, -1], ov.Type.i64) for name in _INPUT_NAMES],
        )
    # fp32 weights in the file; the precision OpenVINO computes in is chosen per CPU when the
    # model is compiled (openvino_precision below).
    ov.save_model(model, str(staging / "model.xml"), compress_to_fp16=False)


# --- OpenVINO inference precision (measured once per CPU) ----------------------------------------


def openvino_precision(core: Any, export: Path, *, threads: int, vocab: int) -> str:
    """The precision OpenVINO runs the model in here: ``EMBEDDING_PRECISION``, or for ``auto``
    f32 on CPUs without bf16 and otherwise whichever of f32 and bf16 embeds faster on this CPU.

    Whether bf16 pays depends on the CPU, not on its flags alone (docs/speed.md: it wins on some
    CPUs with AVX512_BF16 and loses on others). So ``auto`` times both once per CPU (a couple of
    seconds, with the first process's threads; where bf16 lost, it lost at every thread count
    measured) and caches the answer in
    ``<export>/precision.json``, which a Docker build fills for its own CPU; processes starting
    together wait for the first one's answer.
    """
    wanted = str(settings.EMBEDDING_PRECISION)  # auto, f32 or bf16: system check paperscope.E003
    has_bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if wanted == "bf16" and not has_bf16:
        raise RuntimeError("EMBEDDING_PRECISION=bf16, but this CPU has no bf16 support in OpenVINO; use auto or f32")
    if wanted != "auto":
        return wanted
    if not has_bf16:
        return "f32"
    cache = export.parent / "precision.json"
    key = _cpu_key(core)
    try:
        lock = open(export.parent / ".precision.lock", "a+")  # noqa: SIM115 - closed by the with
    except OSError:  # a read-only cache (the image's, on another CPU): measure, do not keep
        lock = None
    with lock or contextlib.nullcontext():
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        known = _read_json(cache)
        if key not in known:
            seconds = _time_precisions(core, export, threads=threads, vocab=vocab)
            choice = "bf16" if seconds["bf16"] <= BF16_WORTH_IT * seconds["f32"] else "f32"
            known[key] = {"precision": choice, "seconds_per_batch": seconds, "batch": list(CALIBRATION_BATCH), "threads": threads}
            logger.info(
                "OpenVINO precision on this CPU: %s (one batch of %dx%d tokens: f32 %.0f ms, bf16 %.0f ms)%s",
                choice, *CALIBRATION_BATCH, seconds["f32"] * 1000, seconds["bf16"] * 1000,
                f"; cached in {cache}" if lock is not None else f"; {cache.parent} is read-only, so every process measures (set EMBEDDING_PRECISION to skip it)",
            )
            if lock is not None:
                staging = cache.with_name(f".precision.{os.getpid()}.json")
                staging.write_text(json.dumps(known, indent=1, sort_keys=True))
                os.replace(staging, cache)
    return str(known[key]["precision"])


def _openvino_config(hint: str, precision: str, threads: int) -> dict[str, Any]:
    """compile_model's settings: the performance hint, the inference precision, threads (0: all)."""
    config: dict[str, Any] = {"PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": precision}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    return config


def _time_precisions(core: Any, export: Path, *, threads: int, vocab: int) -> dict[str, float]:
    """Seconds per calibration batch in f32 and bf16: best of 3 interleaved runs after a warm-up."""
    rows, width = CALIBRATION_BATCH
    ids = np.random.default_rng(0).integers(1000, max(1001, min(vocab, 30000)), size=(rows, width), dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    requests = {}
    for precision in ("f32", "bf16"):
        compiled = core.compile_model(str(export), "CPU", _openvino_config("LATENCY", precision, threads))
        request = compiled.create_infer_request()
        names = {i.get_any_name() for i in compiled.inputs}
        inputs = {k: v for k, v in feeds.items() if k in names}
        request.infer(inputs)  # warm-up: first-call allocations
        requests[precision] = (request, inputs)
    best = {precision: float("inf") for precision in requests}
    for _ in range(3):
        for precision, (request, inputs) in requests.items():
            started = time.perf_counter()
            request.infer(inputs)
            best[precision] = min(best[precision], time.perf_counter() - started)
    return {precision: round(seconds, 5) for precision, seconds in best.items()}


def _cpu_key(core: Any) -> str:
    """This CPU (model, stepping, flags, count) and the OpenVINO version, hashed."""
    import openvino as ov

    facts: list[str] = [ov.__version__, str(core.get_property("CPU", "FULL_DEVICE_NAME")), str(os.cpu_count())]
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break  # the first processor describes them all
                name = line.split(":", 1)[0].strip()
                if name in ("vendor_id", "cpu family", "model", "model name", "stepping", "flags"):
                    facts.append(line.strip())
    except OSError:
        pass
    return hashlib.sha256("\n".join(facts).encode()).hexdigest()[:16]
