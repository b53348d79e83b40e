"""Named NumPy views of the core's flat parameter and gradient buffers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def named_views(
    flat: np.ndarray[Any, Any], info: Sequence[tuple[str, int, tuple[int, ...]]]
) -> dict[str, np.ndarray[Any, Any]]:
    """``{name: view}`` for each ``(name, offset, shape)`` block of ``flat``, without copying:
    ``W`` blocks as (n_out, n_in), ``b`` blocks as (n_out,)."""
    return {
        name: flat[offset : offset + int(np.prod(shape))].reshape(shape)
        for name, offset, shape in info
    }
