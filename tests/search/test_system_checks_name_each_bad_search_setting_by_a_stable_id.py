"""Each embedding, search and index setting is validated by one system check with a stable id
(search/checks.py): it fires for a bad value and stays quiet for a good one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from search import checks as search_checks


def _ids() -> list[str]:
    return [message.id for message in checks.run_checks(tags=[search_checks.TAG])]


def _publish_manifest(*, model: str, dim: int) -> None:
    """A current build as index_store lays it out; these checks read its manifest only."""
    index_dir = Path(django_settings.INDEX_DIR)
    (index_dir / "builds" / "b1").mkdir(parents=True)
    (index_dir / "builds" / "b1" / "manifest.json").write_text(json.dumps({"model": model, "dim": dim, "count": 3}))
    (index_dir / "CURRENT").write_text("b1")


def test_the_shipped_defaults_pass_every_paperscope_check() -> None:
    assert _ids() == []


@pytest.mark.parametrize("value", ["", "/nonexistent/model", "empty-dir"])
def test_e001_fires_for_a_model_path_that_is_not_a_local_sentence_transformers_directory(value: str, settings: Any, tmp_path: Path) -> None:
    settings.EMBEDDING_MODEL = str(tmp_path) if value == "empty-dir" else value
    assert _ids() == ["paperscope.E001"]


def test_e001_stays_quiet_for_the_packaged_model_directory(settings: Any) -> None:
    assert Path(settings.EMBEDDING_MODEL, "modules.json").is_file()
    assert "paperscope.E001" not in _ids()


def test_e002_fires_for_an_unknown_backend_and_stays_quiet_for_each_known_one(settings: Any) -> None:
    settings.EMBEDDING_BACKEND = "tensorflow"
    found = search_checks.check_embedding_backend()
    assert [m.id for m in found] == ["paperscope.E002"]
    assert "torch, onnx, openvino" in found[0].msg and "'tensorflow'" in found[0].msg
    for backend in ("torch", "onnx", "openvino"):
        settings.EMBEDDING_BACKEND = backend
        assert _ids() == []


def test_e003_fires_for_an_unknown_precision_naming_the_choices_and_stays_quiet_for_each_known_one(settings: Any) -> None:
    settings.EMBEDDING_PRECISION = "fp8"
    found = search_checks.check_embedding_precision()
    assert [m.id for m in found] == ["paperscope.E003"]
    assert "auto, f32, bf16" in found[0].msg
    for precision in ("auto", "f32", "bf16"):
        settings.EMBEDDING_PRECISION = precision
        assert _ids() == []


def test_e004_fires_for_an_unknown_fusion_and_stays_quiet_for_each_known_one(settings: Any) -> None:
    settings.SEARCH_FUSION = "max"
    assert _ids() == ["paperscope.E004"]
    for fusion in ("zscore", "minmax", "rrf"):
        settings.SEARCH_FUSION = fusion
        assert _ids() == []


def test_e005_fires_for_an_unknown_index_kind_and_stays_quiet_for_each_known_one(settings: Any) -> None:
    settings.INDEX_KIND = "btree"
    found = search_checks.check_index_kind()
    assert [m.id for m in found] == ["paperscope.E005"] and "'btree'" in found[0].msg
    for kind in ("auto", "flat", "ivf", "hnsw"):
        settings.INDEX_KIND = kind
        assert _ids() == []


def test_e006_fires_when_the_current_build_holds_vectors_of_another_dimension_under_the_models_name(settings: Any) -> None:
    _publish_manifest(model=settings.EMBEDDING_MODEL_NAME, dim=768)
    found = search_checks.check_build_matches_model()
    assert [m.id for m in found] == ["paperscope.E006"]
    assert "768" in found[0].msg and "384" in found[0].msg


def test_e006_stays_quiet_when_the_current_build_matches_the_models_dimension_or_there_is_no_build(settings: Any) -> None:
    assert _ids() == []  # no build yet
    _publish_manifest(model=settings.EMBEDDING_MODEL_NAME, dim=384)
    assert _ids() == []


def test_w001_warns_without_refusing_when_the_current_build_was_made_with_another_model(settings: Any) -> None:
    _publish_manifest(model="all-mpnet-base-v2", dim=768)
    found = checks.run_checks(tags=[search_checks.TAG])
    assert [m.id for m in found] == ["paperscope.W001"]
    assert not found[0].is_serious()
    search_checks.refuse_to_start_on_errors("this test")  # workers must start to re-embed


def test_refusing_to_start_lists_every_error_and_honours_silenced_ids(settings: Any) -> None:
    settings.EMBEDDING_BACKEND = "tensorflow"
    settings.SEARCH_FUSION = "max"
    with pytest.raises(ImproperlyConfigured, match=r"(?s)paperscope\.E002.*paperscope\.E004"):
        search_checks.refuse_to_start_on_errors("this test")
    settings.SILENCED_SYSTEM_CHECKS = ["paperscope.E002", "paperscope.E004"]
    search_checks.refuse_to_start_on_errors("this test")


@pytest.mark.django_db
def test_e006_stays_quiet_for_the_empty_build_published_before_anything_is_embedded() -> None:
    # A fresh deployment: a worker publishes a build of 0 papers (its dimension a placeholder)
    # before the first import; `manage.py import_papers` must still run (compose-smoke found it refused).
    from search import index_store
    from search.services import index_build

    index_build()
    build_id = index_store.current_build_id()
    assert build_id is not None and index_store.read_manifest(build_id)["count"] == 0
    assert search_checks.check_build_matches_model() == []
