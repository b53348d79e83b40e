"""blasnet.sklearn's estimators beside scikit-learn's own, as a user swaps one for the other.

    python bench/estimators.py            # about a minute on 2 cores; writes estimators.json
                                          # and prints the table of README.md's "Estimators"

Each pair gets the same constructor arguments (the ones both share) on the same split of the
same data, once for each random_state 0 .. --seeds-1, with one BLAS thread for both
(threadpoolctl sets scikit-learn's NumPy BLAS and blasnet's OpenBLAS). The score is the mean
of the estimator's own `score` on the held-out quarter (accuracy for classifiers, R² for the
regressor): one seed's score moves by a percent on 450 digits. The fit time is the median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
from sklearn import datasets as sk_datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron as SkPerceptron
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from threadpoolctl import threadpool_limits

import blasnet as bn
from blasnet import sklearn as bn_sklearn

HERE = Path(__file__).resolve().parent

Data = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]


def _digits() -> Data:
    X, y = bn.datasets.load_digits()
    return X / 16.0, y


def _cake() -> Data:
    return bn.datasets.cake(n_samples=2000, spread=0.8, seed=0)


def _friedman() -> Data:
    X, y = sk_datasets.make_friedman1(n_samples=4000, n_features=10, noise=0.3, random_state=0)
    return X, (y - y.mean()) / y.std()


#: name, data, the two estimator classes, the shared arguments.
CASES: list[tuple[str, Callable[[], Data], type, type, dict[str, Any]]] = [
    ("MLPClassifier adam, digits", _digits, bn_sklearn.MLPClassifier, SkMLPClassifier,
     dict(hidden_layer_sizes=(64,), solver="adam", batch_size=32, max_iter=50, tol=0.0)),
    ("MLPClassifier sgd, digits", _digits, bn_sklearn.MLPClassifier, SkMLPClassifier,
     dict(hidden_layer_sizes=(64,), solver="sgd", learning_rate_init=0.05, momentum=0.9,
          batch_size=32, max_iter=50, tol=0.0)),
    ("MLPClassifier adam, cake", _cake, bn_sklearn.MLPClassifier, SkMLPClassifier,
     dict(hidden_layer_sizes=(16,), activation="tanh", solver="adam", batch_size=64,
          max_iter=50, tol=0.0)),
    ("MLPRegressor adam, friedman1", _friedman, bn_sklearn.MLPRegressor, SkMLPRegressor,
     dict(hidden_layer_sizes=(64, 64), solver="adam", batch_size=64, max_iter=50, tol=0.0)),
    ("Perceptron, digits", _digits, bn_sklearn.Perceptron, SkPerceptron,
     dict(max_iter=30, tol=None)),
]


def _fit_and_score(make: Callable[[int], Any], data: tuple[Any, ...], seeds: int) -> tuple[float, float]:
    X_train, X_test, y_train, y_test = data
    seconds, scores = [], []
    for seed in range(seeds):
        estimator = make(seed)
        started = time.perf_counter()
        estimator.fit(X_train, y_train)
        seconds.append(time.perf_counter() - started)
        scores.append(float(estimator.score(X_test, y_test)))
    return statistics.median(seconds), statistics.fmean(scores)


def run(seeds: int) -> list[dict[str, Any]]:
    rows = []
    for name, load, ours, theirs, arguments in CASES:
        X, y = load()
        data = tuple(train_test_split(X, y, test_size=0.25, random_state=0))
        with threadpool_limits(limits=1), warnings.catch_warnings():
            bn.set_num_threads(1)
            warnings.simplefilter("ignore", ConvergenceWarning)  # fixed max_iter, tol=0
            blasnet_seconds, blasnet_score = _fit_and_score(
                lambda seed: ours(**arguments, random_state=seed), data, seeds)
            sklearn_seconds, sklearn_score = _fit_and_score(
                lambda seed: theirs(**arguments, random_state=seed), data, seeds)
        rows.append({"case": name, "samples": len(data[0]), "arguments": repr(arguments),
                     "blasnet": {"seconds": blasnet_seconds, "score": blasnet_score},
                     "sklearn": {"seconds": sklearn_seconds, "score": sklearn_score},
                     "speedup": sklearn_seconds / blasnet_seconds})
        print(f"{name}: blasnet {blasnet_score:.4f} in {blasnet_seconds:.3f} s, scikit-learn "
              f"{sklearn_score:.4f} in {sklearn_seconds:.3f} s", file=sys.stderr)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| estimator, data | train samples | mean score: blasnet | scikit-learn | "
             "fit: blasnet | fit: scikit-learn | scikit-learn ÷ blasnet |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['case']} | {row['samples']} | {row['blasnet']['score']:.4f} | "
                     f"{row['sklearn']['score']:.4f} | {row['blasnet']['seconds']:.3f} s | "
                     f"{row['sklearn']['seconds']:.3f} s | {row['speedup']:.1f}× |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5,
                        help="fits per estimator, random_state 0, 1, ... (default 5)")
    args = parser.parse_args()
    rows = run(args.seeds)
    (HERE / "estimators.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
