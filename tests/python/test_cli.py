"""The ``blasnet`` command: the demo trains the note's examples, --help works everywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from blasnet import cli


def test_demo_learns_xor_and_the_cake(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo solves XOR and cuts the cake close to the note's knife."""
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "XOR (Figure 4)" in out and "Cake (Figure 1)" in out
    xor_section, cake_section = out.split("Cake (Figure 1)")
    assert "accuracy 100.0%" in xor_section
    assert "learned knife: +1.00·x1 +" in cake_section
    assert out.count("µs per step") == 2


def test_demo_in_float32(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--dtype", "float32", "--seed", "1"]) == 0
    assert "float32" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["info", "--help"]])
def test_help_everywhere(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 0
    assert "usage: blasnet" in capsys.readouterr().out


def test_bad_arguments_exit_nonzero_with_one_message(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--seed", "-3"])
    assert exit_info.value.code == 2
    assert "seed must be non-negative" in capsys.readouterr().err


def test_info_names_the_blas(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info"]) == 0
    assert "OpenBLAS" in capsys.readouterr().out


def test_console_script_and_module_entry_point() -> None:
    """``python -m blasnet`` runs the same command line."""
    done = subprocess.run([sys.executable, "-m", "blasnet", "--version"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.startswith("blasnet ")


def test_cmake_dir_points_at_the_installed_cmake_package() -> None:
    """`python -m blasnet --cmake-dir` prints the folder of blasnetConfig.cmake, beside the
    headers and the static library that the wheel carries."""
    result = subprocess.run(
        [sys.executable, "-m", "blasnet", "--cmake-dir"], capture_output=True, text=True, check=True
    )
    folder = Path(result.stdout.strip())
    assert folder == cli.cmake_dir()
    assert (folder / "blasnetConfig.cmake").is_file()
    assert (folder / "blasnetConfigVersion.cmake").is_file()
    package = folder.parent
    assert (package / "include" / "blasnet" / "blasnet.hpp").is_file()
    assert list((package / "lib").glob("libblasnet.a"))
