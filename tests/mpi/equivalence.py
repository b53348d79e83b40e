"""Run under mpiexec: trains each case alone (on every rank, the single-process fit) and over
COMM_WORLD, and has rank 0 write, per case, the largest relative difference of the weights,
both histories and the stopping decisions to the JSON file argv[1]. Every rank also checks
that its weights equal rank 0's bit for bit."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

import numpy as np
from mpi4py import MPI

import blasnet as bn

comm = MPI.COMM_WORLD
rng = np.random.default_rng(7)
N = 103  # with batch 10: an uneven last batch of 3
X = rng.normal(size=(N, 5))
labels = np.argmax(X[:, :3] + rng.normal(scale=0.5, size=(N, 3)), axis=1)
R = rng.normal(size=(N, 2))
weights = rng.uniform(0.1, 2.0, size=N)
weights[:4] = 0.0  # whole parts of weight 0 on some ranks
X_val = rng.normal(size=(31, 5))
labels_val = np.argmax(X_val[:, :3] + rng.normal(scale=0.5, size=(31, 3)), axis=1)


def sequential(dtype: str = "float64", dropout: float = 0.0) -> bn.Sequential:
    return bn.Sequential(
        [bn.Dense(8, activation="tanh", dropout=dropout), bn.Dense(3, activation="softmax")],
        input_dim=5, dtype=dtype, seed=3,
    )


def graph() -> bn.Graph:
    g = bn.Graph(seed=4)
    x = g.input("x", 5)
    r = g.input("r", 2)
    h = g.dense(x, 6, activation="tanh", name="h")
    y = g.dense([h, r], 3, activation="softmax", name="y")
    back = g.dense(h, 5, name="back", share=h, transpose=True)  # tied: gradients add
    g.output(y, "softmax_cross_entropy")
    g.output(back, "mse", target="x", weight=0.3)
    return g


def case(
    make: Callable[[], Any], optimizer: Callable[[], bn.Optimizer], **kwargs: Any
) -> dict[str, Any]:
    alone, together = make(), make()
    given = dict(kwargs)
    data: tuple[Any, Any] = (X, labels)
    if isinstance(alone, bn.Graph):
        data = ({"x": X, "r": R}, {"y": labels})
    else:
        kwargs.setdefault("loss", "softmax_cross_entropy")
        given.setdefault("loss", "softmax_cross_entropy")
    if "schedule" in kwargs:  # a schedule keeps state: one each
        kwargs["schedule"], given["schedule"] = kwargs["schedule"](), kwargs["schedule"]()
    h1 = alone.fit(*data, optimizer=optimizer(), **kwargs)
    h2 = together.fit(*data, optimizer=optimizer(), comm=comm, **given)
    p1, p2 = alone.parameters(), together.parameters()
    rel = max(
        float(np.max(np.abs(p1[k] - p2[k]) / np.maximum(np.abs(p1[k]), 1e-3))) for k in p1
    )
    flat = np.concatenate([v.ravel() for v in p2.values()])
    on_root = comm.bcast(flat)
    assert np.array_equal(flat, on_root), f"rank {comm.rank} differs from rank 0"

    def record(h: bn.History) -> dict[str, Any]:
        return {name: getattr(h, name) for name in
                ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "stopped", "best_epoch")}

    return {"rel": rel, "alone": record(h1), "together": record(h2)}


sgd = lambda: bn.SGD(lr=0.1, momentum=0.9)  # noqa: E731
adam = lambda: bn.Adam(lr=0.01)  # noqa: E731
cases = {
    "sequential_sgd_momentum": case(sequential, sgd, epochs=3, batch_size=10),
    "sequential_adam": case(sequential, adam, epochs=3, batch_size=10),
    "sequential_plain_sgd": case(sequential, lambda: bn.SGD(lr=0.2), epochs=3, batch_size=10),
    "sequential_float32": case(lambda: sequential("float32"), adam, epochs=3, batch_size=10),
    "graph_sgd_momentum": case(graph, sgd, epochs=3, batch_size=10),
    "graph_adam": case(graph, adam, epochs=3, batch_size=10),
    "batch_below_ranks": case(sequential, adam, epochs=1, batch_size=2),
    "no_shuffle": case(sequential, sgd, epochs=2, batch_size=16, shuffle=False),
    "sample_weight": case(sequential, adam, epochs=3, batch_size=10, sample_weight=weights),
    "class_weight": case(sequential, sgd, epochs=2, batch_size=10, class_weight="balanced"),
    "validation_fraction": case(sequential, adam, epochs=3, batch_size=10,
                                validation_fraction=0.2, seed=11),
    "early_stopping": case(
        sequential, lambda: bn.SGD(lr=0.3, momentum=0.9), epochs=60, batch_size=10,
        validation_data=(X_val, labels_val), early_stopping=bn.EarlyStopping(patience=2),
    ),
    "schedule": case(sequential, sgd, epochs=4, batch_size=10,
                     schedule=lambda: bn.schedules.StepDecay(step_size=2, gamma=0.5)),
}
if comm.rank == 0:
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump({"size": comm.size, "cases": cases}, f)
