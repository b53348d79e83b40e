"""Training end to end: the note's XOR (Figure 4) and cake (Figure 1), a softmax classifier
and a regression."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import blasnet as bn
from blasnet.datasets import cake, cake_linear_accuracy, xor

BCE = "binary_cross_entropy"


def accuracy(net: bn.Sequential, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
    """Fraction of samples whose predicted class (threshold 0.5, or argmax) is y."""
    Y = net.forward(X)
    predicted = (Y[:, 0] > 0.5) if Y.shape[1] == 1 else Y.argmax(axis=1)
    return float(np.mean(predicted == y))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_2_8_1(dtype: str, seed: int) -> None:
    """Figure 4: 2-8-1 tanh/sigmoid trained with cross-entropy separates XOR completely, with
    confident outputs."""
    X, y = xor()
    net = bn.Sequential(
        [bn.Dense(8, activation="tanh"), bn.Dense(1, activation="sigmoid")],
        input_dim=2,
        dtype=dtype,
        seed=seed,
    )
    history = net.fit(X, y, loss=BCE, optimizer=bn.SGD(lr=0.5), epochs=2000, batch_size=4)
    assert accuracy(net, X, y) == 1.0
    assert history.loss[-1] < 0.01
    assert np.abs(net.forward(X)[:, 0] - y).max() < 0.05


def test_xor_2_2_1_sigmoid() -> None:
    """Figure 4's own architecture, two sigmoid hidden units, learns XOR. It can also stall in
    a local minimum at 50% accuracy (seeds 0 and 4 do, with these settings); seed 1 does not,
    and that is the seed used here."""
    X, y = xor()
    net = bn.Sequential(
        [bn.Dense(2, activation="sigmoid"), bn.Dense(1, activation="sigmoid")],
        input_dim=2,
        seed=1,
    )
    history = net.fit(X, y, loss=BCE, optimizer=bn.SGD(lr=2.0), epochs=5000, batch_size=4)
    assert accuracy(net, X, y) == 1.0
    assert history.loss[-1] < 0.01


@pytest.fixture(scope="module")
def cake_data() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The overlapping cake of Figure 1: 400 points, spread 0.8."""
    return cake(n_samples=400, spread=0.8, seed=0)


def test_single_neuron_cuts_the_cake(
    cake_data: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]],
) -> None:
    """One sigmoid neuron trained by cross-entropy cuts the cake about as well as the note's
    knife x₁ + x₂ = 0, and its learnt boundary points the knife's way, w ∝ (1, 1)."""
    X, y = cake_data
    net = bn.Sequential([bn.Dense(1, activation="sigmoid")], input_dim=2, seed=0)
    net.fit(X, y, loss=BCE, optimizer=bn.SGD(lr=0.5), epochs=200, batch_size=32)
    assert accuracy(net, X, y) >= cake_linear_accuracy(X, y) - 0.02
    w = net.parameters()["0.W"][0]
    cosine = w.sum() / (np.sqrt(2) * np.linalg.norm(w))
    assert cosine > 0.95


def test_two_layers_cut_the_cake_no_worse(
    cake_data: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]],
) -> None:
    """A hidden layer of 8 tanh units does at least as well as the single neuron."""
    X, y = cake_data
    nets = [
        bn.Sequential([bn.Dense(1, activation="sigmoid")], input_dim=2, seed=0),
        bn.Sequential(
            [bn.Dense(8, activation="tanh"), bn.Dense(1, activation="sigmoid")],
            input_dim=2,
            seed=0,
        ),
    ]
    for net in nets:
        net.fit(X, y, loss=BCE, optimizer=bn.SGD(lr=0.5), epochs=200, batch_size=32)
    single, two_layer = (accuracy(net, X, y) for net in nets)
    assert two_layer >= single
    assert two_layer >= cake_linear_accuracy(X, y) - 0.02


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_classifier_on_three_blobs(dtype: str) -> None:
    """A tanh/softmax net trained on integer labels separates three Gaussian blobs (> 95%),
    and its outputs are probability vectors."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    y = rng.integers(0, 3, size=300)
    X = centres[y] + 0.8 * rng.standard_normal((300, 2))
    net = bn.Sequential(
        [bn.Dense(16, activation="tanh"), bn.Dense(3, activation="softmax")],
        input_dim=2,
        dtype=dtype,
        seed=0,
    )
    history = net.fit(
        X, y, loss="softmax_cross_entropy", optimizer=bn.SGD(lr=0.5), epochs=100, batch_size=32
    )
    assert accuracy(net, X, y) > 0.95
    assert history.loss[-1] < 0.5 * history.loss[0]
    np.testing.assert_allclose(net.forward(X).sum(axis=1), 1.0, rtol=1e-5)


def test_linear_regression_to_zero_loss() -> None:
    """An identity layer trained with mse recovers a linear map exactly: W → A, b → c."""
    rng = np.random.default_rng(0)
    A = np.array([[1.5, -2.0, 0.5], [0.0, 1.0, -1.0]])
    c = np.array([0.3, -0.7])
    X = rng.uniform(-1, 1, (200, 3))
    net = bn.Sequential([bn.Dense(2)], input_dim=3, seed=0)
    history = net.fit(
        X, X @ A.T + c, loss="mse", optimizer=bn.SGD(lr=0.5), epochs=300, batch_size=20
    )
    assert history.loss[-1] < 1e-12
    params = net.parameters()
    np.testing.assert_allclose(params["0.W"], A, atol=1e-6)
    np.testing.assert_allclose(params["0.b"], c, atol=1e-6)
