"""The two-thread-pool hazard: NumPy ships its own OpenBLAS, so a process that uses NumPy and
blasnet holds two BLAS thread pools, each sized for the whole machine.

The suspected cost: an OpenBLAS worker thread that has finished its share of a product waits
for the next one by polling for a while before it sleeps, so when the next product is the
other library's, its threads share the cores with the polling ones. The scenario measures
whatever the cost is, not its cause: a NumPy matmul of preprocessing size and a blasnet mnist
training step, each alone, then turn about; once with NumPy imported first and once with
blasnet first, since blasnet shortens the polling of the libraries that load with it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .configs import CONFIGS
from .data import make_problem
from .implementations import build
from .timing import time_calls

# The NumPy side: a product of preprocessing size, (256×784)·(784×256).
MATMUL = (256, 784, 256)
# The blasnet side: one training step of this configuration, in this dtype.
CONFIG = "mnist"
DTYPE = "float32"
# The question is about a second thread, so both libraries get two.
THREADS = 2
MODES = ("numpy", "blasnet", "alternate")
# The library a worker imports first: blasnet shortens the spin of the OpenBLAS libraries that
# load with it, which includes NumPy's only when NumPy is not loaded yet.
FIRST_IMPORTS = ("numpy", "blasnet")


def measure(mode: str, threads: int, seconds: float) -> dict[str, Any]:
    """NumPy's and blasnet's BLAS in one process, both with ``threads`` threads.

    Both libraries are loaded in every mode, so each has its own OpenBLAS thread pool;
    ``numpy`` and ``blasnet`` run only that side, ``alternate`` runs a matmul and a float32
    mnist step turn about and times each side of each turn.
    """
    rng = np.random.default_rng(0)
    m, k, n = MATMUL
    A = rng.standard_normal((m, k)).astype(DTYPE)
    B = rng.standard_normal((k, n)).astype(DTYPE)
    C = np.empty((m, n), dtype=DTYPE)
    config = CONFIGS[CONFIG]
    trainer = build("blasnet", config, make_problem(config, DTYPE), DTYPE, threads)

    def matmul() -> None:
        np.matmul(A, B, out=C)

    if mode == "numpy":
        return {"numpy": time_calls(matmul, seconds, min_reps=5)}
    if mode == "blasnet":
        return {"blasnet": time_calls(trainer.step, seconds, min_reps=5)}
    sides: dict[str, list[float]] = {"numpy": [], "blasnet": []}

    def turn() -> None:
        started = time.perf_counter()
        matmul()
        middle = time.perf_counter()
        trainer.step()
        sides["numpy"].append(middle - started)
        sides["blasnet"].append(time.perf_counter() - middle)

    turns = time_calls(turn, seconds, min_reps=5)
    # The first entries of each side are the warm-up's turns.
    return {side: times[len(times) - len(turns):] for side, times in sides.items()}
