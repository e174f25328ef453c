"""The shape of the package: no import cycles between its modules, and a command layer of
small modules (each command group parses, calls one public function and prints)."""

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "workbench"


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, every import counted (module level,
    inside functions, and under ``TYPE_CHECKING``)."""
    root = package.parent
    modules = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        here = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in targets:
                found = owner(target) if target.split(".")[0] == package.name else None
                if found and found != module:
                    graph[module].add(found)
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, or ``None``."""
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return exc.args[1]
    return None


def test_no_module_of_the_package_imports_itself_back():
    assert cycle_in(import_graph(PACKAGE)) is None


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    pkg = tmp_path / "workbench"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from workbench.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import f\n")
    cycle = cycle_in(import_graph(pkg))
    assert cycle is not None and set(cycle) == {"workbench.a", "workbench.sub.b"}
    (pkg / "sub" / "b.py").write_text("X = 1\n")
    assert cycle_in(import_graph(pkg)) is None


@pytest.mark.parametrize("module", sorted((PACKAGE / "cli").glob("*.py")), ids=lambda p: p.name)
def test_every_command_module_is_small(module):
    lines = len(module.read_text().splitlines())
    assert lines < 200, f"{module.name} has {lines} lines"
