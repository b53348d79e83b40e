"""``blasnet demo``: trains the note's two examples on built-in data and says what it learned."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from . import _core
from .datasets import cake, cake_linear_accuracy, xor
from .sequential import Sequential


@dataclass
class DemoResult:
    """What one example reached: accuracy, final loss and training time."""

    name: str
    accuracy: float
    loss: float
    seconds: float
    steps: int


def _accuracy(net: Sequential, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
    predicted = (net.forward(X)[:, 0] >= 0.5).astype(np.int64)
    return float(np.mean(predicted == y))


def _train(
    net: Sequential, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], lr: float, epochs: int,
    batch_size: int, seed: int,
) -> tuple[float, float]:
    started = time.perf_counter()
    history = net.fit(X, y, loss="binary_cross_entropy", optimizer=_core.SGD(lr=lr),
                      epochs=epochs, batch_size=batch_size, shuffle=True, seed=seed)
    return history.loss[-1], time.perf_counter() - started


def run_xor(out: TextIO, dtype: str = "float64", seed: int = 0, epochs: int = 2000) -> DemoResult:
    """XOR, the note's Figure 4: no single neuron separates it, one hidden layer does."""
    X, y = xor()
    net = Sequential([_core.Dense(8, activation="tanh", name="hidden"),
                      _core.Dense(1, activation="sigmoid", name="output")],
                     input_dim=2, dtype=dtype, seed=seed)
    loss, seconds = _train(net, X, y, lr=0.5, epochs=epochs, batch_size=4, seed=seed)
    print("XOR (Figure 4): 2-8-1 net, tanh hidden layer, sigmoid output, binary cross-entropy,",
          file=out)
    print(f"  SGD lr=0.5, {epochs} epochs of the 4 points", file=out)
    for x, target, output in zip(X, y, net.forward(X)[:, 0]):
        print(f"  x = ({x[0]:.0f}, {x[1]:.0f})  ->  y = {output:.4f}   (target {target})", file=out)
    result = DemoResult("xor", _accuracy(net, X, y), loss, seconds, epochs)
    _report(result, out)
    return result


def run_cake(out: TextIO, dtype: str = "float64", seed: int = 0, epochs: int = 200) -> DemoResult:
    """The cake, the note's Figure 1: one sigmoid neuron learns the knife's line."""
    X, y = cake(n_samples=400, spread=0.8, seed=seed)
    net = Sequential([_core.Dense(1, activation="sigmoid", name="knife")],
                     input_dim=2, dtype=dtype, seed=seed)
    loss, seconds = _train(net, X, y, lr=0.5, epochs=epochs, batch_size=20, seed=seed)
    W = net.parameters()["knife.W"][0]
    b = net.parameters()["knife.b"][0]
    # Scale so the line reads like the note's w = (1, 1): only the direction matters.
    scale = abs(W[0]) if W[0] != 0 else 1.0
    print("Cake (Figure 1): 400 points, cherries (0) lower left, chocolate (1) upper right,",
          file=out)
    print(f"  one sigmoid neuron, binary cross-entropy, SGD lr=0.5, {epochs} epochs of batch 20",
          file=out)
    print(f"  learned knife: {W[0] / scale:+.2f}·x1 {W[1] / scale:+.2f}·x2 {b / scale:+.2f} = 0"
          "   (the note's: x1 + x2 = 0)", file=out)
    print(f"  the note's knife itself gets {cake_linear_accuracy(X, y):.1%} of this cake right",
          file=out)
    result = DemoResult("cake", _accuracy(net, X, y), loss, seconds, epochs * 20)
    _report(result, out)
    return result


def _report(result: DemoResult, out: TextIO) -> None:
    per_step = result.seconds / result.steps * 1e6
    print(f"  accuracy {result.accuracy:.1%}, final loss {result.loss:.4f}, trained in "
          f"{result.seconds * 1e3:.1f} ms ({per_step:.1f} µs per step)\n", file=out)


def run(out: TextIO, dtype: str = "float64", seed: int = 0) -> list[DemoResult]:
    """Both examples, one after the other.

    Examples
    --------
    >>> import io
    >>> results = run(io.StringIO())
    >>> [r.name for r in results], results[0].accuracy
    (['xor', 'cake'], 1.0)
    """
    print(f"blasnet {_core.__version__} on {_core.blas_config().split()[0]} "
          f"({_core.get_num_threads()} BLAS threads), {dtype}\n", file=out)
    return [run_xor(out, dtype, seed), run_cake(out, dtype, seed)]
