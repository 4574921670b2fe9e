"""The product's modules never import the bench app (the production image has no bench/ folder);
the settings only name it, as a string, to install it where it is present."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("config", "papers", "search", "harvest", "accounts", "library")


def _bench_imports(source: str, name: str) -> list[str]:
    """``name:line imports module`` for each import of bench or a bench module, function-level ones too."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        found += [f"{name}:{node.lineno} imports {module}" for module in modules if module.split(".")[0] == "bench"]
    return found


def test_no_product_module_imports_bench() -> None:
    files = [ROOT / "manage.py", *(path for app in PRODUCT for path in (ROOT / app).rglob("*.py"))]
    assert len(files) > 100
    found = [line for path in files for line in _bench_imports(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []


def test_the_check_finds_bench_imports_at_any_depth() -> None:
    source = "import os\nimport bench\n\ndef f():\n    from bench.metrics import ndcg_at\n    import benchmarks\n"
    assert _bench_imports(source, "x.py") == ["x.py:2 imports bench", "x.py:5 imports bench.metrics"]
