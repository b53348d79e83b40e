"""``blasnet demo``: trains the note's XOR and cake and the shipped digits, each beside the
plain NumPy reference started from the same weights, says what they learned and how fast, and
draws the pictures."""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from . import _core, plots, reference
from .datasets import cake, cake_linear_accuracy, load_digits, xor
from .history import History
from .models import Sequential

Array = np.ndarray[Any, Any]


@dataclass
class DemoResult:
    """One example: what blasnet and the NumPy reference reached, and how long each trained.

    Attributes
    ----------
    name : str
        ``"xor"``, ``"cake"`` or ``"digits"``.
    accuracy, numpy_accuracy : float
        Share of the evaluation samples each classifies right (the digits: held-out images).
    loss : float
        blasnet's training loss in the last epoch.
    seconds, numpy_seconds : float
        Wall time of training, blasnet's ``fit`` and the reference's loop.
    steps : int
        Gradient steps each took.
    """

    name: str
    accuracy: float
    loss: float
    seconds: float
    steps: int
    numpy_accuracy: float
    numpy_seconds: float

    @property
    def speedup(self) -> float:
        """How many times longer the NumPy reference took."""
        return self.numpy_seconds / self.seconds


@dataclass
class _Example:
    """A trained example and what its pictures need."""

    result: DemoResult
    net: Sequential
    X: Array
    y: Array
    history: History


def _accuracy(outputs: Array, y: Array) -> float:
    predicted = (outputs[:, 0] >= 0.5) if outputs.shape[1] == 1 else np.argmax(outputs, axis=1)
    return float(np.mean(predicted.astype(np.int64) == y))


def _train_both(
    net: Sequential, X: Array, T: Array, loss: str, optimizer: str, lr: float, epochs: int,
    batch_size: int, seed: int, validation: tuple[Array, Array] | None = None,
) -> tuple[History, float, reference.Params, float]:
    """blasnet's fit and the reference's, from the same initial weights: blasnet's history and
    seconds, the reference's final parameters and seconds. The reference draws its own
    shuffling, so the two take the same number of steps over different batches."""
    start = net.parameters()
    params = {f"{k}.{part}": start[f"{name}.{part}"].astype(np.float64)
              for k, (name, *_) in enumerate(net.layers) for part in ("W", "b")}
    activations = [activation for *_, activation in net.layers]
    chosen = _core.Adam(lr=lr) if optimizer == "adam" else _core.SGD(lr=lr)
    started = time.perf_counter()
    history = net.fit(X, T, loss=loss, optimizer=chosen, epochs=epochs, batch_size=batch_size,
                      shuffle=True, seed=seed, validation_data=validation)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    params, _ = reference.fit(params, activations, X.T, T.T, loss, epochs, batch_size, lr,
                              optimizer, seed)
    return history, seconds, params, time.perf_counter() - started


def _reference_outputs(params: reference.Params, net: Sequential, X: Array) -> Array:
    activations = [activation for *_, activation in net.layers]
    return reference.forward(params, activations, X.T).T


def run_xor(out: TextIO, dtype: str = "float64", seed: int = 0, epochs: int = 2000) -> _Example:
    """XOR, the note's Figure 4: no single neuron separates it, one hidden layer does."""
    X, y = xor()
    net = Sequential([_core.Dense(8, activation="tanh", name="hidden"),
                      _core.Dense(1, activation="sigmoid", name="output")],
                     input_dim=2, dtype=dtype, seed=seed)
    history, seconds, params, numpy_seconds = _train_both(
        net, X, y.reshape(-1, 1).astype(np.float64), "binary_cross_entropy", "sgd", lr=0.5,
        epochs=epochs, batch_size=4, seed=seed)
    print("XOR (Figure 4): 2-8-1 net, tanh hidden layer, sigmoid output, binary cross-entropy,",
          file=out)
    print(f"  SGD lr=0.5, {epochs} epochs of the 4 points", file=out)
    for x, target, output in zip(X, y, net.forward(X)[:, 0]):
        print(f"  x = ({x[0]:.0f}, {x[1]:.0f})  ->  y = {output:.4f}   (target {target})", file=out)
    result = DemoResult("xor", _accuracy(net.forward(X), y), history.loss[-1], seconds, epochs,
                        _accuracy(_reference_outputs(params, net, X), y), numpy_seconds)
    print(file=out)
    return _Example(result, net, X, y, history)


def run_cake(out: TextIO, dtype: str = "float64", seed: int = 0, epochs: int = 200) -> _Example:
    """The cake, the note's Figure 1: one sigmoid neuron learns the knife's line."""
    X, y = cake(n_samples=400, spread=0.8, seed=seed)
    net = Sequential([_core.Dense(1, activation="sigmoid", name="knife")],
                     input_dim=2, dtype=dtype, seed=seed)
    history, seconds, params, numpy_seconds = _train_both(
        net, X, y.reshape(-1, 1).astype(np.float64), "binary_cross_entropy", "sgd", lr=0.5,
        epochs=epochs, batch_size=20, seed=seed)
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
    print(f"  the note's knife itself gets {cake_linear_accuracy(X, y):.1%} of this cake right\n",
          file=out)
    result = DemoResult("cake", _accuracy(net.forward(X), y), history.loss[-1], seconds,
                        epochs * 20, _accuracy(_reference_outputs(params, net, X), y),
                        numpy_seconds)
    return _Example(result, net, X, y, history)


