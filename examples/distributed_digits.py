"""Handwritten digits trained data-parallel over MPI: each rank computes the gradient of its
half of every batch, one allreduce adds them, and every rank takes the same Adam step.

    pip install mpi4py mpich
    mpirun -n 2 python examples/distributed_digits.py [MODEL]

Every rank runs this whole script on the whole data set (``fit`` indexes only the rows of the
rank's own part of each batch). Rank 0 prints the test accuracy and saves the model to MODEL
(default ``digits.safetensors``); the weights are those one process would have reached with
the same batches. Exits non-zero when the test accuracy is below 95%.
"""

from __future__ import annotations

import sys

import numpy as np
from mpi4py import MPI

import blasnet as bn


def main() -> None:
    comm = MPI.COMM_WORLD
    path = sys.argv[1] if len(sys.argv) > 1 else "digits.safetensors"
    X, y = bn.datasets.load_digits()
    X = X / 16.0  # pixel counts 0..16 -> [0, 1]
    test = np.arange(len(y)) % 4 == 0  # every fourth digit held out
    net = bn.Sequential(
        [bn.Dense(64, activation="relu"), bn.Dense(10, activation="softmax")], input_dim=64, seed=0
    )
    adam = bn.Adam(lr=3e-3)
    history = net.fit(
        X[~test], y[~test], "softmax_cross_entropy", adam, epochs=60, batch_size=64,
        validation_fraction=0.1, early_stopping=bn.EarlyStopping(patience=8), comm=comm,
    )
    bn.distributed.save(net, path, comm, optimizer=adam)
    accuracy = float(np.mean(net.predict(X[test]).argmax(axis=1) == y[test]))
    if comm.Get_rank() == 0:
        print(
            f"{comm.Get_size()} ranks, {history.epochs} epochs ({history.stopped}) in "
            f"{history.seconds:.2f} s; test accuracy {accuracy:.4f} on {int(test.sum())} digits; "
            f"wrote {path}"
        )
    if accuracy < 0.95:
        raise SystemExit(f"the network reached only {accuracy:.1%} test accuracy")


if __name__ == "__main__":
    main()
