"""A bad embedding, search or index setting is reported by `manage.py check` (and `--deploy`), and
gunicorn and a Celery worker, which Django does not check by itself, refuse to start on it."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.prod.helpers import ROOT, clean_env, manage, run_python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", INDEX_DIR=str(tmp_path / "index"), **overrides)


def test_manage_py_check_and_check_deploy_report_a_bad_setting_by_its_id(tmp_path: Path) -> None:
    for args in (("check",), ("check", "--deploy")):
        result = manage(*args, env=_env(tmp_path, EMBEDDING_PRECISION="fp8"))
        assert result.returncode != 0
        assert "paperscope.E003" in result.stderr and "'fp8'" in result.stderr


def test_the_wsgi_application_refuses_to_load_on_a_check_error_and_loads_without_one(tmp_path: Path) -> None:
    code = "import config.wsgi; print('loaded')"
    refused = run_python(code, _env(tmp_path, EMBEDDING_BACKEND="tensorflow", SEARCH_FUSION="max"))
    assert refused.returncode != 0 and "loaded" not in refused.stdout
    assert "ImproperlyConfigured" in refused.stderr and "the web process refuses to start" in refused.stderr
    assert "paperscope.E002" in refused.stderr and "paperscope.E004" in refused.stderr
    loaded = run_python(code, _env(tmp_path))
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip().splitlines()[-1] == "loaded"


def test_a_gunicorn_master_exits_before_forking_workers_on_a_check_error(tmp_path: Path) -> None:
    env = _env(tmp_path, EMBEDDING_MODEL=str(tmp_path / "no-model"), WEB_CONCURRENCY="1", GUNICORN_BIND=f"127.0.0.1:{_free_port()}")
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0
    assert "paperscope.E001" in result.stdout + result.stderr
    assert "Booting worker" not in result.stdout + result.stderr


def test_a_celery_worker_exits_at_startup_on_a_check_error(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "1", "--loglevel", "INFO"],
        cwd=ROOT, env=_env(tmp_path, SEARCH_FUSION="max"), capture_output=True, text=True, timeout=120, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "the Celery worker refuses to start" in output and "paperscope.E004" in output
    assert "ready." not in output  # it never started consuming
