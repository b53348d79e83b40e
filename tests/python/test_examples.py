"""The scripts in examples/ run as a user would run them, and reach what they claim: each
exits non-zero when its network fails to learn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("script", "claims"),
    [
        ("tied_autoencoder.py", ["tied", "principal components"]),
        ("two_heads.py", ["class head: test accuracy", "radius head"]),
        ("rnn_binary_addition.py", ["100 + 27 = 127"]),
        ("perceptron_vs_sigmoid.py", ["perceptron: converged in epoch", "not converged"]),
        ("digits_adam.py", ["test accuracy 0.9"]),
    ],
)
def test_example_runs_and_learns(script: str, claims: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for claim in claims:
        assert claim in result.stdout


def test_every_example_is_tested() -> None:
    tested = {
        "tied_autoencoder.py",
        "two_heads.py",
        "rnn_binary_addition.py",
        "perceptron_vs_sigmoid.py",
        "digits_adam.py",
        "distributed_digits.py",  # under mpiexec, in test_distributed.py
    }
    assert {path.name for path in EXAMPLES.glob("*.py")} == tested
