"""The note's §1 twice over: Rosenblatt's perceptron y = sgn(wᵀx + b), trained by its learning
rule, against the unit that swaps sgn for a sigmoid and is trained by gradient descent ("the
derivative of sgn is either 0 or infinity, preventing it from gradient-based optimization ...
we can substitute sgn with other functions, e.g., sigmoid").

On a cake whose cherries and chocolate lie apart, some line separates them (here not quite the
note's knife x₁ + x₂ = 0, which leaves one cherry on the wrong side): the rule finds one and stops
after an epoch without a mistake, with no training error left. On a cake whose two clouds
overlap, no line does: the rule never converges and its error keeps jumping about, a few points
above what the knife reaches (the best a line can do there), while the sigmoid unit's loss
falls at every step and its error settles at the knife's.

    python examples/perceptron_vs_sigmoid.py
"""

from __future__ import annotations

from typing import Any

import numpy as np

import blasnet as bn

EPOCHS = 200
CHECKPOINTS = (1, 5, 20, 50, 200)


def sigmoid_unit(
    X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]
) -> tuple[list[float], dict[int, float]]:
    """One sigmoid unit trained by full-batch gradient descent, Θ ← Θ − α·∇J with J the
    binary cross-entropy: its loss in each epoch, and its training error at the checkpoints."""
    net = bn.Sequential([bn.Dense(1, activation="sigmoid")], input_dim=2, seed=0)
    T = y.reshape(-1, 1).astype(np.float64)
    losses: list[float] = []
    errors: dict[int, float] = {}
    done = 0
    for checkpoint in CHECKPOINTS:
        history = net.fit(
            X,
            T,
            loss="binary_cross_entropy",
            optimizer=bn.SGD(lr=0.5),
            epochs=checkpoint - done,
            batch_size=len(X),
            shuffle=False,
        )
        losses += history.loss
        done = checkpoint
        errors[checkpoint] = float(np.mean((net.forward(X)[:, 0] >= 0.5) != y))
    return losses, errors


def compare(name: str, spread: float, separable: bool) -> list[str]:
    """Both units on one cake; returns the claims that failed."""
    X, y = bn.datasets.cake(n_samples=400, spread=spread, seed=0)
    knife = 1.0 - bn.datasets.cake_linear_accuracy(X, y)
    perceptron = bn.Perceptron(n_features=2, seed=0)
    rule = perceptron.fit(X, y, epochs=EPOCHS).loss  # fraction wrong while training, per epoch
    final = perceptron.error_rate(X, y)
    bce, sigmoid_errors = sigmoid_unit(X, y)

    print(f"{name} cake (spread {spread}): the knife x₁ + x₂ = 0 misclassifies {knife:.3f}")
    print("  epoch   perceptron (errors while training)   sigmoid unit (J, training error)")
    for epoch in CHECKPOINTS:
        rule_cell = f"{rule[epoch - 1]:.3f}" if epoch <= len(rule) else "(converged)"
        print(
            f"  {epoch:5d}   {rule_cell:>34}   "
            f"J = {bce[epoch - 1]:.4f}, error {sigmoid_errors[epoch]:.3f}"
        )
    failed: list[str] = []
    rises = sum(later > earlier for earlier, later in zip(bce, bce[1:]))
    print(f"  sigmoid unit: J fell in {len(bce) - 1 - rises} of {len(bce) - 1} steps")
    if rises:
        failed.append(f"{name}: the sigmoid unit's loss rose in {rises} steps")

    if perceptron.converged:
        print(
            f"  perceptron: converged in epoch {len(rule)} after "
            f"{round(sum(rule) * len(X))} mistakes; training error {final:.3f}"
        )
    else:
        tail = rule[-50:]
        print(
            f"  perceptron: not converged after {len(rule)} epochs; errors in the last 50 "
            f"epochs between {min(tail):.3f} and {max(tail):.3f} (mean {np.mean(tail):.3f}); "
            f"its final line misclassifies {final:.3f}"
        )

    if separable:
        if not perceptron.converged or final != 0.0:
            failed.append(f"{name}: the perceptron should converge with no training error")
    else:
        if perceptron.converged or min(rule) == 0.0:
            failed.append(f"{name}: the perceptron cannot converge on overlapping clouds")
        if not (final > 0.0 and abs(float(np.mean(rule[-50:])) - knife) < 0.05):
            failed.append(f"{name}: the perceptron's error should stay near the knife's")
        if abs(sigmoid_errors[CHECKPOINTS[-1]] - knife) > 0.02:
            failed.append(f"{name}: the sigmoid unit should reach the knife's error")
    return failed


def main() -> None:
    failed = compare("separable", 0.5, separable=True)
    failed += compare("overlapping", 1.0, separable=False)
    if failed:
        raise SystemExit("claims that did not hold:\n  " + "\n  ".join(failed))


if __name__ == "__main__":
    main()
