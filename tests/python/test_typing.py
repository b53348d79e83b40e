"""The package ships type stubs and passes mypy --strict."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_package_passes_mypy_strict() -> None:
    """mypy, configured by pyproject.toml, finds no error in python/blasnet."""
    api = pytest.importorskip("mypy.api")
    stdout, stderr, status = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "python" / "blasnet")]
    )
    assert status == 0, stdout + stderr


def test_stubs_and_marker_are_shipped() -> None:
    """The installed package carries py.typed and the stubs of its C++ core."""
    import blasnet

    package = Path(blasnet.__file__).parent
    assert (package / "py.typed").is_file()
    assert (package / "_core.pyi").is_file()
