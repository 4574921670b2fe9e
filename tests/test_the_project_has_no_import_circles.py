"""No module of the project imports, directly or through others, a module that imports it back
(function-level imports count too), and ``papers`` never imports ``search``, ``harvest``,
``library``, ``accounts`` or ``bench`` nor reads their models by reflection:
scripts/import_cycles.py finds nothing, and it does find each kind of problem it is shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.one_pass  # no database of the run's (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[1]


def _check(root: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "scripts/import_cycles.py", *(["--root", str(root)] if root else [])]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_import_graph_has_no_circles_and_breaks_no_layer_rule() -> None:
    result = _check()
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("no import circles among ")
    assert "no layer rule broken (papers never imports accounts, bench, harvest, library, search)" in result.stdout


def test_the_checker_reports_a_circle_it_is_shown(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import import_cycles
    finally:
        sys.path.pop(0)
    graph = {"a": {"b": 3}, "b": {"c": 5}, "c": {"a": 9}, "d": {"a": 1}}
    assert import_cycles.cycles(graph) == [["a", "b", "c"]]
    assert import_cycles.cycles({"a": {"b": 1}, "b": {}}) == []


def test_the_checker_fails_on_a_circle_closed_by_a_relative_import_inside_a_function(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "shop/__init__.py": "",
        "shop/orders.py": "from shop.stock import reserve\n",
        "shop/stock.py": "def reserve():\n    from .orders import place\n    return place\n",
    })
    result = _check(root)
    assert result.returncode == 1
    assert "import circle: shop.orders <-> shop.stock" in result.stdout
    assert "shop/stock.py:2 imports shop.orders" in result.stdout


def test_the_checker_fails_when_papers_imports_search_even_inside_a_function(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "papers/__init__.py": "",
        "papers/services.py": "import datetime\n\n\ndef scan():\n    from search.models import PaperEmbedding\n    return PaperEmbedding\n",
        "papers/admin/__init__.py": "from bench import runner\n",
        "search/__init__.py": "",
        "search/models.py": "from papers.services import scan\n",  # search may import papers
    })
    result = _check(root)
    assert result.returncode == 1
    assert "no import circles among" not in result.stdout  # search.models <-> papers.services
    broken = [line for line in result.stdout.splitlines() if line.startswith("layer rule broken: ")]
    assert broken == [
        "layer rule broken: papers/admin/__init__.py:1 imports bench (papers never imports accounts, bench, harvest, library, search)",
        "layer rule broken: papers/admin/__init__.py:1 imports bench.runner (papers never imports accounts, bench, harvest, library, search)",
        "layer rule broken: papers/services.py:5 imports search.models (papers never imports accounts, bench, harvest, library, search)",
        "layer rule broken: papers/services.py:5 imports search.models.PaperEmbedding (papers never imports accounts, bench, harvest, library, search)",
    ]


def test_the_checker_fails_when_papers_reads_another_apps_model_by_reflection(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "papers/__init__.py": "",
        "papers/duplicates.py": (
            "from django.apps import apps\n"
            "from papers.models import Paper\n"
            "\n"
            "vectors = Paper._meta.get_field('embeddings').related_model\n"
            "failures = apps.get_model('search', 'EmbeddingFailure')\n"
            "saved = apps.get_model('library.SavedPaper')\n"
            "own = apps.get_model('papers', 'Paper')\n"
        ),
        "papers/models.py": "",
    })
    result = _check(root)
    assert result.returncode == 1
    assert result.stdout.startswith("no import circles among 3 modules")
    assert [line.split(" (papers never")[0] for line in result.stdout.splitlines()[1:]] == [
        "layer rule broken: papers/duplicates.py:4 reads a related model by reflection (.related_model)",
        "layer rule broken: papers/duplicates.py:5 looks up a model of search by name (get_model)",
        "layer rule broken: papers/duplicates.py:6 looks up a model of library by name (get_model)",
    ]


def test_search_importing_papers_is_the_allowed_direction(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "papers/__init__.py": "",
        "papers/models.py": "",
        "search/__init__.py": "",
        "search/models.py": "from papers.models import *\n\n\ndef late():\n    from django.apps import apps\n    return apps.get_model('papers', 'Paper')\n",
    })
    result = _check(root)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[0] == "no import circles among 4 modules"
