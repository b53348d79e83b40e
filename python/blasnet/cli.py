"""The ``blasnet`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _core, demo
from .bench import command as bench_command


def _positive_seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be non-negative, got {value}")
    return value


def cmake_dir() -> Path:
    """The folder holding blasnetConfig.cmake inside the installed package: with it on
    CMAKE_PREFIX_PATH, ``find_package(blasnet CONFIG REQUIRED)`` finds the headers, the static
    library and the OpenBLAS it calls.

    Examples
    --------
    >>> from blasnet.cli import cmake_dir
    >>> (cmake_dir() / "blasnetConfig.cmake").is_file()
    True
    """
    return Path(__file__).resolve().parent / "cmake"


class _PrintAndExit(argparse.Action):
    """An option that prints a fixed text and exits, like --version."""

    def __init__(self, option_strings: Sequence[str], dest: str, text: str, help: str) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)
        self.text = text

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(self.text)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="blasnet",
        description="Feed-forward neural networks whose passes are BLAS matrix products.",
    )
    parser.add_argument("--version", action="version", version=f"blasnet {_core.__version__}")
    parser.add_argument(
        "--cmake-dir",
        action=_PrintAndExit,
        text=str(cmake_dir()),
        help="print the folder of blasnet's CMake package (for CMAKE_PREFIX_PATH) and exit",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo_parser = commands.add_parser(
        "demo",
        help="train the note's XOR and cake examples on built-in data",
        description="Trains the note's XOR (Figure 4) and two-class cake (Figure 1) examples "
        "and prints what the networks learned and how long training took.",
    )
    demo_parser.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    demo_parser.add_argument("--seed", type=_positive_seed, default=0,
                             help="seed of the weights, the cake and the shuffling (default 0)")

    bench_parser = commands.add_parser(
        "bench",
        help="time training steps of blasnet next to NumPy, PyTorch and scikit-learn",
        description="Times one training step and one epoch of each implementation, each in a "
        "process of its own, and prints the medians and their ratios to blasnet and to the "
        "GEMM floor. A short run; the full one is bench/run.py in the repository.",
    )
    bench_command.add_arguments(bench_parser)

    commands.add_parser(
        "info",
        help="show the version and the BLAS library in use",
        description="Prints blasnet's version, the BLAS library it calls and its thread count.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the process's exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        demo.run(sys.stdout, dtype=args.dtype, seed=args.seed)
        return 0
    if args.command == "bench":
        return bench_command.main(args, sys.stdout)
    print(f"blasnet {_core.__version__}")
    print(f"BLAS: {_core.blas_config()}")
    print(f"BLAS threads: {_core.get_num_threads()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
