"""Shared test setup.

pytest runs with --import-mode=importlib, which does not put this directory on sys.path: the
target makers (targets.py) are made importable here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def X() -> np.ndarray[Any, Any]:
    """The four XOR inputs."""
    return np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


@pytest.fixture
def T() -> np.ndarray[Any, Any]:
    """XOR targets, one column."""
    return np.array([[0.0], [1.0], [1.0], [0.0]])
