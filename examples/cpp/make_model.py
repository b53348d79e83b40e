"""Trains a small Sequential on XOR with blasnet, saves it, and writes the samples and Python's
predictions of them, for the C++ application predict.cpp to match; then, given predict's output,
checks that it agrees with Python's to 1e-12.

    python examples/cpp/make_model.py OUT_DIR                # OUT_DIR/xor.safetensors, samples.csv, expected.csv
    build/predict/predict OUT_DIR/xor.safetensors OUT_DIR/samples.csv > OUT_DIR/cpp.csv
    python examples/cpp/make_model.py OUT_DIR --check OUT_DIR/cpp.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import blasnet as bn


def make(out: Path) -> None:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    T = np.array([[0.0], [1.0], [1.0], [0.0]])
    net = bn.Sequential([bn.Dense(8, activation="tanh"), bn.Dense(1, activation="sigmoid")],
                        input_dim=2, seed=0)
    net.fit(X, T, loss="binary_cross_entropy", optimizer=bn.SGD(lr=0.5), epochs=2000, batch_size=4)
    out.mkdir(parents=True, exist_ok=True)
    net.save(out / "xor.safetensors")
    samples = np.vstack([X, np.random.default_rng(0).uniform(-1, 2, size=(6, 2))])
    np.savetxt(out / "samples.csv", samples, delimiter=",", fmt="%.17g")
    np.savetxt(out / "expected.csv", net.predict(samples).reshape(len(samples), -1),
               delimiter=",", fmt="%.17g")
    print(f"wrote {out / 'xor.safetensors'}, samples.csv and expected.csv")


def check(out: Path, predictions: Path) -> None:
    expected = np.loadtxt(out / "expected.csv", delimiter=",", ndmin=2)
    got = np.loadtxt(predictions, delimiter=",", ndmin=2)
    if got.shape != expected.shape:
        raise SystemExit(f"C++ printed {got.shape} predictions, Python made {expected.shape}")
    error = float(np.max(np.abs(got - expected)))
    if error > 1e-12:
        raise SystemExit(f"C++ and Python predictions differ by {error:.3g}")
    print(f"C++ predictions match Python's ({len(got)} samples, max difference {error:.3g})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--check", type=Path, metavar="PREDICTIONS")
    args = parser.parse_args()
    if args.check is None:
        make(args.out)
    else:
        check(args.out, args.check)


if __name__ == "__main__":
    main()
