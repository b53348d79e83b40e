"""Seeded synthetic data for a benchmark configuration: speed does not depend on the values,
only on the shapes and dtypes, so random numbers of the right kind are enough.

Examples
--------
>>> from blasnet.bench.configs import CONFIGS
>>> problem = make_problem(CONFIGS["digits"], "float32")
>>> problem.X.shape, problem.X.dtype.name, problem.T.shape, problem.labels.shape
((1797, 64), 'float32', (1797, 10), (1797,))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .configs import Config

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Problem:
    """The data of one configuration, in every form the implementations take.

    Attributes
    ----------
    X : ndarray of shape (epoch_samples, n_in)
        Inputs, C-contiguous, of the requested dtype. The first ``batch`` rows are the batch
        of a single step.
    T : ndarray of shape (epoch_samples, n_out)
        Dense targets of the requested dtype: one-hot rows for softmax, 0/1 for a sigmoid
        output, real values for a regression.
    labels : ndarray of shape (epoch_samples,)
        Integer class of each sample (int64), for the libraries that take classes; for a
        regression, an empty array.
    """

    X: Array
    T: Array
    labels: Array

    def batch(self, rows: int) -> tuple[Array, Array, Array]:
        """The first ``rows`` samples: (X, T, labels), C-contiguous views."""
        return self.X[:rows], self.T[:rows], self.labels[:rows]


def make_problem(config: Config, dtype: str, seed: int = 0) -> Problem:
    """Data of ``config.epoch_samples`` samples drawn from ``numpy.random.default_rng(seed)``.

    XOR gets 0/1 inputs and their exclusive or; classifiers standard-normal inputs and uniform
    classes; the regression standard-normal inputs and targets.
    """
    rng = np.random.default_rng(seed)
    n, n_in, n_out = config.epoch_samples, config.sizes[0], config.sizes[-1]
    if config.output == "sigmoid":
        bits = rng.integers(0, 2, size=(n, n_in))
        labels = np.bitwise_xor.reduce(bits, axis=1).astype(np.int64)
        X = bits.astype(dtype)
        T = labels.reshape(-1, 1).astype(dtype)
    elif config.output == "softmax":
        X = rng.standard_normal((n, n_in)).astype(dtype)
        labels = rng.integers(0, n_out, size=n).astype(np.int64)
        T = np.eye(n_out, dtype=dtype)[labels]
    else:
        X = rng.standard_normal((n, n_in)).astype(dtype)
        T = rng.standard_normal((n, n_out)).astype(dtype)
        labels = np.empty(0, dtype=np.int64)
    return Problem(np.ascontiguousarray(X), np.ascontiguousarray(T), labels)
