"""How long ``bn.load`` takes as a model file's header grows: chains of 4,000, 40,000 and
400,000 nodes. The load should grow linearly with the header (it was quadratic: 226 s for
the 40,000-node chain).

Two chains of Dense(1) nodes over one input: "own weights", each node with its W and b (two
tensors in the header per node, 269 header bytes a node, so that save refuses 400,000 nodes:
their header would pass the 100 MB that load reads, as the safetensors package), and "shared
weights", every node reusing the first one's W and b (one tensor pair in all, 136 bytes a
node). Each file is saved once, then loaded --rounds times; the fastest load counts, in CPU
seconds of this process (loading is single-threaded; CPU time is what a busy machine disturbs
least), and the C++ part alone (``_core.load_model``: read, parse, check, build the graph) is
timed too. Prints a table and writes model_file_load.json next to this file. About a minute
on 2 cores.

    python bench/model_file_load.py
    python bench/model_file_load.py --nodes 1000 10000 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def chain(nodes: int, shared: bool) -> Any:
    """A chain of ``nodes`` Dense(1) tanh nodes over one input."""
    import blasnet as bn

    if not shared:
        return bn.Sequential([bn.Dense(1, activation="tanh") for _ in range(nodes)], input_dim=1)
    g = bn.Graph()
    first = h = g.dense(g.input("x", 1), 1, activation="tanh", name="n0")
    for k in range(1, nodes):
        h = g.dense(h, 1, activation="tanh", name=f"n{k}", share=first)
    g.output(h, "mse")
    return g


def fastest(call: Callable[[], Any], rounds: int) -> float:
    """The fewest CPU seconds of ``rounds`` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return best


def measure(nodes: int, shared: bool, rounds: int, folder: str) -> dict[str, Any]:
    import blasnet as bn
    from blasnet import _core

    path = os.path.join(folder, f"chain_{nodes}_{'shared' if shared else 'own'}.safetensors")
    result: dict[str, Any] = {"nodes": nodes, "weights": "shared" if shared else "own"}
    model = chain(nodes, shared)
    start = time.perf_counter()
    try:
        model.save(path)
    except bn.ModelFileError as error:  # a header past the limit load reads
        result["refused"] = str(error).split("': ", 1)[1]
        return result
    result["save_s"] = time.perf_counter() - start
    result["file_bytes"] = os.path.getsize(path)
    with open(path, "rb") as file:
        result["header_bytes"] = int.from_bytes(file.read(8), "little")
    result["core_load_s"] = fastest(lambda: _core.load_model(path), rounds)
    result["load_s"] = fastest(lambda: bn.load(path), rounds)
    os.unlink(path)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[4_000, 40_000, 400_000])
    parser.add_argument("--rounds", type=int, default=3, help="loads of each file (default 3)")
    parser.add_argument("--out", type=Path, default=HERE / "model_file_load.json",
                        help="the JSON file to write (default: model_file_load.json here)")
    args = parser.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory() as folder:
        for shared in (False, True):
            for nodes in args.nodes:
                results.append(measure(nodes, shared, args.rounds, folder))
                print(json.dumps(results[-1]), flush=True)
    report = {"load_average": os.getloadavg()[0], "rounds": args.rounds, "results": results}
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"\nfastest of {args.rounds} loads; load average {report['load_average']:.1f}")
    print(f"{'weights':<7} {'nodes':>8} {'header MB':>10} {'save s':>8} {'C++ load s':>11} "
          f"{'bn.load s':>10} {'µs/node':>8}")
    for r in results:
        if "refused" in r:
            print(f"{r['weights']:<7} {r['nodes']:>8}   save refused: {r['refused']}")
            continue
        print(f"{r['weights']:<7} {r['nodes']:>8} {r['header_bytes'] / 1e6:>10.1f} "
              f"{r['save_s']:>8.2f} {r['core_load_s']:>11.3f} {r['load_s']:>10.3f} "
              f"{r['load_s'] / r['nodes'] * 1e6:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
