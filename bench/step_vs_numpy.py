"""One training step of blasnet next to the NumPy reference of the note (tests/python/reference.py).

Each implementation runs in its own worker process, so one library's BLAS threads never
compete with another's, and the workers alternate in rounds, so a noisy neighbour slows both
alike. Compare the figures only as ratios within one run.

    python bench/step_vs_numpy.py                         # 784-256-256-10 relu/softmax, batch 128
    python bench/step_vs_numpy.py --sizes 64 64 10 --batch 32
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IMPLEMENTATIONS = ("blasnet", "numpy")


def make_problem(sizes: list[int], batch: int, dtype: str) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], batch)
    T = np.eye(sizes[-1], dtype=dtype)[labels]
    return X, T


def blasnet_step(sizes: list[int], dtype: str, X: Any, T: Any) -> Any:
    import blasnet as bn

    layers = [bn.Dense(n, activation="relu") for n in sizes[1:-1]]
    layers.append(bn.Dense(sizes[-1], activation="softmax"))
    net = bn.Sequential(layers, input_dim=sizes[0], dtype=dtype, seed=0)
    sgd = bn.SGD(lr=0.01)
    return lambda: net.train_step(X, T, loss="softmax_cross_entropy", optimizer=sgd)


def numpy_step(sizes: list[int], dtype: str, X: Any, T: Any) -> Any:
    import numpy as np

    sys.path.insert(0, str(ROOT / "tests" / "python"))
    import reference

    rng = np.random.default_rng(0)
    params = {}
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"{k}.W"] = (rng.standard_normal((n_out, n_in)) * np.sqrt(2 / n_in)).astype(dtype)
        params[f"{k}.b"] = np.zeros(n_out, dtype=dtype)
    activations = ["relu"] * (len(sizes) - 2) + ["softmax"]
    Xc, Tc = X.T, T.T  # the note's layout: samples as columns (views, no copies)
    state = {"params": params}

    def step() -> None:
        _, grads = reference.backward(state["params"], activations, Xc, Tc, "softmax_cross_entropy")
        state["params"] = reference.sgd_step(state["params"], grads, 0.01)

    return step


def worker(impl: str, sizes: list[int], batch: int, dtype: str, threads: int, reps: int) -> None:
    from threadpoolctl import threadpool_limits

    X, T = make_problem(sizes, batch, dtype)
    step = (blasnet_step if impl == "blasnet" else numpy_step)(sizes, dtype, X, T)
    with threadpool_limits(limits=threads):
        for _ in range(max(3, reps // 10)):
            step()
        times = []
        for _ in range(reps):
            started = time.perf_counter()
            step()
            times.append(time.perf_counter() - started)
    print(json.dumps(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[784, 256, 256, 10])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--worker", choices=IMPLEMENTATIONS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.sizes, args.batch, args.dtypes[0], args.threads[0], args.reps)
        return

    net = "-".join(map(str, args.sizes))
    print(f"one training step, {net} relu/softmax, batch {args.batch}; "
          f"{args.rounds} rounds × {args.reps} steps per implementation\n")
    print(f"{'dtype':8} {'threads':>7} {'impl':8} {'min ms':>8} {'median ms':>9} {'ratio':>6}")
    for dtype in args.dtypes:
        for threads in args.threads:
            samples: dict[str, list[float]] = {impl: [] for impl in IMPLEMENTATIONS}
            for _ in range(args.rounds):
                for impl in IMPLEMENTATIONS:
                    cmd = [sys.executable, __file__, "--worker", impl, "--sizes",
                           *map(str, args.sizes), "--batch", str(args.batch), "--dtypes", dtype,
                           "--threads", str(threads), "--reps", str(args.reps)]
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                    samples[impl].extend(json.loads(out))
            base = statistics.median(samples["blasnet"])
            for impl in IMPLEMENTATIONS:
                med = statistics.median(samples[impl])
                print(f"{dtype:8} {threads:7d} {impl:8} {min(samples[impl]) * 1e3:8.3f} "
                      f"{med * 1e3:9.3f} {med / base:6.2f}")


if __name__ == "__main__":
    main()
