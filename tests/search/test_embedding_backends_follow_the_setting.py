"""EMBEDDING_BACKEND picks the encoder that workers, web queries and evaluation use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from search import embedder

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)


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


def test_exports_are_cached_locally_reused_and_made_only_for_the_backend_used() -> None:
    embedder.get_model("openvino")
    directory = embedder.export_dir()
    assert directory.parent == Path(django_settings.EMBEDDING_CACHE_DIR)
    xml = directory / "openvino" / "model.xml"
    assert xml.is_file() and (directory / "openvino" / "source.json").is_file()
    before = xml.stat().st_mtime_ns
    onnx = embedder.exported_model(Path(django_settings.EMBEDDING_MODEL), backend="onnx")
    assert onnx == directory / "onnx" / "model.onnx" and onnx.is_file()
    onnx_made = onnx.stat().st_mtime_ns
    # Asking again exports nothing: both files are the ones already there.
    assert embedder.exported_model(Path(django_settings.EMBEDDING_MODEL), backend="openvino") == xml
    assert embedder.exported_model(Path(django_settings.EMBEDDING_MODEL), backend="onnx") == onnx
    assert xml.stat().st_mtime_ns == before and onnx.stat().st_mtime_ns == onnx_made
    # No staging directory is left behind.
    assert not [p.name for p in directory.iterdir() if p.name.startswith(".")]


def test_the_openvino_export_needs_no_onnx_file(tmp_path: Path, settings: object) -> None:
    settings.EMBEDDING_CACHE_DIR = tmp_path  # type: ignore[attr-defined]
    xml = embedder.exported_model(Path(django_settings.EMBEDDING_MODEL), backend="openvino")
    assert xml.is_file()
    assert not list(tmp_path.rglob("*.onnx"))


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
