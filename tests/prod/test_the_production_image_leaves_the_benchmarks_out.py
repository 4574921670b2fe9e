"""Benchmarks and evaluation (bench/) are development and CI tools: the image's build context
leaves them out (.dockerignore), and the settings, system checks and commands work without them;
a checkout installs the app unless PAPERSCOPE_BENCH=false says otherwise."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.prod.helpers import ROOT, clean_env, run_python

INSTALLED = "import django; django.setup(); from django.apps import apps; print(apps.is_installed('bench'))"


def _build_context(tmp_path: Path) -> Path:
    """A copy of the working tree as `docker build` receives it: the top-level entries .dockerignore keeps."""
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    ignored = [line for line in lines if line and not line.startswith(("#", "!", "**/"))]
    kept = [line[1:] for line in lines if line.startswith("!")]
    context = tmp_path / "app"
    context.mkdir()
    for entry in ROOT.iterdir():
        if any(fnmatch.fnmatch(entry.name, p) for p in ignored) and not any(fnmatch.fnmatch(entry.name, p) for p in kept):
            continue
        if entry.is_dir():
            shutil.copytree(entry, context / entry.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(entry, context / entry.name)
    return context


def _run(context: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = clean_env(**env)
    environment.pop("PYTHONPATH", None)  # the copy's own code only, never this checkout's
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, *args], cwd=context, env=environment, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_context(tmp_path_factory.mktemp("image"))


def test_the_build_context_has_the_product_but_not_the_bench_app(context: Path) -> None:
    assert (context / "manage.py").is_file() and (context / "search" / "queries.py").is_file()
    assert not (context / "bench").exists() and not (context / "tests").exists()


def test_settings_checks_and_commands_work_without_the_bench_app(context: Path) -> None:
    done = _run(context, "-c", INSTALLED)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
    check = _run(context, "manage.py", "check")
    assert check.returncode == 0, check.stderr
    commands = _run(context, "manage.py", "help", "--commands")
    assert commands.returncode == 0, commands.stderr
    listed = set(commands.stdout.split())
    assert {"build_index", "import_papers", "verify_index"} <= listed
    assert not listed & {"eval_search", "eval_navigation", "bench_speed", "bench_pipeline", "bench_digests", "bench_recommendations"}


def test_asking_for_the_bench_app_where_it_is_missing_fails_at_start(context: Path) -> None:
    done = _run(context, "-c", INSTALLED, PAPERSCOPE_BENCH="true")
    assert done.returncode != 0
    assert "PAPERSCOPE_BENCH is on but" in done.stderr


def test_a_checkout_installs_the_bench_app_unless_told_not_to() -> None:
    default = run_python(INSTALLED, clean_env())
    assert default.returncode == 0, default.stderr
    assert default.stdout.strip().splitlines()[-1] == "True"
    off = run_python(INSTALLED, clean_env(PAPERSCOPE_BENCH="false"))
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip().splitlines()[-1] == "False"
