"""The built-in data sets: the note's XOR and cake, generated, and the shipped digits."""

from __future__ import annotations

import numpy as np

import blasnet as bn


def test_load_digits_gives_the_uci_test_set() -> None:
    """1797 images of 64 pixel counts in 0–16, every class 0–9 present about 180 times, and
    fresh arrays on every call (a caller may change them)."""
    X, y = bn.datasets.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16 and np.array_equal(X, np.round(X))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    X[0, 0] = 99.0
    again, _ = bn.datasets.load_digits()
    assert again[0, 0] != 99.0


def test_load_digits_equals_scikit_learns_copy() -> None:
    """The same values, image for image, as scikit-learn's copy of the UCI data."""
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]

    X_ref, y_ref = load_digits(return_X_y=True)
    X, y = bn.datasets.load_digits()
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_a_small_net_learns_the_shipped_digits() -> None:
    """A 64-32-10 network trained with Adam on 1500 random digits classifies the other 297
    well (the file keeps the data set's order, writer after writer: split at random)."""
    X, y = bn.datasets.load_digits()
    X = X / 16.0
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:1500], order[1500:]
    net = bn.Sequential(
        [bn.Dense(32, activation="relu"), bn.Dense(10, activation="softmax")], input_dim=64, seed=0
    )
    net.fit(X[train], y[train], "softmax_cross_entropy", bn.Adam(lr=3e-3), epochs=30, batch_size=32)
    accuracy = float(np.mean(net.predict(X[test]).argmax(axis=1) == y[test]))
    assert accuracy > 0.95
