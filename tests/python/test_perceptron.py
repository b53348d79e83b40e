"""bn.Perceptron: the note's y = sgn(wᵀx + b) as a 0/1 step unit trained by Rosenblatt's rule
w ← w + lr·(t − y)·x, b ← b + lr·(t − y). Checked against a NumPy transcription of the rule
update by update, Novikoff's mistake bound, data that no line separates, several units at
once, predict against W·x + b by hand, the array contract, and every error path."""

from __future__ import annotations

import _thread
import re
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import blasnet as bn
from blasnet.datasets import cake, cake_linear_accuracy, xor

Array = np.ndarray[Any, Any]


def rule(
    X: Array, T: Array, lr: float, epochs: int, W: Array | None = None, b: Array | None = None
) -> tuple[Array, Array, list[int]]:
    """The perceptron rule in NumPy, samples in order, from W and b (zeros by default):
    returns the final W (n_outputs, n_features), b, and the mistakes of each epoch, stopping
    after the first epoch without one."""
    n_outputs = T.shape[1]
    W = np.zeros((n_outputs, X.shape[1])) if W is None else W.astype(np.float64)
    b = np.zeros(n_outputs) if b is None else b.astype(np.float64)
    mistakes: list[int] = []
    for _ in range(epochs):
        wrong = 0
        for x, t in zip(X, T):
            y = (W @ x + b >= 0).astype(np.float64)  # the note's y = sgn(wᵀx + b), as 0/1
            for i in np.flatnonzero(y != t):
                W[i] += lr * (t[i] - y[i]) * x
                b[i] += lr * (t[i] - y[i])
                wrong += 1
        mistakes.append(wrong)
        if wrong == 0:
            break
    return W, b, mistakes


def dyadic_data(n: int, d: int, n_outputs: int, seed: int) -> tuple[Array, Array]:
    """Features that are multiples of 1/8 in [−2, 2] and random 0/1 labels: every sum the rule
    forms is exact in float32 and float64 alike, in any order, so results can be compared bit
    for bit, and z = 0 exactly (the step's boundary) happens often."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-16, 17, size=(n, d)) / 8.0
    T = rng.integers(0, 2, size=(n, n_outputs))
    return X, T


def margin_data(n: int, gap: float, seed: int) -> tuple[Array, Array]:
    """Points of [−2, 2]² on either side of 0.6·x₁ − 0.8·x₂ + 0.2 = 0, none nearer than
    ``gap`` to it: separable with a known margin."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(4 * n, 2))
    z = X @ np.array([0.6, -0.8]) + 0.2
    keep = np.abs(z) >= gap
    return X[keep][:n], (z[keep][:n] > 0).astype(np.int64)


# --- the rule --------------------------------------------------------------------------------


