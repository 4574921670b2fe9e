"""EMBEDDING_BACKEND picks the encoder that workers, web queries and evaluation use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from search import embedder


@pytest.mark.parametrize("backend", ["torch", "onnx", "openvino"])
def test_the_configured_backend_serves_encode_query(backend: str, settings: object) -> None:
    settings.EMBEDDING_BACKEND = backend  # type: ignore[attr-defined]
    assert embedder.get_model().backend == backend
    assert embedder.embedding_dim() == 384
    assert embedder.get_model().encode(["protein folding"]).shape == (1, 384)


def test_an_unknown_backend_is_refused_with_the_choices(settings: object) -> None:
    settings.EMBEDDING_BACKEND = "tensorflow"  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="torch.*onnx.*openvino"):
        embedder.get_model()


def test_exports_are_cached_locally_and_reused() -> None:
    embedder.get_model("openvino")
    directory = embedder.export_dir()
    assert directory.parent == Path(django_settings.EMBEDDING_CACHE_DIR)
    assert (directory / "model.onnx").is_file() and (directory / "openvino" / "model.xml").is_file()
    before = (directory / "model.onnx").stat().st_mtime_ns
    path = embedder.exported_model(Path(django_settings.EMBEDDING_MODEL), backend="onnx")
    assert path == directory / "model.onnx" and path.stat().st_mtime_ns == before


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_a_web_process_on_an_exported_backend_never_imports_torch(backend: str) -> None:
    embedder.get_model(backend)  # the export (which needs torch) is done once, here
    code = (
        "import sys, django; django.setup();"
        "from search import embedder;"
        "v = embedder.encode_query('dark matter halos');"
        "assert v.shape == (1, 384), v.shape;"
        "print('torch' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "EMBEDDING_BACKEND": backend}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "False"
