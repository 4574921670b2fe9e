"""gunicorn takes GUNICORN_BIND (and every other knob) from the project's .env, as settings do.

Before, config/gunicorn.conf.py read only the process environment: a bind address set in .env
was honoured by Django's settings but silently ignored by gunicorn, which bound 0.0.0.0:8000.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.prod.helpers import ROOT


def _resolved(project: Path, env: dict[str, str]) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreter and config
        [sys.executable, "-m", "gunicorn", "-c", str(project / "config" / "gunicorn.conf.py"), "--print-config", "config.wsgi"],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _setting(printed: str, name: str) -> str:
    found = re.search(rf"^{name}\s+= (.*)$", printed, re.MULTILINE)
    assert found, printed
    return found.group(1)


def _project_with_dotenv(tmp_path: Path, dotenv: str) -> Path:
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "gunicorn.conf.py", tmp_path / "config" / "gunicorn.conf.py")
    (tmp_path / ".env").write_text(dotenv)
    return tmp_path


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "WEB_CONCURRENCY", "PAPERSCOPE_IGNORE_DOTENV"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_the_bind_address_and_workers_come_from_dotenv(tmp_path: Path) -> None:
    project = _project_with_dotenv(tmp_path, "GUNICORN_BIND=127.0.0.1:8123\nWEB_CONCURRENCY=3\nGUNICORN_THREADS=5\n")
    printed = _resolved(project, _clean_env())
    assert _setting(printed, "bind") == "['127.0.0.1:8123']"
    assert _setting(printed, "workers") == "3"
    assert _setting(printed, "threads") == "5"


def test_the_process_environment_still_wins_over_dotenv(tmp_path: Path) -> None:
    project = _project_with_dotenv(tmp_path, "GUNICORN_BIND=127.0.0.1:8123\n")
    printed = _resolved(project, {**_clean_env(), "GUNICORN_BIND": "127.0.0.1:8124"})
    assert _setting(printed, "bind") == "['127.0.0.1:8124']"


def test_tests_and_ci_can_ignore_dotenv(tmp_path: Path) -> None:
    project = _project_with_dotenv(tmp_path, "GUNICORN_BIND=127.0.0.1:8123\n")
    printed = _resolved(project, {**_clean_env(), "PAPERSCOPE_IGNORE_DOTENV": "1"})
    assert _setting(printed, "bind") == "['0.0.0.0:8000']"
