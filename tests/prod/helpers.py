"""Shared helpers for the production tests: run Django in a fresh process with a given environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """KEY=value lines of an env file (comments and blank lines skipped), as docker compose reads them."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any Paperscope knob, plus ``overrides``."""
    knobs = set(read_env_file()) | {"DEBUG", "ALLOWED_HOSTS", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
    env = {k: v for k, v in os.environ.items() if k not in knobs}
    env.update({"PAPERSCOPE_IGNORE_DOTENV": "1", "HF_HUB_OFFLINE": "1", "DJANGO_SETTINGS_MODULE": "config.settings"})
    env.update(overrides)
    return env


def run_python(code: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def manage(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
