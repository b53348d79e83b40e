"""Every public function, class and method of blasnet has a docstring with a runnable example,
and every example in the package's docstrings runs and shows what it claims.

The public API checked here:

- the names in ``blasnet.__all__``, and the names in the ``__all__`` of each module of
  ``PUBLIC_MODULES`` or, for a module without ``__all__``, the functions and classes it defines
  whose names do not start with an underscore; constants (``ACTIVATIONS``, ``__version__``)
  carry no docstring of their own and are not checked;
- the methods and properties of those classes, defined on the class or on one of its blasnet
  base classes (public or not: ``_AdamLike`` gives ``Adam`` its ``beta_1``), including the
  classes bound in C++ (blasnet._core). Members that other libraries generate, such as
  scikit-learn's ``set_fit_request``, are theirs to document.

The exemption rule, small on purpose: dunder methods (``__init__``, ``__repr__``, ...) are not
checked, the class's docstring documents its constructor; a property needs a docstring but no
example of its own, the example of its class shows it. Everything else needs a docstring with
a ``>>>`` example.

pytest's --doctest-modules would not find the docstrings of the compiled extension, so the
examples are collected here with doctest.DocTestFinder, one test per docstring, for the C++
bindings and for every Python module of the package alike.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from types import ModuleType

import pytest

import blasnet
import blasnet._core

#: The modules whose public names are the library's API (besides ``blasnet`` itself).
PUBLIC_MODULES = [
    "blasnet.cli",
    "blasnet.datasets",
    "blasnet.history",
    "blasnet.loading",
    "blasnet.models",
    "blasnet.models.graph",
    "blasnet.models.model",
    "blasnet.models.perceptron",
    "blasnet.models.rnn",
    "blasnet.models.sequential",
    "blasnet.plots",
    "blasnet.reference",
    "blasnet.schedules",
    "blasnet.sklearn",
    "blasnet.training",
]
#: Public modules whose dependencies are optional extras: checked when they import.
OPTIONAL_MODULES = ["blasnet.distributed", "blasnet.onnx_export"]


def _importable(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _public_modules() -> list[ModuleType]:
    modules = [blasnet] + [importlib.import_module(name) for name in PUBLIC_MODULES]
    return modules + [m for m in map(_importable, OPTIONAL_MODULES) if m is not None]


def _public_names(module: ModuleType) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isroutine(value))
        and getattr(value, "__module__", None) == module.__name__
    ]


def _is_blasnet(obj: object) -> bool:
    return str(getattr(obj, "__module__", "")).split(".")[0] == "blasnet"


def _members(cls: type) -> Iterator[tuple[str, object]]:
    """The public methods and properties blasnet defines for ``cls``, each named after the
    class that defines it."""
    for base in cls.__mro__:
        if not _is_blasnet(base):
            continue
        for name, value in vars(base).items():
            if name.startswith("_"):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property) or (inspect.isroutine(value) and _is_blasnet(value)):
                yield f"{base.__module__}.{base.__qualname__}.{name}", value


def _public_objects() -> dict[str, object]:
    """Every checked object by its qualified name, each object once."""
    found: dict[int, tuple[str, object]] = {}
    for module in _public_modules():
        for name in _public_names(module):
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isroutine(value):
                # A bound C++ function's __qualname__ names pybind11's internals, not the module.
                short = value.__name__ if inspect.isbuiltin(value) else value.__qualname__
                found.setdefault(id(value), (f"{value.__module__}.{short}", value))
    for _, value in list(found.values()):
        if inspect.isclass(value):
            for name, member in _members(value):
                found.setdefault(id(member), (name, member))
    return dict(sorted(found.values(), key=lambda item: item[0]))


PUBLIC_OBJECTS = _public_objects()


def test_the_public_api_is_all_there() -> None:
    """The enumeration finds what the package exports, in Python and in C++, so that the
    checks below cannot pass on an empty list."""
    for name in [
        "blasnet._core.Dense",
        "blasnet._core.Optimizer.step",
        "blasnet._core.Schedule.begin_epoch",
        "blasnet._core.set_num_threads",
        "blasnet.models.sequential.Sequential.fit",
        "blasnet.models.graph.Graph.build",
        "blasnet.sklearn.MLPClassifier",
        "blasnet.datasets.load_digits",
        "blasnet.plots.plot_history",
        "blasnet.cli.main",
        "blasnet.reference.forward",
    ]:
        assert name in PUBLIC_OBJECTS
    assert len(PUBLIC_OBJECTS) > 150


@pytest.mark.parametrize("module", _public_modules(), ids=lambda module: module.__name__)
def test_public_module_has_a_docstring(module: ModuleType) -> None:
    assert module.__doc__ and module.__doc__.strip(), f"{module.__name__} has no docstring"


@pytest.mark.parametrize("name", list(PUBLIC_OBJECTS))
def test_public_object_has_an_example(name: str) -> None:
    obj = PUBLIC_OBJECTS[name]
    doc = obj.__doc__ if isinstance(obj, property) else inspect.getdoc(obj)
    assert doc and doc.strip(), f"{name} has no docstring"
    if not isinstance(obj, property):
        assert ">>>" in doc, f"{name}'s docstring has no example (an Examples section with >>>)"


def _doctests() -> list[doctest.DocTest]:
    """The examples of every docstring: the C++ bindings' and every Python module's, private
    ones included (``__main__`` would run the command line on import)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    # The bindings' examples import what they use, as a user's session would.
    tests = finder.find(blasnet._core, globs={})
    names = ["blasnet"] + [
        info.name
        for info in pkgutil.walk_packages(blasnet.__path__, "blasnet.")
        if info.name != "blasnet._core" and not info.name.endswith("__main__")
    ]
    for name in names:
        module = _importable(name)
        if module is not None:
            tests += finder.find(module)
    return sorted((test for test in tests if test.examples), key=lambda test: test.name)


DOCTESTS = {test.name: test for test in _doctests()}


def test_the_examples_are_collected() -> None:
    """The examples of the compiled module are found, as well as the Python modules'."""
    assert "blasnet._core.Optimizer" in DOCTESTS
    assert "blasnet.models.sequential.Sequential" in DOCTESTS
    assert sum(name.startswith("blasnet._core.") for name in DOCTESTS) >= 20


@pytest.mark.parametrize("name", list(DOCTESTS))
def test_docstring_example_runs(name: str) -> None:
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(DOCTESTS[name], out=report.append)
    assert result.failed == 0, f"the example of {name} fails:\n" + "".join(report)
