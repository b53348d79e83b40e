"""Named NumPy views of the core's flat parameter and gradient buffers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def named_views(flat: np.ndarray[Any, Any], info: Sequence[Any]) -> dict[str, np.ndarray[Any, Any]]:
    """``{name: view}`` for each block of ``flat`` the core's ``ParameterInfo`` records place
    (``name``, ``offset``, ``size``, ``shape``), without copying: ``W`` blocks as (n_out, n_in),
    ``b`` blocks as (n_out,)."""
    return {p.name: flat[p.offset : p.offset + p.size].reshape(p.shape) for p in info}
