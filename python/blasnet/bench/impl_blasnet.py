"""blasnet: ``Sequential.train_step`` for a step, ``Sequential.fit`` for an epoch, both with
``blasnet.SGD`` or ``blasnet.Adam``, and ``Sequential.forward`` for one sample."""

from __future__ import annotations

from .. import _core
from ..models import Sequential
from .configs import Config
from .data import Problem
from .implementations import Trainer


def build(config: Config, problem: Problem, dtype: str, threads: int) -> Trainer:
    """A blasnet network of ``config`` on ``problem`` using ``threads`` BLAS threads."""
    _core.set_num_threads(threads)
    layers = [_core.Dense(units, activation=config.hidden) for units in config.sizes[1:-1]]
    layers.append(_core.Dense(config.sizes[-1], activation=config.output))
    net = Sequential(layers, input_dim=config.sizes[0], dtype=dtype, seed=0)
    optimizer: _core.Optimizer
    if config.optimizer == "adam":
        optimizer = _core.Adam(lr=config.learning_rate)
    else:
        optimizer = _core.SGD(lr=config.learning_rate)
    # Integer labels and C-contiguous arrays of the network's dtype reach the core as they
    # are, so no step pays for a conversion.
    targets = problem.labels if config.loss == "softmax_cross_entropy" else problem.T
    X, T = problem.X[: config.batch], targets[: config.batch]
    sample = problem.X[:1]
    return Trainer(
        step=lambda: net.train_step(X, T, loss=config.loss, optimizer=optimizer),
        epoch=lambda: net.fit(problem.X, targets, loss=config.loss, optimizer=optimizer,
                              epochs=1, batch_size=config.batch, shuffle=True),
        forward=lambda: net.forward(sample),
        computes_in=lambda: net.dtype.name,
    )