def test_hand_worked_and() -> None:
    """AND on the corners, samples in order: mistakes 2, 3, 3, 2, 1, 0 per epoch, ending at
    w = (2, 1), b = −3 (the update trace is worked out in tests/cpp/test_perceptron.cpp);
    (1, 1) lands exactly on the boundary z = 0 and is read as 1."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    p = bn.Perceptron(n_features=2)
    history = p.fit(X, [0, 0, 0, 1], shuffle=False)
    assert history.loss == [0.5, 0.75, 0.75, 0.5, 0.25, 0.0]
    assert p.converged
    np.testing.assert_array_equal(p.W, [[2.0, 1.0]])
    np.testing.assert_array_equal(p.b, [-3.0])
    assert float(p.W[0] @ X[3] + p.b[0]) == 0.0
    assert p.predict(X).tolist() == [0, 0, 0, 1]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_equals_numpy_rule_update_by_update(dtype: str) -> None:
    """Visiting one sample per call (each fit continues from the current weights), W and b
    equal the NumPy rule's after every single update; a whole run in one call ends where the
    NumPy rule ends, with the same mistakes in every epoch."""
    X, T = dyadic_data(30, 3, 2, seed=1)
    p = bn.Perceptron(n_features=3, n_outputs=2, lr=0.5, dtype=dtype)
    W, b = np.zeros((2, 3)), np.zeros(2)
    moved = 0
    for _ in range(3):
        for j in range(len(X)):
            p.fit(X[j : j + 1], T[j : j + 1], epochs=1, shuffle=False)
            W_next, b_next, _ = rule(X[j : j + 1], T[j : j + 1], 0.5, 1, W, b)
            moved += int(not np.array_equal(W_next, W))
            W, b = W_next, b_next
            np.testing.assert_array_equal(p.W, W, err_msg=f"sample {j}")
            np.testing.assert_array_equal(p.b, b, err_msg=f"sample {j}")
    assert moved > 10  # the comparison saw many updates, not a frozen W

    whole = bn.Perceptron(n_features=3, n_outputs=2, lr=0.5, dtype=dtype)
    history = whole.fit(X, T, epochs=20, shuffle=False)
    W_ref, b_ref, mistakes = rule(X, T.astype(float), 0.5, 20)
    assert len(mistakes) == 20 and min(mistakes) > 0  # random labels: every epoch runs
    np.testing.assert_array_equal(whole.W, W_ref)
    np.testing.assert_array_equal(whole.b, b_ref)
    assert history.loss == [m / (30 * 2) for m in mistakes]
    assert whole.W.dtype == np.dtype(dtype)


def test_converges_within_novikoffs_bound() -> None:
    """Separable data with margin γ (from the unit-norm (w*, b*)) and R = max ‖(x, 1)‖: the rule
    makes at most (R/γ)² mistakes in all, in any order, then an epoch without one; every
    training sample is then right."""
    X, y = margin_data(300, 0.25, seed=3)
    w_star = np.array([0.6, -0.8, 0.2])
    augmented = np.hstack([X, np.ones((len(X), 1))])
    signed = np.where(y == 1, 1.0, -1.0)
    gamma = float(np.min(signed * (augmented @ w_star)) / np.linalg.norm(w_star))
    R = float(np.max(np.linalg.norm(augmented, axis=1)))
    assert gamma > 0.2
    for seed in range(4):
        p = bn.Perceptron(n_features=2, seed=seed)
        history = p.fit(X, y, epochs=1000, shuffle=seed > 0)
        mistakes = round(sum(history.loss) * len(X))
        assert p.converged and history.loss[-1] == 0.0
        assert 0 < mistakes <= (R / gamma) ** 2
        assert history.epochs < 1000
        assert p.error_rate(X, y) == 0.0
        np.testing.assert_array_equal(p.predict(X), y)


def test_separable_cake_converges() -> None:
    """The note's cake with little spread is separable: the rule converges, and its line cuts
    the cake as well as the note's knife, perfectly."""
    X, y = cake(n_samples=400, spread=0.3, seed=0)
    assert cake_linear_accuracy(X, y) == 1.0
    p = bn.Perceptron(n_features=2)
    history = p.fit(X, y, epochs=100)
    assert p.converged and history.epochs < 100
    assert p.error_rate(X, y) == 0.0


@pytest.mark.parametrize("data", ["xor", "overlapping cake"])
def test_non_separable_data_never_converges(data: str) -> None:
    """XOR (the note's Figure 4) and a cake whose clouds overlap have no separating line: the
    rule errs in every epoch, runs them all, and leaves a training error above zero."""
    X, y = xor() if data == "xor" else cake(n_samples=300, spread=1.0, seed=1)
    p = bn.Perceptron(n_features=2)
    history = p.fit(X, y, epochs=40)
    assert not p.converged
    assert history.epochs == 40
    assert min(history.loss) > 0.0
    assert p.error_rate(X, y) > 0.0


