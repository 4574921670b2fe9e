"""`manage.py check --deploy` is clean with .env.example loaded, and the example lists every knob."""

from __future__ import annotations

import re
import secrets

from tests.prod.helpers import ROOT, clean_env, manage, read_env_file

# Read by the settings but not for operators: test and development switches.
INTERNAL = {"PAPERSCOPE_IGNORE_DOTENV", "PAPERSCOPE_REQUIRE_SECRET_KEY", "PAPERSCOPE_BENCH"}


def test_check_deploy_passes_at_warning_level_with_the_example_environment() -> None:
    # The one value an operator must generate (the README's first step); the rest as shipped.
    env = clean_env(**{**read_env_file(), "SECRET_KEY": secrets.token_urlsafe(50)})
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_example_environment_lists_every_setting_the_code_reads() -> None:
    settings_source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.[a-z_]+)?\(\s*"([A-Z][A-Z0-9_]*)"', settings_source)) - INTERNAL
    gunicorn_source = (ROOT / "config" / "gunicorn.conf.py").read_text()
    read |= set(re.findall(r'os\.environ\.get\(\s*"([A-Z][A-Z0-9_]*)"', gunicorn_source))
    listed = set(read_env_file())
    assert sorted(read - listed) == []


def test_the_example_environment_holds_no_real_secret() -> None:
    values = read_env_file()
    assert values["SECRET_KEY"].startswith("change-me")
    assert "change-me" in values["POSTGRES_PASSWORD"] and values["POSTGRES_PASSWORD"] in values["DATABASE_URL"]
    assert values["DEBUG"] == "False"
