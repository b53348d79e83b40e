"""The note's two small examples, built in: XOR (Figure 4) and the two-class "cake" (Figure 1)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np

from ._convert import as_count, as_seed


def xor() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The four points of XOR: no single neuron separates them, two layers do.

    Returns
    -------
    X : ndarray of shape (4, 2), float64
    y : ndarray of shape (4,), int64
        1 where exactly one coordinate is 1.

    Examples
    --------
    >>> X, y = xor()
    >>> y.tolist()
    [0, 1, 1, 0]
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def cake(
    n_samples: int = 200, spread: float = 0.6, seed: int = 0
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Cherries (class 0) on the lower left of a cake, chocolate (class 1) on the upper right.

    Two isotropic Gaussian clouds of equal size centred at (−1, −1) and (1, 1) with standard
    deviation ``spread``. The best boundary is the note's line w = (1, 1), b = 0: it is the
    Bayes decision boundary, so :func:`cake_linear_accuracy` is what a linear classifier can be
    expected to reach; overlapping clouds keep it below 1.

    Parameters
    ----------
    n_samples : int
        Number of points, alternating between the two classes.
    spread : float
        Standard deviation of each cloud; larger values make the classes overlap more.
    seed : int
        Seed of NumPy's PCG64 generator: the same seed gives the same cake everywhere.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64

    Examples
    --------
    >>> X, y = cake(n_samples=6)
    >>> X.shape, y.tolist()
    ((6, 2), [0, 1, 0, 1, 0, 1])
    """
    n = as_count(n_samples, "n_samples")
    if not (np.isfinite(spread) and spread > 0):
        raise ValueError(f"spread must be positive and finite, got {spread}")
    rng = np.random.Generator(np.random.PCG64(as_seed(seed)))
    y = (np.arange(n) % 2).astype(np.int64)
    centres = np.where(y[:, None] == 1, 1.0, -1.0) * np.ones((n, 2))
    X = centres + spread * rng.standard_normal((n, 2))
    return X, y


def cake_linear_accuracy(X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
    """Accuracy of the note's knife, the line x₁ + x₂ = 0, on a cake.

    Examples
    --------
    >>> X, y = cake(n_samples=400, spread=0.3)
    >>> cake_linear_accuracy(X, y)
    1.0
    """
    predicted = (X[:, 0] + X[:, 1] >= 0).astype(np.int64)
    return float(np.mean(predicted == y))


def load_digits() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """1797 handwritten digits shipped with blasnet: the test part of the UCI *Optical
    Recognition of Handwritten Digits* data (Alpaydin & Kaynak, 1998; CC BY 4.0 — see
    ``blasnet/data/README.md``).

    Returns
    -------
    X : ndarray of shape (1797, 64), float64
        Each row an 8×8 image, row by row, of pixel counts 0–16 (divide by 16 for [0, 1]).
    y : ndarray of shape (1797,), int64
        The digit, 0–9.

    Examples
    --------
    >>> X, y = load_digits()
    >>> X.shape, y.shape, int(X.max()), sorted(set(y.tolist())) == list(range(10))
    ((1797, 64), (1797,), 16, True)
    """
    with resources.files("blasnet").joinpath("data/digits.npz").open("rb") as file:
        archive = np.load(file)
        images, labels = archive["images"], archive["labels"]
    return images.astype(np.float64), labels.astype(np.int64)
