"""Central-difference checks of blasnet's backpropagation, in double precision; then float32
against float64, and gradients at saturated outputs against their closed forms.

Every entry of every parameter is perturbed through the writable ``parameters()`` views and
J is re-evaluated by ``backward``; the slope (J(θ + h) − J(θ − h)) / 2h must match the
analytic gradient that ``gradients()`` reports. With h = 1e-5 the truncation error is
O(h²) ≈ 1e-10 and the rounding error about 1e-16·J/h ≈ 1e-11, so we require

    |analytic − numeric| / max(|analytic|, |numeric|, 1e-3) < 1e-6,

a relative error below 1e-6, or an absolute error below 1e-9 for gradients under 1e-3
(gradients of dead relu units are exactly zero and the slope is then rounding noise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from blasnet import reference as ref
from targets import make_targets

import blasnet as bn

Array = np.ndarray[Any, Any]

STEP = 1e-5
RTOL = 1e-6
FLOOR = 1e-3
# relu's kink must be farther than a perturbation moves a pre-activation (about h·|x|,
# some 1e-5): 100 times that.
RELU_MARGIN = 1e-3
N_SAMPLES = 5
INPUT_DIM = 3
HIDDEN_UNITS = 4
OUTPUT_UNITS = 3

# (loss, output activation, kind of targets): every pair the losses accept.
OUTPUT_CASES = [
    ("mse", "identity", "real"),
    ("mse", "sigmoid", "real"),
    ("mse", "tanh", "real"),
    ("mse", "relu", "real"),
    ("mse", "softmax", "real"),
    ("binary_cross_entropy", "sigmoid", "binary"),
    ("binary_cross_entropy", "sigmoid", "soft"),
    ("binary_cross_entropy", "softmax", "binary"),
    ("binary_cross_entropy", "softmax", "soft"),
    ("softmax_cross_entropy", "softmax", "one_hot"),
    ("softmax_cross_entropy", "softmax", "labels"),
    ("softmax_cross_entropy", "softmax", "probabilities"),
    ("softmax_cross_entropy", "softmax", "unnormalised"),
    ("softmax_cross_entropy", "sigmoid", "one_hot"),
    ("softmax_cross_entropy", "sigmoid", "labels"),
    ("softmax_cross_entropy", "sigmoid", "probabilities"),
]

# Hidden layers below the output layer: networks of depth 1, 2 and 3.
HIDDEN_STACKS = [
    (),
    ("tanh",),
    ("relu",),
    ("sigmoid", "identity"),
    ("softmax", "relu"),
    ("identity", "tanh"),
    ("relu", "sigmoid"),
]


def build(activations: list[str], dtype: str = "float64", seed: int = 0) -> bn.Sequential:
    """A network of HIDDEN_UNITS-wide hidden layers and an OUTPUT_UNITS-wide output layer."""
    sizes = [HIDDEN_UNITS] * (len(activations) - 1) + [OUTPUT_UNITS]
    layers = [bn.Dense(units, activation=a) for units, a in zip(sizes, activations)]
    return bn.Sequential(layers, input_dim=INPUT_DIM, dtype=dtype, seed=seed)


def relu_margin(net: bn.Sequential, activations: list[str], X: Array) -> float:
    """Smallest |z| over the pre-activations of the relu layers (inf without relu)."""
    params = {key: value.copy() for key, value in net.parameters().items()}
    layers = ref.forward_layers(params, activations, X.T)
    margins = [np.abs(Z).min() for (_, Z, _), a in zip(layers, activations) if a == "relu"]
    return float(min(margins, default=np.inf))


def numeric_gradients(net: bn.Sequential, X: Array, T: Array, loss: str) -> dict[str, Array]:
    """(J(θ + h) − J(θ − h)) / 2h for every entry of every parameter, restoring θ after."""
    slopes = {}
    for key, view in net.parameters().items():
        slope = np.empty_like(view)
        for index in np.ndindex(view.shape):
            saved = float(view[index])
            view[index] = saved + STEP
            above = net.backward(X, T, loss=loss)
            view[index] = saved - STEP
            below = net.backward(X, T, loss=loss)
            view[index] = saved
            slope[index] = (above - below) / (2 * STEP)
        slopes[key] = slope
    return slopes


def relative_error(analytic: Array, numeric: Array) -> float:
    """max |a − n| / max(|a|, |n|, FLOOR) over the entries."""
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), FLOOR)
    return float(np.max(np.abs(analytic - numeric) / scale))


@pytest.mark.parametrize("hidden", HIDDEN_STACKS, ids=lambda h: "-".join(h) or "none")
@pytest.mark.parametrize(("loss", "output", "targets"), OUTPUT_CASES)
def test_gradient_matches_central_difference(
    hidden: tuple[str, ...], loss: str, output: str, targets: str
) -> None:
    """backward's dJ/dW and dJ/db equal the central-difference slope of J, entry by entry."""
    rng = np.random.default_rng(7)
    activations = [*hidden, output]
    net = build(activations, seed=3)
    for view in net.parameters().values():
        view[...] = rng.uniform(-0.8, 0.8, view.shape)  # nonzero biases too
    X = rng.standard_normal((N_SAMPLES, INPUT_DIM))
    T = make_targets(targets, rng, N_SAMPLES, OUTPUT_UNITS)
    assert relu_margin(net, activations, X) > RELU_MARGIN, "a relu sits on its kink"

    net.backward(X, T, loss=loss)
    analytic = {key: value.copy() for key, value in net.gradients().items()}
    before = {key: value.copy() for key, value in net.parameters().items()}
    numeric = numeric_gradients(net, X, T, loss)

    expected_keys = {f"{k}.{p}" for k in range(len(activations)) for p in "Wb"}
    assert set(analytic) == set(numeric) == expected_keys
    for key in analytic:
        assert np.any(analytic[key] != 0), f"{key}: an all-zero gradient checks nothing"
        error = relative_error(analytic[key], numeric[key])
        assert error < RTOL, f"{key}: relative error {error:.2e}"
    for key, value in net.parameters().items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize(("loss", "output", "targets"), OUTPUT_CASES)
