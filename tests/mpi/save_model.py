"""Run under mpiexec: trains over COMM_WORLD, then saves with blasnet.distributed.save to
argv[1]; every rank that calls a model's save leaves a file argv[1] + ".rank<R>", and rank 0
prints the weights' sum, which the saved file must hold."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

import blasnet as bn

comm = MPI.COMM_WORLD
path = sys.argv[1]
original = bn.Sequential.save


def logged_save(self: bn.Sequential, *args: Any, **kwargs: Any) -> None:
    Path(f"{path}.rank{comm.rank}").touch()
    original(self, *args, **kwargs)


bn.Sequential.save = logged_save  # type: ignore[method-assign]
X = np.random.default_rng(1).normal(size=(40, 3))
net = bn.Sequential([bn.Dense(5, activation="relu"), bn.Dense(2)], input_dim=3, seed=5)
adam = bn.Adam(lr=0.01)
net.fit(X, X[:, :2] * 2, "mse", adam, epochs=2, batch_size=7, comm=comm)
bn.distributed.save(net, path, comm, optimizer=adam)
assert Path(path).is_file(), f"rank {comm.rank} returned before the file was written"
if comm.rank == 0:
    print(repr(float(sum(float(np.sum(v)) for v in net.parameters().values()))))
