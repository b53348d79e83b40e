"""Handwritten digits with Adam: a 64-128-10 relu network on scikit-learn's copy of the UCI
optical-digits data (8×8 images), with a validation split and early stopping.

    pip install scikit-learn
    python examples/digits_adam.py
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import blasnet as bn


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel intensities 0..16 -> [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )

    net = bn.Sequential(
        [bn.Dense(128, activation="relu"), bn.Dense(10, activation="softmax")],
        input_dim=64,
        seed=0,
    )
    history = net.fit(
        X_train,
        y_train,
        loss="softmax_cross_entropy",
        optimizer=bn.Adam(lr=1e-3),
        epochs=200,
        batch_size=32,
        validation_fraction=0.1,
        early_stopping=bn.EarlyStopping(patience=10),
    )
    accuracy = float(np.mean(net.forward(X_test).argmax(axis=1) == y_test))
    best = history.best_epoch
    print(
        f"{history.epochs} epochs ({history.stopped}), best validation loss "
        f"{min(history.val_loss):.4f} in epoch {best}, {history.seconds:.2f} s"
    )
    print(f"test accuracy {accuracy:.4f} on {len(y_test)} held-out digits")
    if accuracy < 0.97:
        raise SystemExit("the network did not reach 97% test accuracy")


if __name__ == "__main__":
    main()