def test_float32_gradients_match_float64(loss: str, output: str, targets: str) -> None:
    """A float32 network given the same weights and data as a float64 one reports the same J
    and gradients to single precision: |J32 − J64| ≤ 1e-6·J64 and |g32 − g64| ≤ 1e-5·max|g64|
    for every parameter (float32's epsilon is 1.2e-7)."""
    rng = np.random.default_rng(11)
    activations = ["tanh", "relu", output]
    net64 = build(activations, dtype="float64", seed=5)
    net32 = build(activations, dtype="float32", seed=6)
    for key, view in net64.parameters().items():
        # Values a float32 holds exactly, so both networks start from identical weights.
        view[...] = rng.uniform(-0.8, 0.8, view.shape).astype(np.float32)
        net32.parameters()[key][...] = view
    X = rng.standard_normal((N_SAMPLES, INPUT_DIM)).astype(np.float32)
    T = make_targets(targets, rng, N_SAMPLES, OUTPUT_UNITS)
    if T.dtype.kind == "f":
        T = T.astype(np.float32)
    assert relu_margin(net64, activations, X.astype(np.float64)) > RELU_MARGIN

    J64 = net64.backward(X.astype(np.float64), T, loss=loss)
    J32 = net32.backward(X, T, loss=loss)

    assert J32 == pytest.approx(J64, rel=1e-6)
    grads64 = net64.gradients()
    for key, g32 in net32.gradients().items():
        assert g32.dtype == np.float32
        g64 = grads64[key]
        bound = 1e-5 * np.abs(g64).max()
        assert np.abs(g32 - g64).max() <= bound, key


# (loss, output activation, logit of unit 0, float dtype): a prediction so confident that an
# output rounds to exactly 0 or 1, while J and its gradient are finite and known in closed
# form. Unit 0 is the target class, unit 1 has logit 0 and target 0.
SATURATED_CASES = [
    # softmax + binary_cross_entropy, right and sure: y = (1 − ε, ε) with ε = σ(−gap), and
    # J = −log(1 − ε) − log(1 − ε) = 2·softplus(−gap); dJ/dz = (−2ε, 2ε).
    ("binary_cross_entropy", "softmax", 40.0, "float64"),
    ("binary_cross_entropy", "softmax", 20.0, "float32"),
    # sigmoid + softmax_cross_entropy, wrong and sure: y_0 = σ(z) rounds to 0, and
    # J = −log σ(z) = softplus(−z); dJ/dz_0 = −(1 − σ(z)) = −σ(−z), dJ/dz_1 = 0.
    ("softmax_cross_entropy", "sigmoid", -800.0, "float64"),
    ("softmax_cross_entropy", "sigmoid", -110.0, "float32"),
]


def sigmoid(z: float) -> float:
    """σ(z) for a Python float, without overflow."""
    return float(1.0 / (1.0 + np.exp(-z)) if z >= 0 else np.exp(z) / (1.0 + np.exp(z)))


@pytest.mark.parametrize(("loss", "output", "logit", "dtype"), SATURATED_CASES)
def test_saturated_output_gives_finite_gradient(
    loss: str, output: str, logit: float, dtype: str
) -> None:
    """Where an output rounds to 0 or 1 but J is finite, the gradient is finite and right, not
    0/0 or ∞·0 = NaN. The gradient's scale is 1, so it is held to an absolute error of 1e-12
    in float64 and 1e-6 in float32 (ε itself may round away)."""
    net = bn.Sequential([bn.Dense(2, activation=output)], input_dim=1, dtype=dtype)
    net.parameters()["0.W"][...] = [[logit], [0.0]]
    net.parameters()["0.b"][...] = 0.0
    X = np.array([[1.0]])  # so z = (logit, 0) and dJ/dW = dJ/dz·x = dJ/db
    if output == "softmax":
        eps = sigmoid(-logit)
        want_J, want_dz = -2 * np.log1p(-eps), np.array([-2 * eps, 2 * eps])
        J = net.backward(X, np.array([[1.0, 0.0]]), loss=loss)
    else:
        want_J, want_dz = float(np.logaddexp(0.0, -logit)), np.array([-sigmoid(-logit), 0.0])
        J = net.backward(X, np.array([0]), loss=loss)
    tol = 1e-12 if dtype == "float64" else 1e-6

    assert J == pytest.approx(want_J, rel=1e-6, abs=tol)
    G = net.gradients()
    assert np.all(np.isfinite(G["0.W"])) and np.all(np.isfinite(G["0.b"])), G
    assert G["0.b"] == pytest.approx(want_dz, abs=tol)
    assert G["0.W"][:, 0] == pytest.approx(want_dz, abs=tol)
