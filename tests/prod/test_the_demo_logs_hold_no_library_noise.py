"""A first run of the demo prints what it does and nothing a newcomer takes for an error.

The import of the sample in a fresh process with an empty model cache (so the one-time
OpenVINO export runs) must not print faiss's failed probes for other CPU builds
("No module named swigfaiss_avx512"), torch/transformers export warnings and progress bars,
bm25s DEBUG lines or per-task Celery lines (no Celery runs in the embedded default).
Real warnings still reach the console.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.prod.helpers import ROOT

NOISE = (
    "swigfaiss",
    "TracerWarning",
    "FutureWarning",
    "DeprecationWarning",
    "Loading weights",
    "loss_type",
    "Task search.tasks",
    " DEBUG ",
)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "LOG_LEVEL")}
    env.update(
        PAPERSCOPE_IGNORE_DOTENV="1",
        HF_HUB_OFFLINE="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        INDEX_DIR=str(tmp_path / "index"),
        EMBEDDING_CACHE_DIR=str(tmp_path / "models"),  # empty: the export runs, as on a first run
        LOG_FORMAT="text",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def test_a_first_import_with_the_model_export_prints_no_library_noise(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    result = _manage(env, "import_papers", "samples/hf-papers-listing.txt")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "61 created" in output
    assert list((tmp_path / "models").rglob("*.xml")), "the OpenVINO export did not run"
    found = [noise for noise in NOISE if noise in output]
    assert not found, f"{found} in:\n{output[-5000:]}"


def test_real_warnings_and_our_own_warning_logs_still_show(tmp_path: Path) -> None:
    env = _env(tmp_path)
    code = (
        "import logging, warnings; warnings.warn('a real problem'); "
        "logging.getLogger('search.services').warning('index build failed for a real reason')"
    )
    result = _manage(env, "shell", "-c", code)
    assert "UserWarning: a real problem" in result.stderr
    assert "index build failed for a real reason" in result.stderr + result.stdout
