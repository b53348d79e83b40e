"""Pictures of training: loss curves, the decision regions of a 2-D classifier (the note's
cake and XOR, as in its Figures 1 and 4), and timings: the demo's and the bench's.

matplotlib is an optional extra (``pip install 'blasnet[plot]'``), imported when a picture is
drawn, never before.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ._paths import checked_path
from .history import History
from .units import format_seconds


class _Predicts(Protocol):
    def predict(self, X: npt.ArrayLike) -> np.ndarray[Any, Any]: ...


def _pyplot() -> Any:
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError as error:
        raise ImportError(
            "blasnet's plots need matplotlib: pip install 'blasnet[plot]' (or matplotlib)"
        ) from error
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def plot_history(history: History, path: str | os.PathLike[str]) -> None:
    """Training loss per epoch, and the validation loss when there is one, on a log scale;
    written to ``path`` as PNG.

    Examples
    --------
    >>> import os, tempfile
    >>> from blasnet import History
    >>> from blasnet.plots import plot_history
    >>> path = os.path.join(tempfile.mkdtemp(), "loss.png")
    >>> plot_history(History(loss=[0.7, 0.4, 0.2], val_loss=[0.8, 0.5, 0.3]), path)
    >>> os.path.getsize(path) > 0
    True
    """
    if not history.loss:
        raise ValueError("the history has no epochs to plot")
    pyplot = _pyplot()
    figure, ax = pyplot.subplots(figsize=(6, 4))
    epochs = np.arange(1, history.epochs + 1)
    ax.plot(epochs, history.loss, label="training loss")
    if history.val_loss:
        ax.plot(epochs[: len(history.val_loss)], history.val_loss, label="validation loss")
    if history.best_epoch is not None:
        ax.axvline(history.best_epoch + 1, color="grey", linestyle=":", label="best epoch")
    positive = all(v > 0 for v in history.loss + history.val_loss)
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("J")
    ax.legend()
    figure.tight_layout()
    figure.savefig(checked_path(path), dpi=120)
    pyplot.close(figure)


def plot_decision_regions(
    model: _Predicts,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    path: str | os.PathLike[str],
    title: str = "",
    resolution: int = 200,
) -> None:
    """The classes a 2-D classifier assigns over the plane around the data, with the samples on
    top; written to ``path`` as PNG. ``model.predict`` gives one row of outputs per point: the
    class is the largest output, or, with a single output, whether it exceeds 0.5.

    Examples
    --------
    >>> import os, tempfile
    >>> import blasnet as bn
    >>> from blasnet.plots import plot_decision_regions
    >>> X, y = bn.datasets.xor()
    >>> net = bn.Sequential([bn.Dense(4, activation="tanh"), bn.Dense(1, activation="sigmoid")],
    ...                     input_dim=2, seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "xor.png")
    >>> plot_decision_regions(net, X, y, path, title="XOR")
    >>> os.path.getsize(path) > 0
    True
    """
    points = np.asarray(X, dtype=np.float64)
    labels = np.asarray(y)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"X must have shape (n_samples, 2), got {points.shape}")
    if labels.shape != (points.shape[0],):
        raise ValueError(f"y must have shape ({points.shape[0]},), got {labels.shape}")
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.1 * np.maximum(high - low, 1e-9) + 0.25
    u = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    v = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    grid_u, grid_v = np.meshgrid(u, v)
    outputs = np.asarray(model.predict(np.column_stack([grid_u.ravel(), grid_v.ravel()])))
    regions = (outputs[:, 0] > 0.5) if outputs.shape[1] == 1 else outputs.argmax(axis=1)

    pyplot = _pyplot()
    figure, ax = pyplot.subplots(figsize=(5, 5))
    ax.contourf(grid_u, grid_v, regions.reshape(grid_u.shape).astype(float), alpha=0.3,
                cmap="coolwarm")
    ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="coolwarm", edgecolors="k", s=25)
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    if title:
        ax.set_title(title)
    figure.tight_layout()
    figure.savefig(checked_path(path), dpi=120)
    pyplot.close(figure)


def plot_timings(
    labels: Sequence[str], seconds: Mapping[str, Sequence[float]], path: str | os.PathLike[str],
    title: str = "Training time",
) -> None:
    """Grouped bars of wall times on a log scale: one group per label, one bar per entry of
    ``seconds`` (an implementation's time for each label), each bar marked with its time;
    written to ``path`` as PNG. ``blasnet demo`` draws its table with it.

    Examples
    --------
    >>> import os, tempfile
    >>> from blasnet.plots import plot_timings
    >>> path = os.path.join(tempfile.mkdtemp(), "timings.png")
    >>> plot_timings(["xor", "digits"], {"blasnet": [0.004, 0.2], "NumPy": [0.1, 0.9]}, path)
    >>> os.path.getsize(path) > 0
    True
    """
    for name, values in seconds.items():
        if len(values) != len(labels):
            raise ValueError(f"{name}: {len(values)} times for {len(labels)} labels")
        if not all(np.isfinite(value) and value > 0 for value in values):
            raise ValueError(f"{name}: times must be positive and finite, got {list(values)}")
    pyplot = _pyplot()
    figure, ax = pyplot.subplots(figsize=(1.8 * len(labels) + 2.5, 4.5))
    width = 0.8 / max(len(seconds), 1)
    for i, (name, values) in enumerate(seconds.items()):
        xs = np.arange(len(labels)) + (i - (len(seconds) - 1) / 2) * width
        bars = ax.bar(xs, values, width, label=name)
        ax.bar_label(bars, labels=[format_seconds(value) for value in values], fontsize=8)
    ax.set_xticks(np.arange(len(labels)), list(labels))
    ax.set_yscale("log")
    ax.set_ylabel("seconds")
    ax.set_title(title)
    ax.legend()
    figure.tight_layout()
    figure.savefig(checked_path(path), dpi=120)
    pyplot.close(figure)


_BENCH_COLORS = {"blasnet": "#1b6ca8", "numpy": "#f2a541", "torch": "#d1495b",
                 "sklearn": "#66a182"}


def plot_bench(results: Mapping[str, Any] | str | os.PathLike[str],
               path: str | os.PathLike[str], threads: int | None = None) -> None:
    """The bench's step-time figure: bars of each implementation's median training step per
    configuration, the GEMM floor across each group, one panel per dtype; written to ``path``
    as PNG. ``results`` is what ``python bench/run.py`` or ``blasnet bench --json`` wrote (a
    dict, or the path of its JSON file).

    Examples
    --------
    >>> import io, json, os, tempfile
    >>> from contextlib import redirect_stdout
    >>> from blasnet.cli import main
    >>> folder = tempfile.mkdtemp()
    >>> with redirect_stdout(io.StringIO()):  # the tables it prints
    ...     status = main(["bench", "--configs", "xor", "--implementations", "blasnet", "numpy",
    ...                    "--seconds", "0.05", "--json", os.path.join(folder, "bench.json")])
    >>> status
    0
    >>> plot_bench(os.path.join(folder, "bench.json"), os.path.join(folder, "bench.png"))
    >>> os.path.getsize(os.path.join(folder, "bench.png")) > 0
    True
    """
    if isinstance(results, Mapping):
        loaded = dict(results)
    else:
        with open(checked_path(results), encoding="utf-8") as file:
            loaded = json.load(file)
    pyplot = _pyplot()
    if threads is None:
        threads = max(case["threads"] for case in loaded["cases"])
    cases = [case for case in loaded["cases"] if case["threads"] == threads]
    dtypes = list(dict.fromkeys(case["dtype"] for case in cases))
    configs = list(dict.fromkeys(case["config"] for case in cases))
    # In the order the run measured them (blasnet first).
    names = list(dict.fromkeys(name for case in cases for name in case["implementations"]))
    width = 0.8 / len(names)

    figure, axes = pyplot.subplots(1, len(dtypes), figsize=(7.5 * len(dtypes), 5.5),
                                   sharey=True, squeeze=False)
    for ax, dtype in zip(axes[0], dtypes):
        by_config = {case["config"]: case for case in cases if case["dtype"] == dtype}
        for i, name in enumerate(names):
            xs, heights = [], []
            for x, config in enumerate(configs):
                entry = by_config[config]["implementations"].get(name, {})
                if "step" in entry:
                    xs.append(x - 0.4 + (i + 0.5) * width)
                    heights.append(entry["step"]["median"])
            bars = ax.bar(xs, heights, width, label=name, color=_BENCH_COLORS.get(name))
            ax.bar_label(bars, [format_seconds(h) for h in heights], rotation=90,
                         padding=2, fontsize=7)
        for x, config in enumerate(configs):
            floor = by_config[config]["floor"]
            if "seconds" in floor:
                ax.hlines(floor["seconds"], x - 0.42, x + 0.42, colors="black", linewidth=1.5,
                          label="GEMM floor" if x == 0 else None)
        ax.set_yscale("log")
        ax.set_xticks(range(len(configs)),
                      [f"{config}\n{by_config[config]['label']}\nbatch {by_config[config]['batch']}"
                       for config in configs], fontsize=8)
        ax.set_title(f"{dtype}, {threads} BLAS thread{'s' if threads > 1 else ''}")
        ax.grid(axis="y", which="major", alpha=0.3)
    axes[0][0].set_ylabel("median time of one training step (s, log scale)")
    axes[0][0].legend(loc="upper left", fontsize=9)
    # Room above the tallest bar for its rotated label.
    low, high = axes[0][0].get_ylim()
    axes[0][0].set_ylim(low, high * 8)
    figure.suptitle("One training step (forward, backward, update by SGD, or by Adam where "
                    "the name says so): lower is better")
    figure.tight_layout()
    figure.savefig(checked_path(path), dpi=120)
    pyplot.close(figure)
