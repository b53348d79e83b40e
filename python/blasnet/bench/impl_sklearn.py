"""scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` as plain minibatch SGD (no momentum, a
constant learning rate) or as Adam (PyTorch's default betas and epsilon), with no L2 penalty
and the configuration's batch size. scikit-learn's Adam adds ε to √v before the bias correction
rather than after: a slightly different rule, the same work.

``partial_fit`` makes one pass over the data it is given, in batches of ``batch_size``: on one
batch that is one training step, on the whole data set one epoch. A forward is
``predict_proba`` of one sample (``predict`` for a regressor, which has no probabilities). Every
call checks its input, as a user's code would pay for too. scikit-learn computes in float32 when given float32
data; :attr:`Trainer.computes_in` reports the dtype its weights really have.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from .configs import Config
from .data import Problem
from .implementations import Trainer

# scikit-learn's name of each blasnet activation of a hidden layer.
ACTIVATIONS = {"relu": "relu", "sigmoid": "logistic"}


def build(config: Config, problem: Problem, dtype: str, threads: int) -> Trainer:
    """An MLP of ``config`` on ``problem``, every thread pool limited to ``threads``.

    A classifier's output layer follows from its classes (one logistic unit for two, softmax
    for more) and a regressor's is the identity: the configurations' outputs, each with its
    loss.
    """
    neural_network = importlib.import_module("sklearn.neural_network")
    importlib.import_module("threadpoolctl").threadpool_limits(limits=threads)
    settings: dict[str, Any] = dict(
        hidden_layer_sizes=config.sizes[1:-1], activation=ACTIVATIONS[config.hidden],
        solver=config.optimizer, alpha=0.0, batch_size=config.batch,
        learning_rate_init=config.learning_rate, shuffle=True, random_state=0,
    )
    if config.optimizer == "adam":
        settings.update(beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    else:
        settings.update(learning_rate="constant", momentum=0.0, nesterovs_momentum=False)
    B = config.batch
    if config.is_classifier:
        model = neural_network.MLPClassifier(**settings)
        y = problem.labels
        classes = np.arange(max(config.sizes[-1], 2))
        # The first call fixes the classes and draws the weights; later calls only train.
        model.partial_fit(problem.X[:B], y[:B], classes=classes)
    else:
        model = neural_network.MLPRegressor(**settings)
        y = problem.T
        model.partial_fit(problem.X[:B], y[:B])
    X_step, y_step = problem.X[:B], y[:B]
    sample = problem.X[:1]
    predict = model.predict_proba if config.is_classifier else model.predict
    return Trainer(
        step=lambda: model.partial_fit(X_step, y_step),
        epoch=lambda: model.partial_fit(problem.X, y),
        forward=lambda: predict(sample),
        computes_in=lambda: model.coefs_[0].dtype.name,
    )
