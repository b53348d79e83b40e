"""blasnet against the plain NumPy reference (reference.py), value by value.

The reference computes the note's matrix form with samples as columns, so it is fed the
transposes of blasnet's (n_samples, n_features) arrays. In float64 the two must agree to
rounding: |got − want| ≤ 1e-12·|want| + 1e-13·max|want| (the absolute term absorbs entries that
cancel to nearly zero, where the order of summation decides the last bits). A float32
network is compared with the reference evaluated in float64 on the same float32 values:
|got − want| ≤ 1e-5·|want| + 1e-5·max|want|.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pytest
from blasnet import reference as ref
from targets import make_targets

import blasnet as bn

Array = np.ndarray[Any, Any]

TOLERANCES = {"float64": (1e-12, 1e-13), "float32": (1e-5, 1e-5)}
LEARNING_RATE = 0.3


class Case(NamedTuple):
    """A network (input size, then units and activation per layer), a loss and its targets."""

    name: str
    input_dim: int
    layers: list[tuple[int, str]]
    loss: str
    targets: str
    n_samples: int = 7


CASES = [
    Case("perceptron-bce", 2, [(1, "sigmoid")], "binary_cross_entropy", "binary"),
    Case("xor-mse", 2, [(8, "tanh"), (1, "sigmoid")], "mse", "real01"),
    Case("regression-mse", 4, [(6, "relu"), (5, "tanh"), (2, "identity")], "mse", "real"),
    Case("softmax-labels", 3, [(5, "tanh"), (4, "softmax")], "softmax_cross_entropy", "labels"),
    Case(
        "softmax-probabilities",
        3,
        [(5, "sigmoid"), (6, "relu"), (4, "softmax")],
        "softmax_cross_entropy",
        "probabilities",
    ),
    Case("softmax-bce", 3, [(5, "relu"), (3, "softmax")], "binary_cross_entropy", "soft"),
    Case("sigmoid-sce", 3, [(4, "identity"), (3, "sigmoid")], "softmax_cross_entropy", "one_hot"),
    Case("softmax-hidden-mse", 3, [(4, "softmax"), (5, "tanh"), (2, "relu")], "mse", "real"),
    Case(
        "wide-classifier",
        20,
        [(64, "relu"), (32, "tanh"), (10, "softmax")],
        "softmax_cross_entropy",
        "labels",
        n_samples=150,
    ),
]


class Problem(NamedTuple):
    """A network with its parameters copied out in float64, and one batch for both sides."""

    net: bn.Sequential
    params: dict[str, Array]
    activations: list[str]
    X: Array
    T: Array


def make_problem(case: Case, dtype: str) -> Problem:
    """blasnet's seeded initial weights with random nonzero biases, and a random batch; every
    value is representable in ``dtype``, so both sides start from the same numbers."""
    rng = np.random.default_rng(2015)
    net = bn.Sequential(
        [bn.Dense(units, activation=a) for units, a in case.layers],
        input_dim=case.input_dim,
        dtype=dtype,
        seed=1,
    )
    for key, view in net.parameters().items():
        if key.endswith(".b"):
            view[...] = rng.uniform(-0.5, 0.5, view.shape)
    X = rng.standard_normal((case.n_samples, case.input_dim)).astype(dtype)
    T = make_targets(case.targets, rng, case.n_samples, case.layers[-1][0])
    if T.dtype.kind == "f":
        T = T.astype(dtype)
    params = {key: view.astype(np.float64) for key, view in net.parameters().items()}
    activations = [a for _, a in case.layers]
    return Problem(net, params, activations, X, T)


def reference_targets(T: Array) -> Array:
    """Targets as the reference takes them: columns for dense T, labels unchanged."""
    return T.astype(np.float64).T if T.ndim == 2 else T


def assert_close(got: Array, want: Array, dtype: str, what: str) -> None:
    """got ≈ want within the module's tolerance for ``dtype``."""
    rtol, scale = TOLERANCES[dtype]
    got = np.asarray(got)
    assert got.shape == np.shape(want), what
    atol = scale * float(np.max(np.abs(want)))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


cases = pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
dtypes = pytest.mark.parametrize("dtype", ["float64", "float32"])


@cases
@dtypes
def test_forward_matches_reference(case: Case, dtype: str) -> None:
    """forward(X) equals the reference's Y = f(W·X + b·1ᵀ), layer after layer."""
    p = make_problem(case, dtype)
    Y = p.net.forward(p.X)
    assert Y.dtype == np.dtype(dtype)
    want = ref.forward(p.params, p.activations, p.X.astype(np.float64).T).T
    assert_close(Y, want, dtype, "Y")


@cases
@dtypes
def test_backward_matches_reference(case: Case, dtype: str) -> None:
    """backward returns the reference's J and fills every gradient with the reference's
    dJ/dW = dZ·Xᵀ/n and dJ/db = dZ·1/n."""
    p = make_problem(case, dtype)
    J = p.net.backward(p.X, p.T, loss=case.loss)
    want_J, want_grads = ref.backward(
        p.params, p.activations, p.X.astype(np.float64).T, reference_targets(p.T), case.loss
    )
    assert_close(np.array(J), np.array(want_J), dtype, "J")
    grads = p.net.gradients()
    assert set(grads) == set(want_grads)
    for key, want in want_grads.items():
        assert grads[key].dtype == np.dtype(dtype), key
        assert_close(grads[key], want, dtype, key)


