"""The step-time figure of a run: one panel per dtype, a group of bars per configuration.

matplotlib is imported when a figure is drawn, never before: it is a benchmark extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..plots import _pyplot
from .implementations import IMPLEMENTATIONS
from .report import format_seconds

COLORS = {"blasnet": "#1b6ca8", "numpy": "#f2a541", "torch": "#d1495b", "sklearn": "#66a182"}


def plot_step_times(results: dict[str, Any], path: Path, threads: int | None = None) -> None:
    """Bars of the median step time of each implementation, on a log scale, with the GEMM
    floor drawn across each group; one panel per dtype, at ``threads`` BLAS threads (default:
    the most the run used). Written to ``path`` (PNG)."""
    pyplot = _pyplot()

    if threads is None:
        threads = max(case["threads"] for case in results["cases"])
    cases = [case for case in results["cases"] if case["threads"] == threads]
    dtypes = list(dict.fromkeys(case["dtype"] for case in cases))
    configs = list(dict.fromkeys(case["config"] for case in cases))
    names = [name for name in IMPLEMENTATIONS
             if any(name in case["implementations"] for case in cases)]
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
            bars = ax.bar(xs, heights, width, label=name, color=COLORS.get(name))
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
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
