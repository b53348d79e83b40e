"""Random targets of every kind the losses take, shared by the numeric tests."""

from __future__ import annotations

from typing import Any

import numpy as np

KINDS = ("real", "real01", "soft", "binary", "labels", "one_hot", "probabilities", "unnormalised")


def make_targets(kind: str, rng: np.random.Generator, n: int, n_out: int) -> np.ndarray[Any, Any]:
    """Targets of shape (n, n_out), or integer labels (n,), of the named kind.

    real: any real values (mse); real01 and soft: values in [0, 1]; binary: 0 or 1;
    labels: class indices; one_hot and probabilities: rows summing to one; unnormalised:
    non-negative rows whose sums differ from 1, where dJ/dZ = Y·(1ᵀT) − T, not Y − T.
    """
    if kind == "real":
        return rng.uniform(-1.0, 1.0, (n, n_out))
    if kind in ("real01", "soft", "unnormalised"):
        return rng.uniform(0.0, 1.0, (n, n_out))
    if kind == "binary":
        return rng.integers(0, 2, (n, n_out)).astype(np.float64)
    if kind == "labels":
        return rng.integers(0, n_out, n)
    if kind == "one_hot":
        return np.eye(n_out)[rng.integers(0, n_out, n)]
    if kind == "probabilities":
        return rng.dirichlet(np.ones(n_out), n)
    raise ValueError(f"unknown kind of targets {kind!r}; valid kinds: {', '.join(KINDS)}")
