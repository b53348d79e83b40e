"""Instructions of one Python ``Sequential.train_step`` of the benchmark's configurations,
counted by valgrind's callgrind, for installed blasnets side by side:

    python bench/train_step_instructions.py --python BEFORE/bin/python AFTER/bin/python

Wall-clock times of a step of a few microseconds move by several percent from run to run on a
shared virtual machine; instruction counts repeat exactly, and so compare a build before a
change with one after it. Each configuration runs in a process of its own, under callgrind,
for a few steps and for many more; the difference over the extra steps is one step's count,
free of the interpreter's start-up and the network's construction. The whole call is counted,
the binding included (bench/step_instructions.cpp counts the C++ step alone). One BLAS
thread. Prints a Markdown table, and JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

#: Steps of the short and the long run of each configuration: the long run's extra steps
#: are what is counted (fewer for mnist, whose step is a hundred times digits').
STEPS = {"xor": (1000, 6000), "digits": (1000, 6000), "mnist": (20, 120), "mnist-adam": (20, 120)}

#: Run inside the interpreter under test: the benchmark's own network and batch.
WORKER = """
import sys
from blasnet.bench.configs import CONFIGS
from blasnet.bench.data import make_problem
from blasnet.bench.impl_blasnet import build
config, dtype, steps = CONFIGS[sys.argv[1]], sys.argv[2], int(sys.argv[3])
trainer = build(config, make_problem(config, dtype), dtype, threads=1)
for _ in range(steps):
    trainer.step()
"""


def instructions(python: str, config: str, dtype: str, steps: int) -> int:
    """What callgrind counts for the whole process running ``steps`` steps."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         python, "-c", WORKER, config, dtype, str(steps)],
        capture_output=True, text=True, check=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_step(python: str, config: str, dtype: str) -> float:
    """One step's instructions: the long run's count less the short run's, per extra step."""
    short, long = STEPS[config]
    return (instructions(python, config, dtype, long)
            - instructions(python, config, dtype, short)) / (long - short)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", nargs="+", required=True,
                        help="interpreters with blasnet installed; the first is the baseline")
    parser.add_argument("--configs", nargs="+", default=["xor", "digits", "mnist"],
                        choices=sorted(STEPS))
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"],
                        choices=["float32", "float64"])
    parser.add_argument("--json", help="also write the counts to this file")
    args = parser.parse_args(argv)
    rows = []
    for config in args.configs:
        for dtype in args.dtypes:
            counts = [per_step(python, config, dtype) for python in args.python]
            rows.append({"config": config, "dtype": dtype, "instructions_per_step": counts,
                         "ratio_to_first": [c / counts[0] for c in counts]})
            print(f"{config} {dtype}: {counts}", file=sys.stderr)
    print("| configuration | dtype | " + " | ".join(args.python) + " | ratios |")
    print("|---|---|" + "---:|" * (len(args.python) + 1))
    for row in rows:
        counts = " | ".join(f"{c:,.0f}" for c in row["instructions_per_step"])
        ratios = ", ".join(f"{r:.3f}" for r in row["ratio_to_first"][1:])
        print(f"| {row['config']} | {row['dtype']} | {counts} | {ratios} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump({"python": args.python, "cases": rows}, file, indent=1)
            file.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
