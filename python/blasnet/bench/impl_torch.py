"""PyTorch eager on the CPU: ``nn.Sequential`` of ``nn.Linear`` and activations, autograd,
``torch.optim.SGD`` or ``torch.optim.Adam`` with its defaults but the configuration's rate.

Each configuration's loss is written the way a PyTorch user would write it: softmax
cross-entropy as ``nn.CrossEntropyLoss`` on the logits with integer classes (the softmax is
inside the loss), binary cross-entropy as ``nn.BCELoss`` after ``nn.Sigmoid``, and the
regression as ``nn.MSELoss`` (a mean over outputs too, where blasnet's is ½ the sum: the
gradients differ by a constant factor, the work does not).

A forward is ``model(x)`` on one sample under ``torch.no_grad()``, as a PyTorch user predicts:
for the softmax configurations it ends at the logits, the softmax being the loss's, so it does
a little less than the other implementations' forward.
"""

from __future__ import annotations

import importlib
from typing import Any

from .configs import Config
from .data import Problem
from .implementations import Trainer


def _model(config: Config, dtype: Any) -> Any:
    nn = importlib.import_module("torch.nn")
    activation = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}
    modules: list[Any] = []
    for (n_in, n_out), name in zip(config.layers, config.activations):
        modules.append(nn.Linear(n_in, n_out, dtype=dtype))
        # softmax belongs to CrossEntropyLoss and identity is no module at all.
        if name in activation:
            modules.append(activation[name]())
    return nn.Sequential(*modules)


def _loss(config: Config) -> Any:
    nn = importlib.import_module("torch.nn")
    losses = {"softmax_cross_entropy": nn.CrossEntropyLoss, "binary_cross_entropy": nn.BCELoss,
              "mse": nn.MSELoss}
    return losses[config.loss]()


def build(config: Config, problem: Problem, dtype: str, threads: int) -> Trainer:
    """A torch model of ``config`` on ``problem``, with ``torch.set_num_threads(threads)``."""
    torch = importlib.import_module("torch")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = _model(config, getattr(torch, dtype))
    loss_fn = _loss(config)
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    optimizer = optimizers[config.optimizer](model.parameters(), lr=config.learning_rate)
    # torch.from_numpy shares the arrays' memory: no copy of the data.
    X = torch.from_numpy(problem.X)
    T = torch.from_numpy(
        problem.labels if config.loss == "softmax_cross_entropy" else problem.T)
    shuffler = torch.Generator().manual_seed(1)
    B = config.batch

    def train(X_batch: Any, T_batch: Any) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(X_batch), T_batch).backward()
        optimizer.step()

    def epoch() -> None:
        order = torch.randperm(X.shape[0], generator=shuffler)
        X_shuffled, T_shuffled = X[order], T[order]
        for start in range(0, X.shape[0], B):
            train(X_shuffled[start : start + B], T_shuffled[start : start + B])

    sample = X[:1]

    def forward() -> Any:
        with torch.no_grad():
            return model(sample)

    X_step, T_step = X[:B], T[:B]
    return Trainer(
        step=lambda: train(X_step, T_step),
        epoch=epoch,
        forward=forward,
        computes_in=lambda: str(next(model.parameters()).dtype).removeprefix("torch."),
    )
