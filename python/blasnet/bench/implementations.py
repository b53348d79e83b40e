"""The implementations the benchmark compares, what each needs installed, and the common shape
of what they build: a :class:`Trainer` that takes one step, goes through one epoch or runs the
network forward on one sample.

Each implementation lives in its own module (``impl_<name>.py``) with a function
``build(config, problem, dtype, threads) -> Trainer``. The modules import their library only
when called, so this registry and the parent process stay light: only a worker process ever
imports torch or scikit-learn. They import these optional libraries with
``importlib.import_module``, which mypy types as a module of ``Any``: the package type-checks
the same whether the libraries are installed or not, and without their stubs.

Examples
--------
>>> [impl.name for impl in IMPLEMENTATIONS.values()]
['blasnet', 'numpy', 'torch', 'sklearn']
>>> missing_packages(IMPLEMENTATIONS["blasnet"])
[]
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from .configs import Config
from .data import Problem

# The pip name of each module an implementation imports, for the message telling what to install.
PIP_NAMES = {"torch": "torch", "sklearn": "scikit-learn", "threadpoolctl": "threadpoolctl"}


@dataclass(frozen=True)
class Trainer:
    """One implementation's network, set up on one problem and ready to train.

    Attributes
    ----------
    step : callable
        One training step (forward, backward, the update of the configuration's optimizer:
        plain SGD or Adam, at :attr:`.Config.learning_rate`) on the problem's first batch.
    epoch : callable
        One pass of minibatch training with that optimizer over all of the problem's
        samples, in a shuffled order.
    forward : callable
        The network's outputs for the problem's first sample alone, an input of shape
        (1, n_in), the way the library's users predict.
    computes_in : callable
        The dtype the parameters actually have, asked after training: it shows a library that
        silently computes in another precision than the one requested.
    """

    step: Callable[[], object]
    epoch: Callable[[], object]
    forward: Callable[[], object]
    computes_in: Callable[[], str]


@dataclass(frozen=True)
class Implementation:
    """A library the benchmark trains with, and the modules it needs besides blasnet's own."""

    name: str
    requires: tuple[str, ...]

    @property
    def module(self) -> str:
        """The module whose ``build`` sets the implementation up."""
        return f"{__package__}.impl_{self.name}"


IMPLEMENTATIONS: dict[str, Implementation] = {
    impl.name: impl
    for impl in (
        Implementation("blasnet", ()),
        Implementation("numpy", ("threadpoolctl",)),
        Implementation("torch", ("torch",)),
        Implementation("sklearn", ("sklearn", "threadpoolctl")),
    )
}


def missing_packages(impl: Implementation) -> list[str]:
    """pip names of what ``impl`` needs and this Python cannot import."""
    return [PIP_NAMES[module] for module in impl.requires
            if importlib.util.find_spec(module) is None]


def build(name: str, config: Config, problem: Problem, dtype: str, threads: int) -> Trainer:
    """Set up implementation ``name`` on ``problem``, limited to ``threads`` threads."""
    module = importlib.import_module(IMPLEMENTATIONS[name].module)
    trainer: Trainer = module.build(config, problem, dtype, threads)
    return trainer
