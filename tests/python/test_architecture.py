"""The package's structure, read from its source with ``ast``: its import graph — imports inside
functions included — has no circle, and no module reads another module's private names.

Dependencies point one way: the models (blasnet/models) know nothing of the modules that
train them over MPI, export or load them; those import the models."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import blasnet

PACKAGE = Path(blasnet.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = ("blasnet",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {
    _module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))
}
#: Compiled modules of the package: they import nothing of it.
EXTENSIONS = {"blasnet._core"}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))


def _imports(name: str) -> Iterator[tuple[str, list[str], int]]:
    """(module imported from, names taken, line) of every import in module ``name``, in
    functions as well as at the top, relative ones resolved."""
    package = name if _is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            yield source, [alias.name for alias in node.names], node.lineno


def _edges(name: str) -> set[str]:
    """The package's modules that module ``name`` imports."""
    out = set()
    for source, names, _ in _imports(name):
        if source not in MODULES:
            continue
        # "from . import x" takes the module x where there is one.
        submodules = [f"{source}.{n}" for n in names
                      if f"{source}.{n}" in MODULES or f"{source}.{n}" in EXTENSIONS]
        out.update(s for s in submodules if s in MODULES)
        if len(submodules) < len(names) or not names:
            out.add(source)
    out.discard(name)
    return out


GRAPH = {name: _edges(name) for name in MODULES}


def _circles() -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return groups


def test_the_reading_finds_the_package_and_its_imports() -> None:
    """The checks below read real modules and real arrows, so they cannot pass on nothing."""
    assert {"blasnet.models.model", "blasnet.distributed", "blasnet.loading"} <= set(MODULES)
    assert "blasnet.models" in GRAPH["blasnet.distributed"]
    assert "blasnet.services" in GRAPH["blasnet.models.model"]
    assert "blasnet.distributed" in GRAPH["blasnet.cli"]  # an import inside a function


def test_the_import_graph_has_no_circle() -> None:
    assert _circles() == []


def test_a_circle_would_be_found() -> None:
    GRAPH["blasnet.services"].add("blasnet.distributed")
    try:
        assert any({"blasnet.distributed", "blasnet.services"} <= set(group)
                   for group in _circles())
    finally:
        GRAPH["blasnet.services"].discard("blasnet.distributed")


@pytest.mark.parametrize("module", ["blasnet.models", "blasnet.models.model",
                                    "blasnet.models.graph", "blasnet.models.sequential",
                                    "blasnet.models.rnn", "blasnet.models.perceptron"])
def test_the_models_import_none_of_their_users(module: str) -> None:
    users = {"blasnet.distributed", "blasnet.onnx_export", "blasnet.loading", "blasnet.sklearn",
             "blasnet.cli", "blasnet"}
    assert not _reached(module) & users


def _reached(module: str) -> set[str]:
    reached, todo = set(), [module]
    while todo:
        for w in GRAPH[todo.pop()]:
            if w not in reached:
                reached.add(w)
                todo.append(w)
    return reached


def test_plots_is_a_leaf_of_the_package() -> None:
    """The pictures draw on three helpers only; the bench, the CLI and the demo use them."""
    assert _reached("blasnet.plots") == {"blasnet._paths", "blasnet.history", "blasnet.units"}
    assert "blasnet.plots" in _reached("blasnet.bench.command")


def _own_private_names(tree: ast.Module) -> set[str]:
    """The private names a module defines: its functions, classes and variables, and every
    attribute it assigns or defines in its classes."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if name.startswith("_")}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_reads(name: str) -> list[str]:
    """Where module ``name`` reads a private name it does not define: ``obj._x`` on anything
    but self, cls or super(), and ``from m import _x`` of a private function or variable."""
    tree = _tree(name)
    own = _own_private_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr) and node.attr not in own:
            value = node.value
            on_self = isinstance(value, ast.Name) and value.id in ("self", "cls")
            on_super = (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                        and value.func.id == "super")
            if not (on_self or on_super):
                found.append(f"{MODULES[name].name}:{node.lineno}: .{node.attr}")
    for source, names, line in _imports(name):
        if not source.startswith("blasnet"):
            continue  # other libraries' names are theirs to keep or break
        for taken in names:
            if _is_private(taken) and f"{source}.{taken}" not in MODULES and source != "blasnet":
                found.append(f"{MODULES[name].name}:{line}: from {source} import {taken}")
            elif _is_private(taken) and source == "blasnet" and taken != "_core" and (
                    f"blasnet.{taken}" not in MODULES):
                found.append(f"{MODULES[name].name}:{line}: from blasnet import {taken}")
    return found


def test_the_private_name_check_finds_a_read() -> None:
    tree = ast.parse("def f(model):\n    return model._net\n")
    assert "_net" not in _own_private_names(tree)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_reads_another_modules_private_names(module: str) -> None:
    assert _private_reads(module) == []
