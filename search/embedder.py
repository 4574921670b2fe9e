"""Sentence-transformer embedding: the model loads lazily, once per process, after any fork."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_lock = threading.Lock()
_model: SentenceTransformer | None = None
_model_pid: int | None = None


def get_model() -> SentenceTransformer:
    """Return this process's model, loading it from the local path on first use.

    The pid check means a forked child never reuses a parent's model (torch thread pools do
    not survive a fork).
    """
    global _model, _model_pid
    if _model is None or _model_pid != os.getpid():
        with _lock:
            if _model is None or _model_pid != os.getpid():
                import torch
                from sentence_transformers import SentenceTransformer

                if settings.EMBEDDING_THREADS:
                    torch.set_num_threads(settings.EMBEDDING_THREADS)
                if not settings.EMBEDDING_MODEL or not os.path.isdir(settings.EMBEDDING_MODEL):
                    raise RuntimeError(f"EMBEDDING_MODEL is not a local model directory: {settings.EMBEDDING_MODEL!r}")
                _model = SentenceTransformer(settings.EMBEDDING_MODEL, device="cpu", local_files_only=True)
                _model_pid = os.getpid()
    assert _model is not None
    return _model


def model_name() -> str:
    """The name stored with every vector and index build."""
    return str(settings.EMBEDDING_MODEL_NAME)


def encode(texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
    """Embed texts as L2-normalised float32 rows (inner product = cosine)."""
    if not texts:
        return np.zeros((0, embedding_dim()), dtype=np.float32)
    vectors = get_model().encode(
        list(texts),
        batch_size=batch_size or settings.EMBEDDING_BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)


def encode_query(text: str) -> np.ndarray:
    """Embed one query (a question or a pasted abstract) as a 1 x dim float32 array."""
    return encode([text], batch_size=1)


def embedding_dim() -> int:
    return int(get_model().get_sentence_embedding_dimension() or 0)


def is_truncated(text: str) -> bool:
    """Whether the text is longer than the model's window (only its start is embedded)."""
    model = get_model()
    # Character pre-check avoids tokenising short queries on the hot path.
    if len(text) < model.max_seq_length * 2:
        return False
    tokens = model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"]
    return len(tokens) > model.max_seq_length
