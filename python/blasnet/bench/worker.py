"""One measurement in a process of its own: ``python -m blasnet.bench.worker TASK ...``.

The runner starts one worker per implementation, configuration, dtype and thread count, so
that no two libraries ever compute in one process (except in the ``hazard`` task, whose point
is that they do); the other BLAS libraries a worker loads stay idle. The parent sets
``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` for the worker; each
implementation limits its library's threads again through that library's own call. A worker
prints one JSON object on stdout:

    train   a training step and an epoch of one implementation: their seconds, the dtype the
            library computed in, and the memory the network took (see :func:`train`)
    latency the seconds of each forward of one implementation on a single sample (see
            :func:`latency`)
    floor   the seconds of each gemm call of a blasnet step, each timed alone by _core.time_gemm
    peak    the seconds of one large square gemm through blasnet's BLAS
    hazard  a NumPy matmul and a blasnet mnist step in one process (see :mod:`.hazard`)

The runner launches it with NumPy imported first (see :func:`.runner.run_worker`); by hand,

    python -m blasnet.bench.worker train --implementation numpy --config xor --dtype float64 \\
        --threads 1 --seconds 0.2

runs it with blasnet imported first.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .. import _core
from . import hazard
from .configs import CONFIGS, gemm_shapes
from .data import make_problem
from .implementations import IMPLEMENTATIONS, build
from .timing import MAX_REPS, max_rss_mb, reset_peak_rss, time_calls


def train(implementation: str, config_name: str, dtype: str, threads: int,
          seconds: float) -> dict[str, Any]:
    """Times one implementation's step and epoch; half of ``seconds`` goes to each.

    At least three steps and one epoch are timed, after their warm-up, however long they take:
    the runner's rounds add more samples of the slow configurations.

    The memory figure is the growth of the peak resident memory (ru_maxrss) while the network
    is built and trained, over a baseline taken just before. By then the libraries are
    imported, the data made, and a miniature of the network (every layer cut to at most 8
    units) has been trained and dropped, so that lazy imports and one-time set-up (PyTorch
    loads its compiler stack with its first optimizer) stay out of the figure. On Linux the
    peak is first lowered to the current resident memory, so that earlier transients do not
    hide the growth.
    """
    config = CONFIGS[config_name]
    miniature = replace(config, sizes=tuple(min(size, 8) for size in config.sizes),
                        epoch_samples=2 * config.batch)
    throwaway = build(implementation, miniature, make_problem(miniature, dtype), dtype, threads)
    throwaway.step()
    throwaway.epoch()
    del throwaway
    gc.collect()
    problem = make_problem(config, dtype)
    reset_peak_rss()
    baseline = max_rss_mb()
    trainer = build(implementation, config, problem, dtype, threads)
    step = time_calls(trainer.step, seconds / 2, min_reps=3)
    epoch = time_calls(trainer.epoch, seconds / 2, min_reps=1)
    peak = max_rss_mb()
    return {
        "computes_in": trainer.computes_in(),
        "step": step,
        "epoch": epoch,
        "memory_mb": None if peak is None or baseline is None else peak - baseline,
    }


def latency(implementation: str, config_name: str, dtype: str, threads: int,
            seconds: float) -> dict[str, Any]:
    """Times one implementation's forward on a single sample, an input of shape (1, n_in).

    The network is the one :func:`train` builds (scikit-learn's fitted by one ``partial_fit``
    on a batch, the others as initialised): at one sample, what is timed is the call's fixed
    cost, conversions, checks and dispatch, more than its arithmetic.
    """
    config = CONFIGS[config_name]
    trainer = build(implementation, config, make_problem(config, dtype), dtype, threads)
    return {"computes_in": trainer.computes_in(),
            "forward": time_calls(trainer.forward, seconds, min_reps=3)}


def _time_gemm(trans_a: bool, trans_b: bool, m: int, n: int, k: int, dtype: str,
               seconds: float, min_reps: int) -> list[float]:
    """time_gemm with as many repeats as fit in ``seconds``, judged from a short probe."""
    probe = statistics.median(_core.time_gemm(trans_a, trans_b, m, n, k, dtype, 1))
    repeats = min(MAX_REPS, max(min_reps, int(seconds / probe)))
    return _core.time_gemm(trans_a, trans_b, m, n, k, dtype, repeats)


def floor(config_name: str, dtype: str, threads: int, seconds: float) -> dict[str, Any]:
    """Times each gemm of a blasnet step of the configuration; ``seconds`` shared among them."""
    _core.set_num_threads(threads)
    shapes = gemm_shapes(CONFIGS[config_name])
    return {"gemms": [
        {"role": shape.role, "layer": shape.layer, "m": shape.m, "n": shape.n, "k": shape.k,
         "seconds": _time_gemm(shape.trans_a, shape.trans_b, shape.m, shape.n, shape.k, dtype,
                               seconds / len(shapes), min_reps=5)}
        for shape in shapes
    ]}


def peak(size: int, dtype: str, threads: int, seconds: float) -> dict[str, Any]:
    """Times a square gemm of ``size``: the machine's GFLOP/s ceiling through blasnet's BLAS."""
    _core.set_num_threads(threads)
    return {"size": size,
            "seconds": _time_gemm(False, False, size, size, size, dtype, seconds, min_reps=2)}


def build_parser() -> argparse.ArgumentParser:
    """The worker's command line: one subcommand per task."""
    parser = argparse.ArgumentParser(prog="python -m blasnet.bench.worker",
                                     description="One benchmark measurement; prints JSON.")
    tasks = parser.add_subparsers(dest="task", required=True)
    for name in ("train", "latency", "floor", "peak", "hazard"):
        task = tasks.add_parser(name)
        task.add_argument("--threads", type=int, required=True)
        task.add_argument("--seconds", type=float, required=True)
        if name != "hazard":
            task.add_argument("--dtype", choices=["float32", "float64"], required=True)
        if name in ("train", "latency", "floor"):
            task.add_argument("--config", choices=list(CONFIGS), required=True)
        if name in ("train", "latency"):
            task.add_argument("--implementation", choices=list(IMPLEMENTATIONS), required=True)
    tasks.choices["peak"].add_argument("--size", type=int, required=True)
    tasks.choices["hazard"].add_argument("--mode", choices=hazard.MODES, required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the task the arguments name and prints its JSON result."""
    args = build_parser().parse_args(argv)
    if args.task == "train":
        result = train(args.implementation, args.config, args.dtype, args.threads, args.seconds)
    elif args.task == "latency":
        result = latency(args.implementation, args.config, args.dtype, args.threads,
                         args.seconds)
    elif args.task == "floor":
        result = floor(args.config, args.dtype, args.threads, args.seconds)
    elif args.task == "peak":
        result = peak(args.size, args.dtype, args.threads, args.seconds)
    else:
        result = hazard.measure(args.mode, args.threads, args.seconds)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
