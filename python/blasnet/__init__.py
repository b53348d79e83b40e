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

import os as _os

# numpy ships an OpenBLAS of its own, so a process that uses both has two thread pools. After
# each call an OpenBLAS worker spins for OPENBLAS_THREAD_TIMEOUT (2**28 cycles by default)
# before it sleeps, and a spinning pool takes the cores from the other: alternating numpy and
# blasnet calls ran each of them 3-4× slower on 2 cores. Each library reads the variable once,
# when it loads, so it is set here, for ours and for numpy's if numpy is not loaded yet, and the
# user's environment is given back afterwards. A value the user set is kept.
_THREAD_TIMEOUT = "OPENBLAS_THREAD_TIMEOUT"
_timeout_was_set = _THREAD_TIMEOUT in _os.environ
_os.environ.setdefault(_THREAD_TIMEOUT, "16")  # 2**16 cycles: tens of µs, not a tenth of a second
try:
    # Loads the OpenBLAS library that blasnet._core was linked against, so the loader finds it
    # without LD_LIBRARY_PATH (the extension's RUNPATH is only the fallback).
    import numpy as _numpy  # noqa: F401  (imported for its side effect)
    import scipy_openblas32 as _scipy_openblas32  # noqa: F401  (imported for its side effect)
finally:
    if not _timeout_was_set:
        del _os.environ[_THREAD_TIMEOUT]

from ._core import (
    ACTIVATIONS,
    LOSSES,
    SGD,
    Adam,
    AdamW,
    Dense,
    Optimizer,
    __version__,
    blas_config,
    get_num_threads,
    set_num_threads,
)
# distributed and onnx_export provide fit(comm=) and to_onnx to the models (services.py).
from . import datasets, distributed, onnx_export, schedules
from .history import EpochRecord, History
from .loading import ModelFileError, load
from .models import RNN, Graph, Node, Perceptron, Sequential
from .training import EarlyStopping, NonFiniteError

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "SGD",
    "Adam",
    "AdamW",
    "Dense",
    "EarlyStopping",
    "EpochRecord",
    "Graph",
    "History",
    "ModelFileError",
    "Node",
    "NonFiniteError",
    "Optimizer",
    "Perceptron",
    "RNN",
    "Sequential",
    "__version__",
    "blas_config",
    "datasets",
    "distributed",
    "schedules",
    "get_num_threads",
    "load",
    "set_num_threads",
]
