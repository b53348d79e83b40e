"""Runs the workers in rounds and gathers their samples into one JSON-ready result.

For every configuration, dtype and thread count, a round starts one worker per implementation
and one for the GEMM floor, each a fresh process, one after another. Each round starts one
place further along the list (round 1: blasnet, numpy, torch, sklearn, floor; round 2: numpy,
torch, sklearn, floor, blasnet; ...), so no implementation always follows the same neighbour
or always runs first after a pause, and a slow spell of the machine falls on all of them.
The samples of all rounds are pooled before the minimum and median are taken. The
single-sample forward of the digits network takes its rounds the same way, at one thread.

Examples
--------
>>> options = Options(configs=["xor"], dtypes=["float64"], threads=[1], seconds=0.05,
...                   rounds=1, implementations=["blasnet"], peak=False, latency=False,
...                   hazard=False)
>>> results = run(options)
>>> case = results["cases"][0]
>>> case["config"], case["step_flops"], sorted(case["implementations"])
('xor', 112, ['blasnet'])
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

from .. import _core
from . import hazard as two_pools
from .configs import CONFIGS, step_flops
from .implementations import IMPLEMENTATIONS, missing_packages

# The side of the square gemm whose GFLOP/s stands for the machine's peak.
PEAK_SIZE = 2048
FLOOR = "floor"
# The network and thread count of the single-sample forward: the performance target is a
# digits-sized net predicting one sample from Python, where threads cannot help.
LATENCY_CONFIG = "digits"
LATENCY_THREADS = 1


@dataclass
class Options:
    """What to run, and how long each worker may time; the defaults are the full run of
    ``bench/run.py``.

    Parameters
    ----------
    configs, dtypes, threads, implementations
        The cases: every configuration in every dtype at every thread count, by every
        implementation (those not installed are skipped).
    seconds
        Timing budget of each worker process.
    rounds
        How many times each worker is started, the implementations taking turns.
    peak
        Also time one large gemm per dtype and thread count: the machine's peak.
    latency
        Also time each implementation's forward on one sample of the digits network, per
        dtype, at one thread.
    hazard
        Also run the two-thread-pool scenario (:mod:`blasnet.bench.hazard`).
    """

    configs: Sequence[str] = tuple(CONFIGS)
    dtypes: Sequence[str] = ("float32", "float64")
    threads: Sequence[int] = (1, 2)
    implementations: Sequence[str] = tuple(IMPLEMENTATIONS)
    seconds: float = 1.0
    rounds: int = 3
    peak: bool = True
    latency: bool = True
    hazard: bool = True


class WorkerError(RuntimeError):
    """A worker process failed; the message holds the end of its stderr."""


def run_worker(task: str, threads: int, arguments: Sequence[str],
               first: str = "numpy") -> dict[str, Any]:
    """Run the worker's ``TASK --threads N ARGUMENTS...`` in a new process; return its JSON.

    The worker's environment limits OpenBLAS, OpenMP and MKL to ``threads`` before any library
    loads, which is the only limit some of them read. The process imports ``first`` ("numpy"
    or "blasnet") before anything else: blasnet sets up the OpenBLAS libraries that load with
    it (a short spin timeout, see ``blasnet/__init__.py``), so NumPy's is as NumPy ships it
    only when NumPy comes first, as in a script that starts with ``import numpy as np``. Every
    measurement but one side of the two-thread-pool scenario imports NumPy first.
    """
    env = dict(os.environ)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = str(threads)
    launcher = (f"import {first}, runpy; "
                f"runpy.run_module('{__package__}.worker', run_name='__main__', alter_sys=True)")
    command = [sys.executable, "-c", launcher, task, "--threads", str(threads), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise WorkerError(f"worker {' '.join(command[3:])} ({first} imported first) exited "
                          f"with {done.returncode}: {tail}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def summarize(rounds: Sequence[Sequence[float]]) -> dict[str, Any]:
    """Count, minimum and median of the samples of all rounds pooled, and each round's median.

    Examples
    --------
    >>> summarize([[3.0, 1.0, 2.0], [4.0]])
    {'n': 4, 'min': 1.0, 'median': 2.5, 'round_medians': [2.0, 4.0]}
    """
    pooled = [sample for samples in rounds for sample in samples]
    return {"n": len(pooled), "min": min(pooled), "median": statistics.median(pooled),
            "round_medians": [statistics.median(samples) for samples in rounds]}


def _rotated(entries: Sequence[str], by: int) -> list[str]:
    shift = by % len(entries)
    return [*entries[shift:], *entries[:shift]]


def available(names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The implementations in ``names`` that can run here, and a note for each one that cannot.

    Examples
    --------
    >>> available(["blasnet"])
    (['blasnet'], {})
    """
    runnable, skipped = [], {}
    for name in names:
        missing = missing_packages(IMPLEMENTATIONS[name])
        if missing:
            skipped[name] = (f"skipped: {', '.join(missing)} not installed "
                             "(pip install 'blasnet[bench]')")
        else:
            runnable.append(name)
    return runnable, skipped