def test_several_outputs_learn_as_if_alone() -> None:
    """AND, OR and NAND in one perceptron of three units: each row of W and entry of b is what a
    one-unit perceptron reaches alone, the epoch losses are the means of theirs, and predict
    gives all three columns."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    Y = np.array([[0, 0, 1], [0, 1, 1], [0, 1, 1], [1, 1, 0]])
    together = bn.Perceptron(n_features=2, n_outputs=3, seed=7)
    history = together.fit(X, Y)
    assert together.converged
    mistakes = np.zeros((3, history.epochs), dtype=np.int64)
    for i in range(3):
        alone = bn.Perceptron(n_features=2, seed=7)
        h = alone.fit(X, Y[:, i])
        assert alone.converged and h.epochs <= history.epochs
        mistakes[i, : h.epochs] = np.round(np.array(h.loss) * 4)
        np.testing.assert_array_equal(alone.W[0], together.W[i])
        assert alone.b[0] == together.b[i]
    np.testing.assert_array_equal(np.round(np.array(history.loss) * 12), mistakes.sum(axis=0))
    prediction = together.predict(X)
    assert prediction.shape == (4, 3) and prediction.dtype == np.int64
    np.testing.assert_array_equal(prediction, Y)


def test_lr_only_scales_the_weights_from_zero() -> None:
    """Started at zero, w and b are lr times a sum of ±x and ±1: lr = 0.25 makes the same
    mistakes as lr = 1 with exactly a quarter of the weights."""
    X, y = margin_data(200, 0.05, seed=4)
    one, quarter = bn.Perceptron(2, lr=1.0), bn.Perceptron(2, lr=0.25)
    assert one.fit(X, y).loss == quarter.fit(X, y).loss
    np.testing.assert_array_equal(quarter.W, 0.25 * one.W)
    np.testing.assert_array_equal(quarter.b, 0.25 * one.b)


def test_seeds_order_the_samples() -> None:
    """The same seed gives the same run; another seed another; seed=None in fit means the
    perceptron's own seed; shuffle=False ignores the seed."""
    X, y = margin_data(300, 0.01, seed=5)

    def run(own: int = 0, **fit: Any) -> tuple[list[float], list[float]]:
        p = bn.Perceptron(n_features=2, seed=own)
        history = p.fit(X, y, epochs=500, **fit)
        return history.loss, p.W.ravel().tolist()

    assert run(own=3) == run(own=3) == run(0, seed=3)
    assert run(own=3) != run(own=4)
    assert run(0, seed=3) != run(0, seed=4)
    assert run(0, shuffle=False, seed=3) == run(0, shuffle=False, seed=4)


# --- predict ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_predict_is_step_of_wx_plus_b(n_outputs: int) -> None:
    """predict is 1 exactly where W·x + b ≥ 0, computed here by hand; one output gives shape
    (n,), several (n, n_outputs); int64 either way."""
    rng = np.random.default_rng(2)
    p = bn.Perceptron(n_features=4, n_outputs=n_outputs)
    p.W[...] = rng.integers(-3, 4, size=(n_outputs, 4))
    p.b[...] = rng.integers(-2, 3, size=n_outputs)
    X = rng.integers(-2, 3, size=(200, 4)).astype(float)  # integer z: many exact zeros
    Z = X @ p.W.T + p.b
    assert (Z == 0).any() and (Z > 0).any() and (Z < 0).any()
    expected = (Z >= 0).astype(np.int64)
    got = p.predict(X)
    assert got.dtype == np.int64
    if n_outputs == 1:
        assert got.shape == (200,)
        np.testing.assert_array_equal(got, expected[:, 0])
    else:
        assert got.shape == (200, n_outputs)
        np.testing.assert_array_equal(got, expected)


def test_zero_weights_read_everything_as_one() -> None:
    """Rosenblatt's start w = 0, b = 0 puts every sample on the boundary z = 0: class 1."""
    p = bn.Perceptron(n_features=3, n_outputs=2)
    assert not p.W.any() and not p.b.any()
    np.testing.assert_array_equal(p.predict(np.random.default_rng(0).normal(size=(5, 3))), 1)
    assert not p.converged and p.history is None


def test_error_rate_is_the_fraction_wrong() -> None:
    """error_rate counts samples with one output and (sample, unit) pairs with several."""
    p = bn.Perceptron(n_features=1, n_outputs=2)
    p.W[...] = [[1.0], [-1.0]]  # unit 0: x ≥ 0, unit 1: x ≤ 0
    X = [[-2.0], [0.0], [3.0]]
    assert p.predict(X).tolist() == [[0, 1], [1, 1], [1, 0]]
    assert p.error_rate(X, [[0, 1], [1, 1], [1, 0]]) == 0.0
    assert p.error_rate(X, [[1, 1], [1, 0], [1, 0]]) == 2 / 6
    single = bn.Perceptron(n_features=1)
    assert single.error_rate(X, [0, 1, 1]) == 1 / 3  # w = 0, b = 0 says 1 everywhere


# --- the array contract ----------------------------------------------------------------------


