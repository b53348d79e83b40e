"""Shared test setup: makes the NumPy reference implementation, reference.py, importable.

pytest runs with --import-mode=importlib, which does not put this directory on sys.path.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
