"""The full benchmark run: every configuration, dtype and thread count, in rounds of workers,
with the machine's gemm peak, the single-sample forward and the two-thread-pool scenario.

Writes, next to this file, results.json (every median and minimum), step_times.png and the
results section of README.md; prints the tables too.

    pip install '.[bench]'       # from the repository root: blasnet, torch (CPU), scikit-learn,
                                 # matplotlib, threadpoolctl
    python bench/run.py          # about 15 minutes on a 2-core machine
    python bench/run.py --seconds 0.3 --rounds 1    # a rougher run in about 5
    python bench/run.py --report-only               # plot and README again from results.json
    python bench/run.py --latency-only              # the single-sample forward alone (about a
                                                    # minute), merged into results.json
    python bench/run.py --configs mnist-adam        # these configurations alone (every dtype
                                                    # and thread count), merged into results.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Module each part of the run imports, and the pip package that provides it.
NEEDED = {"blasnet": "blasnet", "numpy": "numpy", "threadpoolctl": "threadpoolctl",
          "torch": "torch", "sklearn": "scikit-learn", "matplotlib": "matplotlib"}


def missing_packages() -> list[str]:
    """pip names of the packages the full run needs and this Python cannot import."""
    return [package for module, package in NEEDED.items()
            if importlib.util.find_spec(module) is None]


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and writes its three outputs; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float,
                        help="timing budget of each worker process (default: 1.0)")
    parser.add_argument("--rounds", type=int,
                        help="workers per implementation and case, taking turns (default: 3)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--report-only", action="store_true",
                      help="measure nothing: draw the plot and rewrite the README from the "
                           "existing results.json")
    only.add_argument("--latency-only", action="store_true",
                      help="measure only the single-sample forward, replace it in the "
                           "existing results.json, then draw and rewrite as --report-only")
    only.add_argument("--configs", nargs="+", metavar="CONFIG",
                      help="measure only these configurations (every dtype and thread count), "
                           "put them in place of their earlier figures in the existing "
                           "results.json, then draw and rewrite as --report-only")
    args = parser.parse_args(argv)

    missing = missing_packages()
    if missing:
        print(f"bench/run.py needs {', '.join(missing)}, which this Python cannot import.\n"
              "Install blasnet with its benchmark extras, from the repository root:\n\n"
              "    pip install '.[bench]'\n", file=sys.stderr)
        return 1

    from blasnet.bench import CONFIGS, Options, run
    from blasnet.bench.report import markdown, replace_section
    from blasnet.bench.runner import merge_cases, merge_latency
    from blasnet.plots import plot_bench

    unknown = [name for name in args.configs or () if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(CONFIGS)}")

    results_path = HERE / "results.json"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if not args.report_only and load > 0.5 * (os.cpu_count() or 1):
        print(f"warning: the machine has been busy (one-minute load average {load:.2f} on "
              f"{os.cpu_count()} CPUs); thread pools are very sensitive to other work, so if "
              "it still is, expect noisy figures", file=sys.stderr)
    if args.report_only:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    else:
        started = time.perf_counter()

        def progress(message: str) -> None:
            print(f"[{time.perf_counter() - started:5.0f} s] {message}", file=sys.stderr,
                  flush=True)

        # Unset options keep Options' defaults, which are the full run's.
        chosen = {name: value for name, value in (("seconds", args.seconds),
                                                  ("rounds", args.rounds)) if value is not None}
        if args.latency_only:
            # Read before measuring: a missing or broken results.json stops the run at once.
            earlier = json.loads(results_path.read_text(encoding="utf-8"))
            measured = run(Options(configs=(), peak=False, hazard=False, **chosen), progress)
            results = merge_latency(earlier, measured)
        elif args.configs:
            earlier = json.loads(results_path.read_text(encoding="utf-8"))
            measured = run(Options(configs=args.configs, peak=False, latency=False,
                                   hazard=False, **chosen), progress)
            results = merge_cases(earlier, measured)
        else:
            results = run(Options(**chosen), progress)
        # Written first: the measurements survive whatever goes wrong in drawing or writing.
        results_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    plot_bench(results, HERE / "step_times.png")
    tables = markdown(results)
    readme = HERE / "README.md"
    section = tables + "\n![Median step time per configuration](step_times.png)\n"
    readme.write_text(replace_section(readme.read_text(encoding="utf-8"), section),
                      encoding="utf-8")
    print(tables)
    print(f"wrote {results_path}, {HERE / 'step_times.png'} and {readme}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