def test_w_and_b_are_writable_views() -> None:
    """W and b are views of the core's memory: what is written there is what predict and fit
    use, two calls share memory, and a view outlives the perceptron object."""
    p = bn.Perceptron(n_features=2, n_outputs=2)
    assert p.W.shape == (2, 2) and p.b.shape == (2,)
    assert np.shares_memory(p.W, p.W) and np.shares_memory(p.b, p.b)
    assert not np.shares_memory(p.W, p.b)
    p.W[1] = [-1.0, 0.0]
    p.b[1] = -0.5
    assert p.predict([[1.0, 5.0]]).tolist() == [[1, 0]]
    W = p.W
    p.fit([[1.0, 0.0]], [[0, 1]], epochs=1, shuffle=False)  # both units wrong: both move
    np.testing.assert_array_equal(W, [[-1.0, 0.0], [0.0, 0.0]])
    del p
    assert W.sum() == -1.0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_any_input_layout_gives_the_same_result(dtype: str) -> None:
    """Lists, integer arrays, Fortran order, strided views, bools and 0./1. floats as labels,
    (n, 1) labels for one output: all are converted and train and predict alike."""
    X, T = dyadic_data(40, 3, 1, seed=6)
    y = T[:, 0]
    reference = bn.Perceptron(3, dtype=dtype)
    expected = reference.fit(X, y, epochs=5).loss
    wide = np.zeros((40, 6))
    wide[:, ::2] = X
    layouts: list[tuple[Any, Any]] = [
        (X.tolist(), y.tolist()),
        (np.asfortranarray(X), y.astype(bool)),
        (wide[:, ::2], y.astype(np.float32)),
        (np.repeat(X, 2, axis=0)[::2], y.reshape(-1, 1)),  # evenly spaced rows: read in place
        (X.astype(np.float32), y.astype(np.uint8)),
    ]
    for X_, y_ in layouts:
        p = bn.Perceptron(3, dtype=dtype)
        assert p.fit(X_, y_, epochs=5).loss == expected
        np.testing.assert_array_equal(p.W, reference.W)
        np.testing.assert_array_equal(p.predict(X_), reference.predict(X))
        assert p.error_rate(X_, y_) == reference.error_rate(X, y)
    integers = (X * 8).astype(np.int32)
    as_int, as_float = bn.Perceptron(3, dtype=dtype), bn.Perceptron(3, dtype=dtype)
    assert as_int.fit(integers, y, epochs=5).loss == as_float.fit(X * 8, y, epochs=5).loss
    np.testing.assert_array_equal(as_int.W, as_float.W)


