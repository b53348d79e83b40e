"""The checked-in stubs of the C++ core are the ones tools/generate_stubs.py makes from the
built module: a binding changed without regenerating them fails here."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "tools" / "generate_stubs.py"
STUB = ROOT / "python" / "blasnet" / "_core.pyi"
REGENERATE = "python tools/generate_stubs.py"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The stub text the generator writes for the installed blasnet._core."""
    pytest.importorskip(
        "pybind11_stubgen", reason="pybind11-stubgen is not installed (the test extra pins it)"
    )
    output = tmp_path_factory.mktemp("stubs") / "_core.pyi"
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return output.read_text(encoding="utf-8")


def test_checked_in_stub_matches_the_built_module(generated: str) -> None:
    diff = "".join(
        difflib.unified_diff(
            STUB.read_text(encoding="utf-8").splitlines(keepends=True),
            generated.splitlines(keepends=True),
            "python/blasnet/_core.pyi (checked in)",
            "generated from the installed blasnet._core",
        )
    )
    assert not diff, (
        "python/blasnet/_core.pyi is not what the built module generates; after installing "
        f"the package, regenerate it with `{REGENERATE}`:\n{diff}"
    )


def test_stub_says_it_is_generated_and_how_to_regenerate(generated: str) -> None:
    first, second = generated.splitlines()[:2]
    assert "do not edit" in first
    assert second.endswith(REGENERATE)


def test_module_attributes_take_their_declared_types(generated: str) -> None:
    """From the module's __annotations__, not the value's bare class (``tuple``)."""
    assert "\nACTIVATIONS: tuple[str, ...] = (" in generated
    assert "\nLOSSES: tuple[str, ...] = (" in generated


def test_parameters_defaulting_to_none_admit_none(generated: str) -> None:
    """pybind11 writes a pointer defaulting to nullptr as ``Schedule = None``."""
    assert "schedule: Schedule = None" not in generated
    assert "schedule: Schedule | None = None" in generated
