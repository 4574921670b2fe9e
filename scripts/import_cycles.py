#!/usr/bin/env python3
"""Check the import graph of the project's modules, function-level imports included.

Usage: python scripts/import_cycles.py [--root DIR]

Two checks, both on the source read with ``ast`` (nothing is imported or run); tests,
migrations and the venv are left out:

- no import circles: no module imports, directly or through others, a module that imports it back;
- the layer rules in ``LAYERS``: an app never imports the apps listed for it, nor reaches their
  models without an import (``apps.get_model("search", ...)``, ``Model._meta.get_field(...).related_model``),
  so that a change there cannot break it with no import to warn anyone.

Exit 1, with one block per circle and one line per broken rule, when there is any.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", "tests", "migrations", "var", "node_modules"}

# app -> apps it must never import (nor read by reflection). ``search`` may import ``papers``;
# ``papers`` talks to the others only through its signals and public functions.
LAYERS: dict[str, frozenset[str]] = {
    "papers": frozenset({"search", "harvest", "library", "accounts", "bench"}),
}


@dataclass(frozen=True)
class Reference:
    """One way a module reaches another: an import of ``target`` or a reflective look-up."""

    target: str  # a dotted module name, or an app label for a reflective look-up
    line: int
    how: str  # "imports" or a description of the reflection


def modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for path in root.rglob("*.py"):
        relative = path.relative_to(root)
        if SKIP & set(relative.parts):
            continue
        name = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def references(name: str, path: Path) -> list[Reference]:
    """Every import in the module (relative ones made absolute) and every reflective model look-up."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Reference] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [Reference(alias.name, node.lineno, "imports") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, *([node.module] if node.module else [])])
            if base:
                found.append(Reference(base, node.lineno, "imports"))
            found += [Reference(f"{base}.{alias.name}" if base else alias.name, node.lineno, "imports") for alias in node.names]
        elif isinstance(node, ast.Call) and _called_name(node) == "get_model" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                label = first.value.partition(".")[0]
                found.append(Reference(label, node.lineno, f"looks up a model of {label} by name (get_model)"))
        elif isinstance(node, ast.Attribute) and node.attr == "related_model":
            found.append(Reference("", node.lineno, "reads a related model by reflection (.related_model)"))
    return sorted(found, key=lambda ref: ref.line)


def _called_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return call.func.id if isinstance(call.func, ast.Name) else ""


def edges(found: dict[str, Path], refs: dict[str, list[Reference]] | None = None) -> dict[str, dict[str, int]]:
    """module -> {imported module: first line}, for imports of the project's own modules."""
    refs = refs if refs is not None else {name: references(name, path) for name, path in found.items()}
    graph: dict[str, dict[str, int]] = {name: {} for name in found}
    for name in found:
        for ref in refs[name]:
            if ref.how == "imports" and ref.target in found and ref.target != name:
                graph[name].setdefault(ref.target, ref.line)
    return graph


def layer_violations(
    refs: dict[str, list[Reference]], where: dict[str, str], layers: dict[str, frozenset[str]] = LAYERS
) -> list[str]:
    """One line per import or reflective look-up that breaks a rule of ``layers``."""
    broken: list[str] = []
    for name, found in sorted(refs.items()):
        app = name.partition(".")[0]
        if app not in layers:
            continue
        rule = f"{app} never imports {', '.join(sorted(layers[app]))}"
        for ref in found:
            if ref.how == "imports" and ref.target.partition(".")[0] in layers[app]:
                broken.append(f"{where[name]}:{ref.line} imports {ref.target} ({rule})")
            elif ref.how != "imports" and (not ref.target or ref.target in layers[app]):
                broken.append(f"{where[name]}:{ref.line} {ref.how} ({rule})")
    return list(dict.fromkeys(broken))


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the project directory to read (default: this project)")
    root = parser.parse_args(argv).root.resolve()
    found = modules(root)
    refs = {name: references(name, path) for name, path in found.items()}
    where = {name: path.relative_to(root).as_posix() for name, path in found.items()}
    graph = edges(found, refs)
    circles = cycles(graph)
    broken = layer_violations(refs, where)
    for circle in circles:
        print("import circle: " + " <-> ".join(circle))
        for name in circle:
            for target, line in sorted(graph[name].items()):
                if target in circle:
                    print(f"  {where[name]}:{line} imports {target}")
    if not circles:
        print(f"no import circles among {len(graph)} modules")
    for problem in broken:
        print(f"layer rule broken: {problem}")
    if not broken:
        rules = "; ".join(f"{app} never imports {', '.join(sorted(banned))}" for app, banned in LAYERS.items())
        print(f"no layer rule broken ({rules})")
    return 1 if circles or broken else 0


if __name__ == "__main__":
    sys.exit(main())
