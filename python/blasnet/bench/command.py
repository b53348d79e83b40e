"""``blasnet bench``: a short run of the benchmark, printed as tables.

The full run, with more time per worker, three rounds, the machine's peak, the two-thread-pool
scenario and a plot, is ``python bench/run.py`` in a clone of the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from ..cli_args import count, finite, output_file
from .._paths import checked_path
from .configs import CONFIGS
from .implementations import IMPLEMENTATIONS
from .report import markdown
from .runner import Options, run


def _positive_seconds(text: str) -> float:
    value = finite(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``blasnet bench``."""
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS),
                        metavar="CONFIG",
                        help=f"networks to train: {', '.join(CONFIGS)} (default: all)")
    parser.add_argument("--dtypes", nargs="+", choices=["float32", "float64"],
                        default=["float32"], metavar="DTYPE",
                        help="float32 and/or float64 (default: float32)")
    parser.add_argument("--threads", nargs="+", type=count, default=[1], metavar="N",
                        help="BLAS thread counts to run with (default: 1)")
    parser.add_argument("--implementations", nargs="+", choices=list(IMPLEMENTATIONS),
                        default=list(IMPLEMENTATIONS), metavar="IMPL",
                        help=f"{', '.join(IMPLEMENTATIONS)} (default: all; those not "
                             "installed are skipped)")
    parser.add_argument("--seconds", type=_positive_seconds, default=0.3,
                        help="timing budget of each worker process, split between a step "
                             "and an epoch (default: 0.3)")
    parser.add_argument("--rounds", type=count, default=1,
                        help="times each worker is started, implementations taking turns "
                             "(default: 1)")
    parser.add_argument("--latency", action="store_true",
                        help="also time each implementation's forward on a single sample of "
                             "the digits network, in each dtype at 1 thread (a few seconds)")
    parser.add_argument("--json", type=output_file, metavar="FILE",
                        help="also write every median and minimum to FILE as JSON")
    parser.add_argument("--plot", type=output_file, metavar="PNG",
                        help="also draw the step times to PNG (needs matplotlib)")


def main(args: argparse.Namespace, out: TextIO) -> int:
    """Runs what ``args`` ask for, telling stderr what starts, and prints the tables to ``out``."""
    options = Options(configs=args.configs, dtypes=args.dtypes, threads=args.threads,
                      implementations=args.implementations, seconds=args.seconds,
                      rounds=args.rounds, peak=False, latency=args.latency, hazard=False)
    results = run(options, progress=lambda message: print(message, file=sys.stderr))
    out.write(markdown(results))
    if args.json:
        Path(checked_path(args.json)).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if args.plot:
        from ..plots import plot_bench

        plot_bench(results, args.plot)
        print(f"wrote {args.plot}", file=out)
    return 0