@cases
@dtypes
def test_sgd_step_matches_reference(case: Case, dtype: str) -> None:
    """train_step returns J before the step and leaves Θ − α·∇J in every parameter."""
    p = make_problem(case, dtype)
    J = p.net.train_step(p.X, p.T, loss=case.loss, optimizer=bn.SGD(lr=LEARNING_RATE))
    want_J, want_grads = ref.backward(
        p.params, p.activations, p.X.astype(np.float64).T, reference_targets(p.T), case.loss
    )
    want_params = ref.sgd_step(p.params, want_grads, LEARNING_RATE)
    assert_close(np.array(J), np.array(want_J), dtype, "J")
    after = p.net.parameters()
    for key, want in want_params.items():
        assert not np.array_equal(want, p.params[key]), f"{key}: the step moved nothing"
        assert_close(after[key], want, dtype, key)


ADAM_SETTINGS = [
    {},
    {"lr": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-6, "weight_decay": 0.1},
]
ADAM_STEPS = 5


@cases
@pytest.mark.parametrize("settings", ADAM_SETTINGS, ids=["defaults", "custom"])
def test_adam_steps_match_reference(case: Case, settings: dict[str, float]) -> None:
    """Steps of train_step with one bn.Adam leave, after each, the parameters of as many
    steps of the reference's adam_step (float64); the moments carry over from step to step."""
    p = make_problem(case, "float64")
    adam = bn.Adam(**settings)
    params, state = p.params, ref.adam_init(p.params)
    X, T = p.X.T, reference_targets(p.T)
    for step in range(1, ADAM_STEPS + 1):
        J = p.net.train_step(p.X, p.T, loss=case.loss, optimizer=adam)
        want_J, grads = ref.backward(params, p.activations, X, T, case.loss)
        params, state = ref.adam_step(params, grads, state, **settings)
        assert_close(np.array(J), np.array(want_J), "float64", f"J of step {step}")
        after = p.net.parameters()
        for key, want in params.items():
            assert_close(after[key], want, "float64", f"{key} after step {step}")
    assert state.t == adam.state()["steps"] == ADAM_STEPS
    for key, value in params.items():
        assert not np.array_equal(value, p.params[key]), f"{key}: the steps moved nothing"


def test_adam_step_keeps_the_dtype_and_leaves_its_arguments_unchanged() -> None:
    """float32 parameters, moments and gradients stay float32; a step returns new ones."""
    params = {"0.W": np.array([[1.0, -2.0]], dtype=np.float32),
              "0.b": np.array([0.5], dtype=np.float32)}
    grads = {"0.W": np.array([[0.3, -4.0]], dtype=np.float32),
             "0.b": np.array([1e-3], dtype=np.float32)}
    state = ref.adam_init(params)
    new, new_state = ref.adam_step(params, grads, state)
    assert {value.dtype for value in [*new.values(), *new_state.m.values(),
                                      *new_state.v.values()]} == {np.dtype(np.float32)}
    assert params["0.W"].tolist() == [[1.0, -2.0]] and state.t == 0
    assert not state.m["0.W"].any() and not state.v["0.W"].any()
    # the first step: α against the sign of each gradient, ε aside
    np.testing.assert_allclose(new["0.W"], [[0.999, -1.999]], rtol=1e-6)
    np.testing.assert_allclose(new["0.b"], [0.499], rtol=1e-5)


@cases
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fit_in_order_matches_blasnet_fit(case: Case, optimizer: str) -> None:
    """Three epochs of batches of 3 over 7 samples (the last batch short), in order: the
    reference's fit and Sequential.fit end with the same parameters and per-epoch losses, to
    the rounding that nine steps at a large rate accumulate (1e-9 of the largest value)."""
    p = make_problem(case, "float64")
    lr = 0.01 if optimizer == "adam" else LEARNING_RATE
    chosen = bn.Adam(lr=lr) if optimizer == "adam" else bn.SGD(lr=lr)
    history = p.net.fit(p.X, p.T, case.loss, chosen, epochs=3, batch_size=3, shuffle=False)
    params, losses = ref.fit(p.params, p.activations, p.X.T, reference_targets(p.T), case.loss,
                             epochs=3, batch_size=3, lr=lr, optimizer=optimizer, seed=None)
    after = p.net.parameters()
    for key, want in params.items():
        np.testing.assert_allclose(after[key], want, rtol=1e-9, atol=1e-9 * np.abs(want).max(),
                                   err_msg=key)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-9)


def test_fit_refuses_an_unknown_optimizer() -> None:
    with pytest.raises(ValueError, match="'rmsprop'"):
        ref.fit({}, [], np.zeros((1, 1)), np.zeros((1, 1)), "mse", 1, 1, 0.1, "rmsprop")