def run_digits(out: TextIO, dtype: str = "float64", seed: int = 0, epochs: int = 30) -> _Example:
    """The shipped optical digits: a 64-64-10 relu net with Adam, tested on held-out images."""
    X, y = load_digits()
    X = X / 16.0  # pixel counts 0..16 to [0, 1]
    order = np.random.default_rng(seed).permutation(len(X))
    test, train = order[:450], order[450:]
    net = Sequential([_core.Dense(64, activation="relu", name="hidden"),
                      _core.Dense(10, activation="softmax", name="digit")],
                     input_dim=64, dtype=dtype, seed=seed)
    batch_size = 32
    history, seconds, params, numpy_seconds = _train_both(
        net, X[train], np.eye(10)[y[train]], "softmax_cross_entropy", "adam", lr=1e-3,
        epochs=epochs, batch_size=batch_size, seed=seed,
        validation=(X[test], np.eye(10)[y[test]]))
    steps = epochs * -(-len(train) // batch_size)
    print(f"Digits (UCI optical digits, 8×8 images): {len(train)} to train on, {len(test)} held "
          "out", file=out)
    print(f"  64-64-10 net, relu hidden layer, softmax output, Adam lr=1e-3, {epochs} epochs "
          f"of batch {batch_size}", file=out)
    print("  (blasnet also scores the held-out images after every epoch for the loss curve)\n",
          file=out)
    result = DemoResult("digits", _accuracy(net.predict(X[test]), y[test]), history.loss[-1],
                        seconds, steps, _accuracy(_reference_outputs(params, net, X[test]),
                                                  y[test]), numpy_seconds)
    return _Example(result, net, X[test], y[test], history)


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _report(results: list[DemoResult], out: TextIO) -> None:
    print("Accuracy and training time, blasnet beside the NumPy reference (same start weights, "
          "same number of steps):", file=out)
    print(f"  {'example':<8}{'blasnet':>10}{'time':>11}{'per step':>11}   "
          f"{'NumPy':>8}{'time':>11}{'per step':>11}{'speed-up':>10}", file=out)
    for r in results:
        print(f"  {r.name:<8}{r.accuracy:>10.1%}{_milliseconds(r.seconds):>11}"
              f"{r.seconds / r.steps * 1e6:>8.1f} µs   {r.numpy_accuracy:>8.1%}"
              f"{_milliseconds(r.numpy_seconds):>11}{r.numpy_seconds / r.steps * 1e6:>8.1f} µs"
              f"{r.speedup:>9.1f}×", file=out)
    print(file=out)


def _draw(examples: list[_Example], folder: Path, out: TextIO) -> list[Path]:
    if importlib.util.find_spec("matplotlib") is None:
        print("No pictures: matplotlib is not installed (pip install 'blasnet[plot]').",
              file=out)
        return []
    folder.mkdir(parents=True, exist_ok=True)
    by_name = {example.result.name: example for example in examples}
    written = []
    for name, title in (("xor", "XOR (the note's Figure 4)"),
                        ("cake", "The cake (the note's Figure 1)")):
        example = by_name[name]
        written.append(folder / f"{name}_regions.png")
        plots.plot_decision_regions(example.net, example.X, example.y, written[-1], title=title)
    written.append(folder / "digits_loss.png")
    plots.plot_history(by_name["digits"].history, written[-1])
    written.append(folder / "timings.png")
    results = [example.result for example in examples]
    plots.plot_timings([r.name for r in results],
                       {"blasnet": [r.seconds for r in results],
                        "NumPy reference": [r.numpy_seconds for r in results]}, written[-1])
    print(f"Pictures written to {folder.resolve()}{os.sep}:", file=out)
    for path in written:
        print(f"  {path.name}", file=out)
    return written


def run(
    out: TextIO, dtype: str = "float64", seed: int = 0, plots_dir: str | os.PathLike[str] | None = None
) -> list[DemoResult]:
    """The three examples, one after the other, then the table of accuracies and times and, if
    ``plots_dir`` is given, the pictures: the decision regions of XOR and the cake, the digits'
    loss curves and the timings, as PNG files in that folder.

    Examples
    --------
    >>> import io
    >>> results = run(io.StringIO())
    >>> [r.name for r in results], results[0].accuracy, results[2].accuracy > 0.9
    (['xor', 'cake', 'digits'], 1.0, True)
    """
    print(f"blasnet {_core.__version__} on {_core.blas_config().split()[0]} "
          f"({_core.get_num_threads()} BLAS threads), {dtype}\n", file=out)
    examples = [run_xor(out, dtype, seed), run_cake(out, dtype, seed), run_digits(out, dtype, seed)]
    results = [example.result for example in examples]
    _report(results, out)
    if plots_dir is not None:
        _draw(examples, Path(plots_dir), out)
    return results
