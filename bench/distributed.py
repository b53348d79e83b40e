"""Data parallelism on one machine: training throughput of one process with 2 BLAS threads
against 2 MPI ranks of 1 thread each (``Sequential.fit(..., comm=MPI.COMM_WORLD)``), on the
mnist and wide configurations, and the time of one allreduce of the gradient buffer.

Each setup runs in its own processes, in turns (--rounds), and its fastest epoch counts.
Prints a table and writes distributed.json next to this file. About a minute on 2 cores.

    pip install '.[mpi]' mpich      # from the repository root
    python bench/distributed.py
    python bench/distributed.py --seconds 2 --configs mnist
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
CONFIGS = ("mnist", "wide")


def measure(config_name: str, dtype: str, seconds: float, comm: Any) -> dict[str, Any]:
    """Epochs of ``fit`` for about ``seconds`` (after one warm-up epoch) on this process, or
    over ``comm``'s ranks; the fastest epoch's samples per second and, with ``comm``, the
    median seconds of one in-place allreduce of a buffer as large as the gradient."""
    import blasnet as bn
    from blasnet.bench.configs import CONFIGS as ALL
    from blasnet.bench.data import make_problem

    config = ALL[config_name]
    problem = make_problem(config, dtype)
    layers = [bn.Dense(units, activation=config.hidden) for units in config.sizes[1:-1]]
    layers.append(bn.Dense(config.sizes[-1], activation=config.output))
    net = bn.Sequential(layers, input_dim=config.sizes[0], dtype=dtype, seed=0)
    optimizer = bn.SGD(lr=config.learning_rate)
    targets = problem.labels if config.loss == "softmax_cross_entropy" else problem.T

    def epoch() -> float:
        if comm is not None:
            comm.Barrier()
        started = time.perf_counter()
        net.fit(problem.X, targets, config.loss, optimizer, epochs=1, batch_size=config.batch,
                comm=comm)
        elapsed = time.perf_counter() - started
        return elapsed if comm is None else float(comm.allreduce(elapsed, op=MPI.MAX))

    if comm is not None:
        from mpi4py import MPI
    epoch()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while True:
        times.append(epoch())
        done = time.perf_counter() > deadline or len(times) >= 50
        if comm is None and done:
            break
        if comm is not None and comm.allreduce(done, op=MPI.LOR):
            break
    steps = -(-config.epoch_samples // config.batch)
    parameters = sum(v.size for v in net.parameters().values())
    result = {
        "config": config_name,
        "label": config.label,
        "dtype": dtype,
        "parameters": int(parameters),
        "bytes_per_step": int(parameters * np.dtype(dtype).itemsize),
        "epochs": len(times),
        "samples_per_second": config.epoch_samples / min(times),
        "step_seconds": min(times) / steps,
    }
    if comm is not None:
        buffer = np.ones(parameters, dtype=dtype)
        reduce_times = []
        for _ in range(30):
            comm.Barrier()
            started = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            reduce_times.append(time.perf_counter() - started)
        result["allreduce_seconds"] = float(
            comm.allreduce(float(np.median(reduce_times)), op=MPI.MAX)
        )
    return result


def worker(args: argparse.Namespace) -> None:
    """One measurement in this process (or this rank): prints it as a JSON line."""
    import blasnet as bn

    bn.set_num_threads(args.threads)
    comm = None
    if args.ranks:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
    result = measure(args.worker, args.dtype, args.seconds, comm)
    result.update(ranks=1 if comm is None else comm.Get_size(), threads=args.threads)
    if comm is None or comm.Get_rank() == 0:
        print(json.dumps(result), flush=True)


def launch(config: str, dtype: str, seconds: float, ranks: int, threads: int) -> dict[str, Any]:
    """Runs one worker (under mpiexec for ranks > 1) and returns what it measured."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    command = [sys.executable, __file__, "--worker", config, "--dtype", dtype,
               "--seconds", str(seconds), "--threads", str(threads)]
    if ranks > 1:
        beside = Path(sys.executable).parent / "mpiexec"
        command = [str(beside) if beside.is_file() else "mpiexec", "-n", str(ranks), *command,
                   "--ranks"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    """Measures every setup of every configuration, prints the table, writes the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="timing budget of each measurement (default 5)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measurements of each setup, taking turns; the best counts "
                        "(default 2)")
    parser.add_argument("--out", type=Path, default=HERE / "distributed.json",
                        help="the JSON file to write (default: distributed.json here)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--ranks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    def best(config: str, ranks: int, threads: int, earlier: dict[str, Any] | None) -> Any:
        now = launch(config, args.dtype, args.seconds, ranks=ranks, threads=threads)
        if earlier is None or now["samples_per_second"] > earlier["samples_per_second"]:
            if earlier is not None and "allreduce_seconds" in earlier:
                now["allreduce_seconds"] = min(now["allreduce_seconds"],
                                               earlier["allreduce_seconds"])
            return now
        if "allreduce_seconds" in now:
            earlier["allreduce_seconds"] = min(now["allreduce_seconds"],
                                               earlier["allreduce_seconds"])
        return earlier

    rows = []
    for config in args.configs:
        # Turns, so that a burst of load from other programs does not hit one setup alone.
        one_thread = two_threads = two_ranks = None
        for _ in range(args.rounds):
            one_thread = best(config, 1, 1, one_thread)
            two_threads = best(config, 1, 2, two_threads)
            two_ranks = best(config, 2, 1, two_ranks)
        assert one_thread is not None and two_threads is not None and two_ranks is not None
        rows.append({
            "config": config,
            "label": two_ranks["label"],
            "parameters": two_ranks["parameters"],
            "bytes_per_step": two_ranks["bytes_per_step"],
            "1x1_samples_per_second": one_thread["samples_per_second"],
            "1x2_samples_per_second": two_threads["samples_per_second"],
            "2x1_samples_per_second": two_ranks["samples_per_second"],
            "ratio_2x1_over_1x2": two_ranks["samples_per_second"]
            / two_threads["samples_per_second"],
            "step_seconds_2x1": two_ranks["step_seconds"],
            "allreduce_seconds": two_ranks["allreduce_seconds"],
            "allreduce_share_of_step": two_ranks["allreduce_seconds"]
            / two_ranks["step_seconds"],
        })
    load = os.getloadavg()
    report = {"dtype": args.dtype, "seconds": args.seconds, "rounds": args.rounds,
              "load_average": load, "rows": rows}
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"{args.dtype}, samples/s of Sequential.fit (best epoch); load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'config':<8} {'params':>9} {'MB/step':>8} {'1 proc×1':>10} {'1 proc×2':>10} "
          f"{'2 ranks×1':>10} {'2r/1p×2':>8} {'allreduce':>10} {'of step':>8}")
    for r in rows:
        print(f"{r['config']:<8} {r['parameters']:>9} {r['bytes_per_step'] / 1e6:>8.2f} "
              f"{r['1x1_samples_per_second']:>10.0f} {r['1x2_samples_per_second']:>10.0f} "
              f"{r['2x1_samples_per_second']:>10.0f} {r['ratio_2x1_over_1x2']:>8.2f} "
              f"{r['allreduce_seconds'] * 1e3:>8.2f}ms {r['allreduce_share_of_step']:>8.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
