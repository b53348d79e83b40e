"""The NumPy reference of the note (:mod:`blasnet.reference`): ``backward`` then ``sgd_step``
(or ``adam_step``) to train and ``forward`` for one sample, with the data in the note's layout,
samples as columns (``X.T``, a view, not a copy)."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from .. import reference
from .configs import Config
from .data import Problem
from .implementations import Trainer


def initial_parameters(config: Config, dtype: str, seed: int = 0) -> reference.Params:
    """Uniform weights of blasnet's scale (He for relu layers, Glorot otherwise), zero biases."""
    rng = np.random.default_rng(seed)
    params: reference.Params = {}
    for k, ((n_in, n_out), activation) in enumerate(zip(config.layers, config.activations)):
        limit = np.sqrt(6.0 / n_in) if activation == "relu" else np.sqrt(6.0 / (n_in + n_out))
        params[f"{k}.W"] = rng.uniform(-limit, limit, size=(n_out, n_in)).astype(dtype)
        params[f"{k}.b"] = np.zeros(n_out, dtype=dtype)
    return params


def build(config: Config, problem: Problem, dtype: str, threads: int) -> Trainer:
    """The reference on ``config`` and ``problem``, NumPy's BLAS limited to ``threads``."""
    # The limit holds for the rest of the worker process, which only ever runs this trainer.
    importlib.import_module("threadpoolctl").threadpool_limits(limits=threads, user_api="blas")
    params = initial_parameters(config, dtype)
    # Adam's moments, for a configuration trained by Adam only: SGD keeps no state.
    adam = reference.adam_init(params) if config.optimizer == "adam" else None
    rng = np.random.default_rng(1)
    B = config.batch

    def train(X_cols: np.ndarray[Any, Any], T_cols: np.ndarray[Any, Any]) -> None:
        nonlocal params, adam
        _, grads = reference.backward(params, config.activations, X_cols, T_cols, config.loss)
        if adam is None:
            params = reference.sgd_step(params, grads, config.learning_rate)
        else:
            params, adam = reference.adam_step(params, grads, adam, lr=config.learning_rate)

    def epoch() -> None:
        order = rng.permutation(problem.X.shape[0])
        X, T = problem.X[order], problem.T[order]
        for start in range(0, X.shape[0], B):
            train(X[start : start + B].T, T[start : start + B].T)

    # Dense targets of the data's dtype, never integer labels: the reference's own one-hot
    # of labels is float64 and would lift a float32 run to float64.
    X_batch, T_batch, _ = problem.batch(B)
    sample_cols = problem.X[:1].T
    return Trainer(
        step=lambda: train(X_batch.T, T_batch.T),
        epoch=epoch,
        forward=lambda: reference.forward(params, config.activations, sample_cols),
        computes_in=lambda: params["0.W"].dtype.name,
    )