def peak_bytes(call: Callable[[], object]) -> int:
    """Peak memory NumPy allocates during ``call``."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_canonical_arrays_are_not_copied() -> None:
    """A C-contiguous array of the perceptron's dtype reaches the core as it is: fit and predict
    on 8 MB of samples allocate far less than 8 MB; the same data as float32 must be converted
    and cost at least a copy."""
    p = bn.Perceptron(n_features=100)
    X = np.ones((10_000, 100))
    T = np.zeros((10_000, 1))
    assert peak_bytes(lambda: p.fit(X, T, epochs=2)) < X.nbytes // 4
    assert peak_bytes(lambda: p.predict(X)) < X.nbytes // 4
    assert peak_bytes(lambda: p.predict(X.astype(np.float32))) >= X.nbytes


def test_history_records_each_fit() -> None:
    """fit returns History and keeps it as p.history; a second fit replaces it and continues
    from the weights the first left."""
    X, y = cake(n_samples=200, spread=1.0, seed=2)
    p = bn.Perceptron(n_features=2)
    first = p.fit(X, y, epochs=3)
    assert isinstance(first, bn.History) and p.history is first
    assert first.epochs == 3 and first.seconds > 0.0 and not first.interrupted
    assert all(0.0 < loss < 1.0 for loss in first.loss)
    W = p.W.copy()
    second = p.fit(X, y, epochs=2)
    assert p.history is second and second.epochs == 2
    assert not np.array_equal(p.W, W)


def test_fit_releases_the_gil() -> None:
    """While fit runs in another thread, a pure-Python loop on the main thread keeps a good
    fraction of the speed it has while the other thread merely sleeps."""
    X, T = dyadic_data(20_000, 50, 1, seed=7)
    p = bn.Perceptron(n_features=50)

    def loop_rate(work: Callable[[], object]) -> float:
        worker = threading.Thread(target=work)
        count = 0
        started = time.perf_counter()
        worker.start()
        while worker.is_alive():
            count += 1
        return count / (time.perf_counter() - started)

    idle = loop_rate(lambda: time.sleep(0.3))
    busy = loop_rate(lambda: p.fit(X, T, epochs=150))
    assert p.history is not None and p.history.epochs == 150
    assert busy > 0.25 * idle


def test_ctrl_c_stops_fit_between_epochs() -> None:
    """Ctrl-C during fit is re-raised as KeyboardInterrupt after the current epoch; p.history
    keeps the epochs that completed and the perceptron stays usable."""
    X, T = dyadic_data(2_000, 10, 1, seed=8)
    p = bn.Perceptron(n_features=10)
    timer = threading.Timer(0.1, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            p.fit(X, T, epochs=10**7)
    finally:
        timer.cancel()
    assert p.history is not None and p.history.interrupted
    assert 0 < p.history.epochs < 10**7
    assert p.W.any()
    assert p.predict(X).shape == (2_000,)


def test_properties_and_repr() -> None:
    p = bn.Perceptron(n_features=3, n_outputs=2, lr=0.5, dtype="float32", seed=4)
    assert (p.n_features, p.n_outputs, p.lr, p.dtype) == (3, 2, 0.5, np.dtype(np.float32))
    assert p.W.dtype == p.b.dtype == np.float32
    assert repr(p) == "Perceptron(n_features=3, n_outputs=2, lr=0.5, dtype=float32)"


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exception", "match"),
    [
        ({"n_features": 0}, ValueError, "n_features must be at least 1, got 0"),
        ({"n_features": 2.5}, TypeError, "n_features must be an integer"),
        ({"n_features": 2, "n_outputs": 0}, ValueError, "n_outputs must be at least 1"),
        ({"n_features": 2, "lr": 0.0}, ValueError, "lr must be positive and finite, got 0.0"),
        ({"n_features": 2, "lr": -1}, ValueError, "lr must be positive and finite, got -1.0"),
        ({"n_features": 2, "lr": float("nan")}, ValueError, "lr must be positive and finite"),
        ({"n_features": 2, "lr": float("inf")}, ValueError, "lr must be positive and finite"),
        ({"n_features": 2, "lr": "1"}, TypeError, "lr must be a real number, got str"),
        ({"n_features": 2, "lr": True}, TypeError, "lr must be a real number, got bool"),
        (
            {"n_features": 2, "lr": 1e300, "dtype": "float32"},
            ValueError,
            "lr 1e+300 is outside the range of float32",
        ),
        ({"n_features": 2, "dtype": "int32"}, ValueError, "dtype must be one of"),
        ({"n_features": 2, "seed": -1}, ValueError, "seed must be at least 0"),
    ],
)
def test_constructor_errors(kwargs: dict[str, Any], exception: type[Exception], match: str) -> None:
    with pytest.raises(exception, match=re.escape(match)):
        bn.Perceptron(**kwargs)


X4 = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
NAN_X = [[0.0, 0.0], [0.0, float("nan")], [1.0, 0.0], [1.0, 1.0]]
INF_X = [[0.0, 0.0], [0.0, 1.0], [float("inf"), 0.0], [1.0, 1.0]]


@pytest.mark.parametrize(
    ("n_outputs", "X", "y", "fit", "exception", "match"),
    [
        (1, [0.0, 1.0], [0, 1], {}, ValueError, "X must be 2-D (n_samples, n_features)"),
        (1, np.zeros((4, 2, 1)), [0, 1, 1, 0], {}, ValueError, "X must be 2-D"),
        (1, np.zeros((4, 3)), [0, 1, 1, 0], {}, ValueError, "X has 3 features per sample, but "
         "the perceptron reads 2 features"),
        (1, [["a", "b"]], [0], {}, ValueError, "X must be numeric"),
        (1, NAN_X, [0, 1, 1, 0], {}, ValueError, "X holds NaN or Inf (sample 1, feature 1)"),
        (1, INF_X, [0, 1, 1, 0], {}, ValueError, "X holds NaN or Inf (sample 2, feature 0)"),
        (1, np.zeros((0, 2)), [], {}, ValueError, "X has no samples"),
        (1, X4, [0, 1, 1], {}, ValueError, "y has 3 samples but X has 4"),
        (1, X4, [0, 1, 2, 0], {}, ValueError, "y must hold only 0 and 1 (or False and True), "
         "got 2 at sample 2"),
        (1, X4, [0, -1, 1, 0], {}, ValueError, "got -1 at sample 1"),
        (1, X4, [0, 1, 0.5, 0], {}, ValueError, "got 0.5 at sample 2"),
        (1, X4, [0, 1, float("nan"), 0], {}, ValueError, "got nan at sample 2"),
        (2, X4, [[0, 1], [1, 1], [1, 3], [0, 0]], {}, ValueError, "got 3 at sample 2, output 1"),
        (1, X4, ["a", "b", "a", "b"], {}, ValueError, "y must hold 0/1 labels"),
        (2, X4, [0, 1, 1, 0], {}, ValueError, "y has shape (4,) but the perceptron has 2 outputs"),
        (2, X4, np.zeros((4, 3)), {}, ValueError, "y must have shape (n_samples,) or "
         "(n_samples, 2), got (4, 3)"),
        (1, X4, np.zeros((4, 1, 1)), {}, ValueError, "got (4, 1, 1)"),
        (1, X4, [0, 1, 1, 0], {"epochs": 0}, ValueError, "epochs must be at least 1"),
        (1, X4, [0, 1, 1, 0], {"epochs": 2.0}, TypeError, "epochs must be an integer"),
        (1, X4, [0, 1, 1, 0], {"seed": -3}, ValueError, "seed must be at least 0"),
        (1, X4, [0, 1, 1, 0], {"seed": 2**64}, ValueError, "seed must be below 2**64"),
    ],
)
def test_fit_errors_leave_the_perceptron_as_it_was(
    n_outputs: int, X: Any, y: Any, fit: dict[str, Any], exception: type[Exception], match: str
) -> None:
    """Each bad input is named, and W, b and history are exactly what they were."""
    p = bn.Perceptron(n_features=2, n_outputs=n_outputs)
    p.fit(X4, np.tile([[0], [0], [0], [1]], (1, n_outputs)), shuffle=False)
    W, b, history = p.W.copy(), p.b.copy(), p.history
    with pytest.raises(exception, match=re.escape(match)):
        p.fit(X, y, **fit)
    np.testing.assert_array_equal(p.W, W)
    np.testing.assert_array_equal(p.b, b)
    assert p.history is history


def test_predict_and_error_rate_errors() -> None:
    p = bn.Perceptron(n_features=2)
    with pytest.raises(ValueError, match=re.escape("X has 3 features per sample")):
        p.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=re.escape("X must be 2-D")):
        p.predict([1.0, 2.0])
    with pytest.raises(ValueError, match=re.escape("X holds NaN or Inf (sample 1, feature 1)")):
        p.predict(NAN_X)
    with pytest.raises(ValueError, match=re.escape("error_rate: X has no samples")):
        p.error_rate(np.zeros((0, 2)), [])
    with pytest.raises(ValueError, match=re.escape("y must hold only 0 and 1")):
        p.error_rate(X4, [0, 1, 2, 0])
    p.W[0, 1] = np.nan
    with pytest.raises(ValueError, match=re.escape("weight W(0, 1) is NaN or Inf")):
        p.predict(X4)
    with pytest.raises(ValueError, match=re.escape("weight W(0, 1) is NaN or Inf")):
        p.fit(X4, [0, 1, 1, 0])
    assert bn.Perceptron(n_features=2).predict(np.zeros((0, 2))).shape == (0,)


def test_an_overflowing_update_raises_and_keeps_the_weights_before() -> None:
    """Sample 0 (x = 1, t = 0) moves the unit to w = b = −10¹⁰; sample 1 (x = 10³⁰⁰, t = 1)
    would add 10¹⁰·10³⁰⁰ to w. fit raises NonFiniteError naming where, and the weights are
    those after sample 0 (once, inf was written silently)."""
    p = bn.Perceptron(1, lr=1e10)
    with pytest.raises(bn.NonFiniteError,
                       match="at epoch 0, sample 1, the update of unit 0 overflows"):
        p.fit(np.array([[1.0], [1e300]]), np.array([0, 1]), shuffle=False)
    assert p.parameters()["perceptron.W"].tolist() == [[-1e10]]
    assert p.parameters()["perceptron.b"].tolist() == [-1e10]
