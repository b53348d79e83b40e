"""blasnet: feed-forward neural networks whose passes are BLAS matrix products.

Layers follow "Notes on Back Propagation in 4 Lines": a dense layer computes
``Z = W·X + b·1ᵀ`` and ``Y = f(Z)`` for a batch whose samples are the columns of ``X``;
backpropagation is ``dZ = dY ⊙ f'(Z)``, ``dX = Wᵀ·dZ``, ``dW = dZ·Xᵀ/n``, ``db = dZ·1/n``,
each product one call to the BLAS ``gemm``.

Examples
--------
>>> import numpy as np
>>> import blasnet as bn
>>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
>>> T = np.array([[0], [1], [1], [0]], dtype=float)
>>> net = bn.Sequential([bn.Dense(8, activation="tanh"), bn.Dense(1, activation="sigmoid")],
...                     input_dim=2, seed=0)
>>> history = net.fit(X, T, loss="binary_cross_entropy", optimizer=bn.SGD(lr=0.5),
...                   epochs=2000, batch_size=4)
>>> bool(((net.forward(X) > 0.5) == T).all())
True
"""

# Loads the OpenBLAS library that blasnet._core was linked against, so the loader finds it
# without LD_LIBRARY_PATH (the extension's RUNPATH is only the fallback).
import scipy_openblas32 as _scipy_openblas32  # noqa: F401  (imported for its side effect)

from ._core import (
    ACTIVATIONS,
    LOSSES,
    SGD,
    Dense,
    Optimizer,
    __version__,
    blas_config,
    get_num_threads,
    set_num_threads,
)
from .history import History
from .sequential import Sequential

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "SGD",
    "Dense",
    "History",
    "Optimizer",
    "Sequential",
    "__version__",
    "blas_config",
    "get_num_threads",
    "set_num_threads",
]
