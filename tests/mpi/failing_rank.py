"""Run under mpiexec: rank 1 fails — in a callback (argv[1] == "callback") or on data of the
wrong shape (argv[1] == "data") — while the others train on; the job must abort, not hang."""

from __future__ import annotations

import sys

import numpy as np
from mpi4py import MPI

import blasnet as bn

comm = MPI.COMM_WORLD
X = np.random.default_rng(0).normal(size=(64, 4))
T = X.sum(axis=1, keepdims=True)
if sys.argv[1] == "data" and comm.rank == 1:
    X = X[:, :3]


def callback(record: bn.EpochRecord) -> None:
    if comm.rank == 1 and record.epoch == 1:
        raise RuntimeError("a callback failed on purpose")


net = bn.Sequential([bn.Dense(4, activation="tanh"), bn.Dense(1)], input_dim=4)
net.fit(X, T, "mse", bn.Adam(), epochs=100_000, batch_size=8, comm=comm, callbacks=[callback])
print("training ended without the failure", flush=True)
