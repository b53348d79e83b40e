"""Two heads on one trunk, trained on J = 1.0·J_class + 0.5·J_radius (the note: for
J = J1 + J2 "we only need to sum over these partial derivatives"; the trunk receives the sum
of both heads' dJ/dy).

On the note's cake, one head says cherry or chocolate (softmax cross-entropy), the other how
far the point lies from the cake's centre (mean squared error).

    python examples/two_heads.py
"""

from __future__ import annotations

import numpy as np

import blasnet as bn


def main() -> None:
    X, labels = bn.datasets.cake(n_samples=1000, spread=0.6, seed=0)
    radius = np.linalg.norm(X, axis=1, keepdims=True)
    train, test = slice(0, 800), slice(800, None)

    g = bn.Graph(seed=0)
    x = g.input("x", 2)
    trunk = g.dense(x, 16, activation="tanh", name="trunk")
    cls = g.dense(trunk, 2, activation="softmax", name="class")
    rad = g.dense([trunk, x], 1, name="radius")  # reads the trunk and the raw point
    g.output(cls, loss="softmax_cross_entropy", weight=1.0)
    g.output(rad, loss="mse", weight=0.5)

    history = g.fit(
        {"x": X[train]},
        {"class": labels[train], "radius": radius[train]},
        bn.SGD(lr=0.1),
        epochs=100,
        batch_size=16,
    )
    out = g.forward({"x": X[test]})
    accuracy = float(np.mean(out["class"].argmax(axis=1) == labels[test]))
    radius_error = float(np.sqrt(np.mean((out["radius"] - radius[test]) ** 2)))
    knife = bn.datasets.cake_linear_accuracy(X[test], labels[test])

    print(f"J = 1.0·J_class + 0.5·J_radius: {history.loss[0]:.3f} -> {history.loss[-1]:.3f}")
    print(f"class head: test accuracy {accuracy:.3f} (the note's knife x₁ + x₂ = 0: {knife:.3f})")
    print(f"radius head: test RMS error {radius_error:.3f} (radii spread {float(radius[test].std()):.3f})")
    if accuracy < knife - 0.02 or radius_error > 0.25 * float(radius[test].std()):
        raise SystemExit("a head did not learn its task")


if __name__ == "__main__":
    main()
