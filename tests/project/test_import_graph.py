"""The package's imports point one way: the import graph of python/nanobrag has no cycle.

The graph is read from the source with ast, counting module-level AND
function-level imports (a lazy import inside a function is still an arrow).
An import of ``a.b.c`` also runs the ``__init__`` of each package on the way
(``a.b``), so those are arrows too, except packages that contain the importing
module (they are already running).
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

import nanobrag

PACKAGE_DIR = Path(nanobrag.__file__).resolve().parent
ROOT = "nanobrag"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> Dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _resolve(module: str, is_package: bool, level: int, name: str) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def import_graph() -> Dict[str, Set[str]]:
    modules = _modules()
    graph: Dict[str, Set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: List[str] = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node.level, node.module or "") if node.level else node.module or ""
                # "from package import submodule" imports the submodule; any other name needs the package itself
                submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
                targets += submodules
                if len(submodules) < len(node.names):
                    targets.append(base)
        for target in targets:
            if not (target == ROOT or target.startswith(ROOT + ".")):
                continue
            parts = target.split(".")
            # the target and every package on the way to it, except the root and the importer's own packages
            for n in range(2, len(parts) + 1):
                name = ".".join(parts[:n])
                if name in modules and name != module and not module.startswith(name + "."):
                    graph[module].add(name)
            if target == ROOT and module != ROOT:
                graph[module].add(ROOT)
    return graph


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One cycle as a list of modules (first == last), or [] when there is none."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_the_package_import_graph_has_no_cycle():
    graph = import_graph()
    cycle = find_cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_the_graph_sees_lazy_imports_and_package_inits():
    """The reader itself: a function-level import and the package __init__ on the way are arrows."""
    graph = import_graph()
    assert "nanobrag.outputs" in graph["nanobrag.results"]  # imported inside SimulationResult's properties
    assert "nanobrag.c_engine" in graph["nanobrag.outputs"]  # via nanobrag.c_engine.random_streams
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