def _trained(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One implementation's worker results of all rounds, pooled."""
    memory = [result["memory_mb"] for result in rounds if result["memory_mb"] is not None]
    return {"computes_in": rounds[-1]["computes_in"],
            "step": summarize([result["step"] for result in rounds]),
            "epoch": summarize([result["epoch"] for result in rounds]),
            "memory_mb": max(memory, default=None)}


def _floor(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The floor workers' results of all rounds: the sum over a step's gemms of each one's
    median time alone."""
    gemms = []
    for index, gemm in enumerate(rounds[0]["gemms"]):
        median = summarize([result["gemms"][index]["seconds"] for result in rounds])["median"]
        gemms.append({key: gemm[key] for key in ("role", "layer", "m", "n", "k")}
                     | {"median": median})
    return {"seconds": sum(gemm["median"] for gemm in gemms), "gemms": gemms}


def _case(config_name: str, dtype: str, threads: int, implementations: Sequence[str],
          options: Options, progress: Callable[[str], None]) -> dict[str, Any]:
    """Rounds of workers for one configuration, dtype and thread count.

    An entry whose worker fails keeps the error instead of samples, and is not started again.
    """
    config = CONFIGS[config_name]
    common = ["--config", config_name, "--dtype", dtype, "--seconds", str(options.seconds)]
    outputs: dict[str, list[dict[str, Any]]] = {entry: [] for entry in [*implementations, FLOOR]}
    errors: dict[str, str] = {}
    for round_index in range(options.rounds):
        for entry in _rotated(list(outputs), round_index):
            if entry in errors:
                continue
            progress(f"{config_name} {dtype} {threads} thread(s), "
                     f"round {round_index + 1}/{options.rounds}: {entry}")
            try:
                if entry == FLOOR:
                    outputs[entry].append(run_worker("floor", threads, common))
                else:
                    outputs[entry].append(
                        run_worker("train", threads, [*common, "--implementation", entry]))
            except WorkerError as error:
                errors[entry] = str(error)
    measured = {entry: {"error": errors[entry]} if entry in errors
                else _floor(rounds) if entry == FLOOR else _trained(rounds)
                for entry, rounds in outputs.items()}
    return {
        "config": config_name,
        "label": config.label,
        "dtype": dtype,
        "threads": threads,
        "batch": config.batch,
        "epoch_samples": config.epoch_samples,
        "step_flops": step_flops(config),
        "floor": measured.pop(FLOOR),
        "implementations": measured,
    }


def _latency(implementations: Sequence[str], options: Options,
             progress: Callable[[str], None]) -> dict[str, Any]:
    """Rounds of one latency worker per implementation, for each dtype.

    As in :func:`_case`, an implementation whose worker fails keeps the error and is not
    started again.
    """
    config = CONFIGS[LATENCY_CONFIG]
    cases = []
    for dtype in options.dtypes:
        arguments = ["--config", LATENCY_CONFIG, "--dtype", dtype,
                     "--seconds", str(options.seconds)]
        outputs: dict[str, list[dict[str, Any]]] = {name: [] for name in implementations}
        errors: dict[str, str] = {}
        for round_index in range(options.rounds):
            for name in _rotated(implementations, round_index):
                if name in errors:
                    continue
                progress(f"single-sample forward, {dtype}, "
                         f"round {round_index + 1}/{options.rounds}: {name}")
                try:
                    outputs[name].append(run_worker("latency", LATENCY_THREADS,
                                                    [*arguments, "--implementation", name]))
                except WorkerError as error:
                    errors[name] = str(error)
        cases.append({"dtype": dtype, "implementations": {
            name: {"error": errors[name]} if name in errors
            else {"computes_in": rounds[-1]["computes_in"],
                  "forward": summarize([result["forward"] for result in rounds])}
            for name, rounds in outputs.items()}})
    return {"config": LATENCY_CONFIG, "label": config.label, "threads": LATENCY_THREADS,
            "cases": cases}


def merge_latency(results: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any]:
    """``results`` of an earlier run with its latency section replaced by that of ``measured``,
    a run of the latency alone.

    The section keeps when and how it was measured, since the header of ``results`` tells
    of the earlier run.

    Examples
    --------
    >>> earlier = {"cases": ["..."], "latency": {"cases": ["old"]}}
    >>> measured = {"environment": {"date": "today", "load_average": 0.1},
    ...             "options": {"rounds": 3, "seconds": 1.0},
    ...             "skipped": {}, "latency": {"cases": ["new"]}}
    >>> merged = merge_latency(earlier, measured)
    >>> merged["cases"], merged["latency"]["cases"], merged["latency"]["measured"]["date"]
    (['...'], ['new'], 'today')
    """
    environment, options = measured["environment"], measured["options"]
    separately = {"date": environment["date"], "load_average": environment["load_average"],
                  "rounds": options["rounds"], "seconds": options["seconds"],
                  "skipped": measured["skipped"]}
    return {**results, "latency": {**measured["latency"], "measured": separately}}


def merge_cases(results: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any]:
    """``results`` of an earlier run with the cases of ``measured``, a run of some
    configurations alone, in place of its cases of the same configuration, dtype and thread
    count, or added to them; the cases then in the order of :data:`.CONFIGS`.

    Each new case keeps when and how it was measured, since the header of ``results`` tells
    of the earlier run.

    Examples
    --------
    >>> earlier = {"cases": [{"config": "wide", "dtype": "float32", "threads": 1},
    ...                      {"config": "mnist", "dtype": "float32", "threads": 1}]}
    >>> measured = {"environment": {"date": "today", "load_average": 0.1},
    ...             "options": {"rounds": 3, "seconds": 1.0}, "skipped": {},
    ...             "cases": [{"config": "mnist-adam", "dtype": "float32", "threads": 1}]}
    >>> merged = merge_cases(earlier, measured)
    >>> [case["config"] for case in merged["cases"]], merged["cases"][1]["measured"]["date"]
    (['mnist', 'mnist-adam', 'wide'], 'today')
    """
    environment, options = measured["environment"], measured["options"]
    separately = {"date": environment["date"], "load_average": environment["load_average"],
                  "rounds": options["rounds"], "seconds": options["seconds"],
                  "skipped": measured["skipped"],
                  "reinstalled_during_run": environment.get("reinstalled_during_run", False)}

    def key(case: dict[str, Any]) -> tuple[str, str, int]:
        return case["config"], case["dtype"], case["threads"]

    cases = {key(case): case for case in results["cases"]}
    cases.update({key(case): {**case, "measured": separately} for case in measured["cases"]})
    order = {name: index for index, name in enumerate(CONFIGS)}
    # sorted() is stable: dtypes and thread counts keep the order they were run in.
    merged = sorted(cases.values(), key=lambda case: order.get(case["config"], len(order)))
    return {**results, "cases": merged}


def _peak(dtype: str, threads: int, options: Options) -> dict[str, Any]:
    seconds = run_worker("peak", threads, ["--dtype", dtype, "--size", str(PEAK_SIZE),
                                           "--seconds", str(options.seconds)])["seconds"]
    return {"dtype": dtype, "threads": threads, "size": PEAK_SIZE,
            "gflops": 2 * PEAK_SIZE**3 / statistics.median(seconds) / 1e9}


def _hazard(options: Options, progress: Callable[[str], None]) -> dict[str, Any]:
    """Each side alone and alternating, with NumPy and with blasnet imported first, in rounds
    of one worker per import order and mode."""
    pooled: dict[str, dict[str, dict[str, list[list[float]]]]] = {
        first: {side: {"alone": [], "alternating": []} for side in ("numpy", "blasnet")}
        for first in two_pools.FIRST_IMPORTS}
    for round_index in range(options.rounds):
        for first in two_pools.FIRST_IMPORTS:
            for mode in _rotated(two_pools.MODES, round_index):
                progress(f"two thread pools, {first} imported first, "
                         f"round {round_index + 1}/{options.rounds}: {mode}")
                result = run_worker("hazard", two_pools.THREADS,
                                    ["--mode", mode, "--seconds", str(options.seconds)], first)
                for side, times in result.items():
                    how = "alternating" if mode == "alternate" else "alone"
                    pooled[first][side][how].append(times)
    return {
        "threads": two_pools.THREADS,
        "matmul": list(two_pools.MATMUL),
        "config": two_pools.CONFIG,
        "dtype": two_pools.DTYPE,
        "imported_first": {
            first: {side: {how: summarize(rounds) for how, rounds in hows.items()}
                    for side, hows in sides.items()}
            for first, sides in pooled.items()},
    }


def environment() -> dict[str, Any]:
    """The machine and library versions a result was measured with."""
    versions: dict[str, str | None] = {}
    for package in ("blasnet", "numpy", "torch", "scikit-learn", "threadpoolctl"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "blas": _core.blas_config(),
            "versions": versions, "date": time.strftime("%Y-%m-%d %H:%M %Z"),
            "load_average": _load_average()}


def _core_file_version() -> tuple[int, int]:
    """Modification time and size of blasnet's compiled core: when they change during a run,
    someone reinstalled blasnet, and later workers loaded another build than earlier ones."""
    stat = os.stat(_core.__file__)
    return stat.st_mtime_ns, stat.st_size


def _load_average() -> float | None:
    """The system's one-minute load average, where there is one. Taken before the run, it shows
    other work on the machine (a benchmark of thread pools is very sensitive to it); during
    the run, the workers themselves would be most of it."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every measurement ``options`` ask for, as one JSON-ready dict.

    Implementations whose libraries are missing are left out, each with a note under
    ``"skipped"``; one whose worker fails keeps the error under its name and the run goes on.
    ``progress`` is told what starts next.
    """
    started = time.perf_counter()
    core_before = _core_file_version()
    implementations, skipped = available(options.implementations)
    results: dict[str, Any] = {"environment": environment(), "options": asdict(options),
                               "skipped": skipped, "peak": [], "cases": []}
    if options.peak:
        for dtype in options.dtypes:
            for threads in options.threads:
                progress(f"peak {dtype} gemm, {threads} thread(s)")
                results["peak"].append(_peak(dtype, threads, options))
    for config_name in options.configs:
        for dtype in options.dtypes:
            for threads in options.threads:
                results["cases"].append(
                    _case(config_name, dtype, threads, implementations, options, progress))
    if options.latency and implementations:
        results["latency"] = _latency(implementations, options, progress)
    if options.hazard:
        results["hazard"] = _hazard(options, progress)
    results["environment"]["reinstalled_during_run"] = _core_file_version() != core_before
    results["seconds"] = time.perf_counter() - started
    return results
