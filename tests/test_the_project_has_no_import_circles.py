"""No module of the project imports, directly or through others, a module that imports it back
(function-level imports count too): scripts/import_cycles.py finds none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_graph_has_no_circles() -> None:
    result = subprocess.run([sys.executable, "scripts/import_cycles.py"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("no import circles among ")


def test_the_checker_reports_a_circle_it_is_shown(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import import_cycles
    finally:
        sys.path.pop(0)
    graph = {"a": {"b": 3}, "b": {"c": 5}, "c": {"a": 9}, "d": {"a": 1}}
    assert import_cycles.cycles(graph) == [["a", "b", "c"]]
    assert import_cycles.cycles({"a": {"b": 1}, "b": {}}) == []
