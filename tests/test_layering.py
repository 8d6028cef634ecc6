"""The package's layering, read from the source (every import statement, top-level or inside a
function, counts): each package imports only from the layers below it, and there is no import
cycle between packages. `python tests/test_layering.py` prints the package graph."""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "workbench"

LAYERS: tuple[tuple[str, ...], ...] = (
    # leaves: modules directly under workbench/ (they may import each other, without cycles)
    ("workbench", "names", "papers", "progress", "openmp", "config", "options", "device",
     "presets"),
    ("runs",),  # run folders, provenance, TensorBoard, the run-kind registry
    ("envs", "models"),
    ("rl",),  # the engine, A2C, PPO, losses, evaluation, distillation, teachers
    ("nas", "oneshot", "darts"),  # search plug-ins and their spaces
    ("hardware",),  # the accelerator side and co-search
    ("experiments", "viz"),
    ("cli",),
    ("__main__",),
)  # fmt: skip
"""Packages from the bottom layer up. An import may only go to a lower layer (or, among the
leaves, to another leaf); packages of one layer above the leaves never import each other."""

FORBIDDEN = {
    "models": ("nas", "darts", "oneshot", "hardware", "experiments"),
    "rl": ("nas", "oneshot", "darts", "hardware", "experiments"),
    "nas": ("hardware",),
    "runs": tuple(p for layer in LAYERS[1:] for p in layer if p != "runs"),
}
"""What issue 30 names explicitly (implied by LAYERS, checked on its own for a clear message)."""


def _package(path: Path) -> str:
    """The package of a source file: its folder under workbench/, or the module's own name for a
    file directly under it (`workbench` for workbench/__init__.py)."""
    rel = path.relative_to(ROOT)
    if len(rel.parts) > 1:
        return rel.parts[0]
    return "workbench" if rel.stem == "__init__" else rel.stem


def _targets(node: ast.AST, path: Path) -> list[str]:
    """Dotted workbench modules an import statement names (relative imports resolved)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "workbench"]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = list(path.relative_to(ROOT.parent).with_suffix("").parts)[: -node.level]
        module = ".".join([*base, *([node.module] if node.module else [])])
    else:
        module = node.module or ""
    if module.split(".")[0] != "workbench":
        return []
    if module == "workbench":  # from workbench import papers
        return [f"workbench.{a.name}" for a in node.names]
    return [module]


def import_edges() -> dict[tuple[str, str], set[str]]:
    """(importing package, imported package) -> the files with such an import."""
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in sorted(ROOT.rglob("*.py")):
        source = _package(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for module in _targets(node, path):
                parts = module.split(".")
                target = parts[1] if len(parts) > 1 else "workbench"
                if target != source:
                    edges[(source, target)].add(str(path.relative_to(ROOT.parent)))
    return edges


def package_graph() -> dict[str, list[str]]:
    """Each package and the packages it imports."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in import_edges():
        graph[source].add(target)
    return {p: sorted(graph[p]) for p in sorted(graph)}


def _rank() -> dict[str, int]:
    return {p: i for i, layer in enumerate(LAYERS) for p in layer}


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted({*graph, *(w for ws in graph.values() for w in ws)}):
        if v not in index:
            visit(v)
    return found


def test_every_package_has_a_layer() -> None:
    packages = {_package(p) for p in ROOT.rglob("*.py")}
    placed = set(_rank())
    assert packages <= placed, f"place these in LAYERS: {sorted(packages - placed)}"
    assert placed <= packages, f"LAYERS names packages that do not exist: {placed - packages}"


def test_imports_go_down_the_layers_only() -> None:
    rank, leaves = _rank(), set(LAYERS[0])
    wrong = [
        f"{source} -> {target} ({', '.join(sorted(files))})"
        for (source, target), files in sorted(import_edges().items())
        if not (rank[target] < rank[source] or source in leaves and target in leaves)
    ]
    assert not wrong, (
        "imports against the layering (bottom first: "
        + " | ".join(", ".join(layer) for layer in LAYERS)
        + "):\n"
        + "\n".join(wrong)
    )


def test_named_layering_rules() -> None:
    edges = import_edges()
    wrong = [
        f"{source} imports {target}: {sorted(edges[(source, target)])}"
        for source, targets in FORBIDDEN.items()
        for target in targets
        if (source, target) in edges
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_packages() -> None:
    cycles = _cycles(package_graph())
    assert not cycles, f"import cycles between packages: {cycles}; graph: {package_graph()}"


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert _cycles({"a": ["b"], "b": []}) == []


def test_kind_modules_register_from_their_own_package() -> None:
    from workbench.runs import kinds

    for module in kinds.KIND_MODULES:
        importlib.import_module(module)  # exists and imports
        assert module.startswith("workbench.") and module.endswith(".kinds")
    assert kinds.get_kind("dnas").config_class.__module__ == "workbench.config"


if __name__ == "__main__":
    for package, imported in package_graph().items():
        print(f"{package} -> {', '.join(imported)}")
    print("cycles:", _cycles(package_graph()) or "none")
