"""bn.RNN: the Elman recurrence h_t = f(W·[x_t; h_{t−1}] + b) against a NumPy loop, one set of
parameters behind every unrolled length, the initial state, errors, and two memory tasks it must
learn: binary addition (a carry kept from step to step) and counting ones.

Its gradients are checked against central differences in test_graph_gradients.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from blasnet import reference as ref

import blasnet as bn

Array = np.ndarray[Any, Any]
SCE = "softmax_cross_entropy"
BCE = "binary_cross_entropy"


def numpy_rnn(
    rnn: bn.RNN,
    X: Array,
    h0: Array | None = None,
    activation: str = "tanh",
    output_activation: str = "identity",
) -> Array:
    """The head's outputs by a loop over the steps, in NumPy, from the RNN's own parameters:
    h_t = f(W·[x_t; h_{t−1}] + b), y_t = g(V·h_t + c); samples as rows."""
    p = rnn.parameters()
    W, b, V, c = p["cell.W"], p["cell.b"], p["head.W"], p["head.b"]
    h = np.zeros((X.shape[0], W.shape[0])) if h0 is None else h0
    outs = []
    for t in range(X.shape[1]):
        h = ref.activation(activation, (np.concatenate([X[:, t, :], h], axis=1) @ W.T + b).T).T
        outs.append(ref.activation(output_activation, (h @ V.T + c).T).T)
    return outs[-1] if rnn.head == "last" else np.stack(outs, axis=1)


def numpy_J(rnn: bn.RNN, Y: Array, T: Array, loss: str) -> float:
    """The cost of the head: on the last step, or the mean of every step's."""
    def one(Y_t: Array, T_t: Array) -> float:
        if T_t.ndim == 1 and loss == SCE:
            T_t = np.eye(Y_t.shape[1])[T_t]
        return ref.loss_value(loss, Y_t.T, T_t.reshape(Y_t.shape).T)

    if rnn.head == "last":
        return one(Y, T)
    return float(np.mean([one(Y[:, t], T[:, t]) for t in range(Y.shape[1])]))


def randomized(rnn: bn.RNN, seed: int = 0) -> bn.RNN:
    """``rnn`` with every parameter drawn uniform in [−0.8, 0.8], biases included."""
    rng = np.random.default_rng(seed)
    for view in rnn.parameters().values():
        view[...] = rng.uniform(-0.8, 0.8, view.shape)
    return rnn


# --- shapes and the recurrence ----------------------------------------------------------------


@pytest.mark.parametrize("head", ["last", "every"])
@pytest.mark.parametrize("steps", [1, 3, 7])
def test_shapes(head: str, steps: int) -> None:
    """The head's outputs are (n_samples, n_outputs) on the last step and (n_samples, n_steps,
    n_outputs) on every step; the parameters have the documented keys and shapes."""
    rnn = bn.RNN(n_features=2, hidden=5, n_outputs=3, head=head, seed=0)
    Y = rnn.forward(np.zeros((4, steps, 2)))
    assert Y.shape == ((4, 3) if head == "last" else (4, steps, 3))
    assert Y.dtype == np.float64
    assert {key: value.shape for key, value in rnn.parameters().items()} == {
        "cell.W": (5, 7), "cell.b": (5,), "head.W": (3, 5), "head.b": (3,)
    }
    assert rnn.head == head


@pytest.mark.parametrize("head", ["last", "every"])
def test_unrolled_graph_structure(head: str) -> None:
    """unroll(3) is a graph whose step t reads [x_t; h_{t−1}], starting from the input h0, with
    the head on the last step or on each, every cost weighted 1/(number of heads)."""
    rnn = bn.RNN(n_features=2, hidden=4, n_outputs=1, head=head, seed=0)
    g = rnn.unroll(3)
    assert g is rnn.unroll(3)  # built once per length and kept
    assert g.inputs == {"h0": 4, "x1": 2, "x2": 2, "x3": 2}
    cells = [(name, sources) for name, sources, *_ in g.nodes if name.startswith("cell")]
    assert cells == [
        ("cell", ["x1", "h0"]), ("cell@2", ["x2", "cell"]), ("cell@3", ["x3", "cell@2"])
    ]
    heads = [(name, sources) for name, sources, *_ in g.nodes if name.startswith("head")]
    if head == "last":
        assert heads == [("head", ["cell@3"])] and g.outputs == ["head"]
    else:
        assert heads == [("head", ["cell"]), ("head@2", ["cell@2"]), ("head@3", ["cell@3"])]
        assert g.outputs == ["head", "head@2", "head@3"]
    assert list(g.parameters()) == ["cell.W", "cell.b", "head.W", "head.b"]


CELL_AND_HEAD = [
    ("tanh", "identity"),
    ("tanh", "sigmoid"),
    ("tanh", "softmax"),
    ("sigmoid", "identity"),
    ("relu", "tanh"),
]


@pytest.mark.parametrize("head", ["last", "every"])
@pytest.mark.parametrize(("activation", "output_activation"), CELL_AND_HEAD)
@pytest.mark.parametrize("steps", [1, 2, 6])
def test_forward_equals_a_numpy_loop(
    head: str, activation: str, output_activation: str, steps: int
) -> None:
    """forward equals h_t = f(W·[x_t; h_{t−1}] + b), y_t = g(V·h_t + c) looped in NumPy with
    the RNN's own parameters, value by value."""
    rnn = randomized(
        bn.RNN(n_features=3, hidden=4, n_outputs=2, activation=activation,
               output_activation=output_activation, head=head, seed=1),
        seed=steps,
    )
    X = np.random.default_rng(2).standard_normal((5, steps, 3))
    want = numpy_rnn(rnn, X, activation=activation, output_activation=output_activation)
    np.testing.assert_allclose(rnn.forward(X), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("head", ["last", "every"])
@pytest.mark.parametrize(
    ("output_activation", "loss", "labels"),
    [("identity", "mse", False), ("sigmoid", BCE, False), ("softmax", SCE, False),
     ("softmax", SCE, True)],
)
def test_J_equals_numpy(head: str, output_activation: str, loss: str, labels: bool) -> None:
    """backward's J is the head's loss on the last step, or the mean of the steps' losses."""
    rng = np.random.default_rng(3)
    rnn = randomized(bn.RNN(n_features=2, hidden=3, n_outputs=3,
                            output_activation=output_activation, loss=loss, head=head, seed=0))
    X = rng.standard_normal((4, 5, 2))
    shape = (4,) if head == "last" else (4, 5)
    T = (rng.integers(0, 3, shape) if labels
         else rng.uniform(0, 1, (*shape, 3)) if loss != SCE
         else np.eye(3)[rng.integers(0, 3, shape)])
    J = rnn.backward(X, T)
    want = numpy_J(rnn, numpy_rnn(rnn, X, output_activation=output_activation), T, loss)
    assert J == pytest.approx(want, rel=1e-12)


def test_one_output_per_step_takes_two_dimensional_targets() -> None:
    """With one output on every step, targets (n_samples, n_steps) mean (n_samples, n_steps, 1)."""
    rng = np.random.default_rng(4)
    rnn = randomized(bn.RNN(n_features=1, hidden=3, n_outputs=1, head="every", seed=0))
    X, T = rng.standard_normal((4, 3, 1)), rng.standard_normal((4, 3))
    assert rnn.backward(X, T) == rnn.backward(X, T[:, :, None])
    want = numpy_J(rnn, numpy_rnn(rnn, X), T[:, :, None], "mse")
    assert rnn.backward(X, T) == pytest.approx(want, rel=1e-12)


# --- one set of parameters for every length ---------------------------------------------------


def test_every_length_views_the_same_parameters() -> None:
    """unroll(3) and unroll(5) see the very buffers of rnn.parameters() and rnn.gradients()."""
    rnn = bn.RNN(n_features=2, hidden=4, n_outputs=1, seed=0)
    g3, g5 = rnn.unroll(3), rnn.unroll(5)
    for key, view in rnn.parameters().items():
        assert np.shares_memory(view, g3.parameters()[key]), key
        assert np.shares_memory(view, g5.parameters()[key]), key
        assert np.shares_memory(rnn.gradients()[key], g5.gradients()[key]), key
    X = np.random.default_rng(0).standard_normal((3, 5, 2))
    rnn.backward(X, np.ones(3))
    for key, grad in g5.gradients().items():
        np.testing.assert_array_equal(rnn.gradients()[key], grad)
        assert np.any(grad != 0), key


def test_training_at_one_length_changes_every_length() -> None:
    """A step taken on sequences of length 3 changes what sequences of length 5 give, to
    exactly what the NumPy loop computes with the updated parameters; writing the parameters
    does the same."""
    rng = np.random.default_rng(5)
    rnn = bn.RNN(n_features=2, hidden=4, n_outputs=1, seed=0)
    X3, X5 = rng.standard_normal((6, 3, 2)), rng.standard_normal((6, 5, 2))
    before = rnn.forward(X5)
    initial = {key: value.copy() for key, value in rnn.parameters().items()}

    rnn.train_step(X3, rng.standard_normal(6), bn.SGD(lr=0.5))

    for key, value in rnn.parameters().items():
        assert not np.array_equal(value, initial[key]), key
    after = rnn.forward(X5)
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, numpy_rnn(rnn, X5), rtol=1e-12)
    rnn.parameters()["head.b"][...] += 1.0
    np.testing.assert_allclose(rnn.forward(X5), after + 1.0, rtol=1e-12)


def test_train_step_is_backward_then_update() -> None:
    """The cell is applied at every step, so its update is θ − lr·(the sum over the steps);
    train_step returns the J before the step."""
    rng = np.random.default_rng(6)
    X, T = rng.standard_normal((5, 4, 2)), rng.integers(0, 2, (5, 4, 1)).astype(float)
    stepped = bn.RNN(2, 3, 1, output_activation="sigmoid", loss=BCE, head="every", seed=7)
    manual = bn.RNN(2, 3, 1, output_activation="sigmoid", loss=BCE, head="every", seed=7)
    J = manual.backward(X, T)
    expected = {
        key: value - 0.4 * manual.gradients()[key] for key, value in manual.parameters().items()
    }
    assert stepped.train_step(X, T, bn.SGD(lr=0.4)) == J
    for key, value in stepped.parameters().items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-14, atol=1e-16, err_msg=key)


# --- the initial state ------------------------------------------------------------------------


@pytest.mark.parametrize("head", ["last", "every"])
def test_initial_state_is_used(head: str) -> None:
    """h0 enters the first step: a nonzero h0 changes the outputs, to what the NumPy loop gives
    from it; h0 = 0 is the default."""
    rng = np.random.default_rng(8)
    rnn = randomized(bn.RNN(n_features=2, hidden=4, n_outputs=2, head=head, seed=0))
    X = rng.standard_normal((3, 4, 2))
    h0 = rng.uniform(-1, 1, (3, 4))
    with_h0 = rnn.forward(X, h0=h0)
    assert not np.allclose(with_h0, rnn.forward(X))
    np.testing.assert_allclose(with_h0, numpy_rnn(rnn, X, h0), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(rnn.forward(X, h0=np.zeros((3, 4))), rnn.forward(X))
    T = rng.standard_normal((3, 2) if head == "last" else (3, 4, 2))
    assert rnn.backward(X, T, h0=h0) == pytest.approx(numpy_J(rnn, numpy_rnn(rnn, X, h0), T, "mse"))


def test_inputs_of_other_layouts_and_dtypes() -> None:
    """Lists, float32, Fortran order and a sliced view give the results of the canonical array."""
    rng = np.random.default_rng(9)
    rnn = randomized(bn.RNN(n_features=2, hidden=3, n_outputs=1, head="every", seed=0))
    X = np.round(8 * rng.standard_normal((4, 5, 2))) / 8
    want = rnn.forward(X)
    wide = np.zeros((4, 5, 3))
    wide[:, :, 1:] = X
    for given in (X.tolist(), X.astype(np.float32), np.asfortranarray(X), wide[:, :, 1:],
                  X[::-1][::-1]):
        np.testing.assert_allclose(rnn.forward(given), want, rtol=1e-14, atol=1e-15)


# --- errors -----------------------------------------------------------------------------------


def assert_rejected(
    rnn: bn.RNN, call: Callable[[], object], message: str, exception: type[Exception] = ValueError
) -> None:
    """``call`` raises with ``message`` (a literal fragment); the parameters stay as they were."""
    before = {key: value.copy() for key, value in rnn.parameters().items()}
    with pytest.raises(exception, match=re.escape(message)):
        call()
    for key, value in rnn.parameters().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


RNN_CALLS: dict[str, Callable[[bn.RNN, Any, Any], object]] = {
    "forward": lambda rnn, X, T: rnn.forward(X),
    "backward": lambda rnn, X, T: rnn.backward(X, T),
    "train_step": lambda rnn, X, T: rnn.train_step(X, T, bn.SGD(lr=0.5)),
    "fit": lambda rnn, X, T: rnn.fit(X, T, bn.SGD(lr=0.5), epochs=2, batch_size=1),
}


@pytest.mark.parametrize("call", RNN_CALLS)
@pytest.mark.parametrize(
    ("shape", "shown"),
    [((4, 2), "(4, 2)"), ((4, 3, 2, 1), "(4, 3, 2, 1)"), ((4, 3, 3), "(4, 3, 3)"),
     ((4, 0, 2), "(4, 0, 2)"), ((4,), "(4,)")],
    ids=["2-D", "4-D", "n_features", "zero_steps", "1-D"],
)
def test_bad_sequence_shape(call: str, shape: tuple[int, ...], shown: str) -> None:
    """X must be (n_samples ≥ 1, n_steps ≥ 1, n_features); the message gives the expected and
    actual shapes."""
    rnn = bn.RNN(n_features=2, hidden=3, n_outputs=1, seed=0)
    assert_rejected(
        rnn,
        lambda: RNN_CALLS[call](rnn, np.zeros(shape), np.zeros((4, 1))),
        f"X must have shape (n_samples, n_steps, 2) with at least one sample and one step, "
        f"got {shown}",
    )


@pytest.mark.parametrize("call", RNN_CALLS)
def test_sequence_not_numeric(call: str) -> None:
    rnn = bn.RNN(n_features=2, hidden=3, n_outputs=1, seed=0)
    assert_rejected(rnn, lambda: RNN_CALLS[call](rnn, [[["a", "b"]]], np.zeros((1, 1))),
                    "X must be numeric, got an array of dtype <U1")


@pytest.mark.parametrize("call", RNN_CALLS)
def test_sequence_not_finite(call: str) -> None:
    """NaN anywhere in X is refused before any step, naming the sample, step and feature."""
    rnn = bn.RNN(n_features=2, hidden=3, n_outputs=1, seed=0)
    X = np.zeros((4, 3, 2))
    X[1, 2, 0] = np.nan
    assert_rejected(rnn, lambda: RNN_CALLS[call](rnn, X, np.zeros((4, 1))),
                    "X contains NaN or Inf (sample 1, step 2, feature 0)")


@pytest.mark.parametrize("call", RNN_CALLS)
def test_sequence_beyond_float32_range(call: str) -> None:
    """A finite float64 value too large for a float32 network is named as out of range, as by
    Graph and Sequential — not cast to Inf with a RuntimeWarning and then reported as an Inf
    that X never contained."""
    rnn = bn.RNN(n_features=2, hidden=3, n_outputs=1, dtype="float32", seed=0)
    X = np.zeros((4, 3, 2))
    X[1, 2, 0] = 1e300
    assert_rejected(rnn, lambda: RNN_CALLS[call](rnn, X, np.zeros((4, 1))),
                    "X has values outside the range of float32")


@pytest.mark.parametrize("call", ["backward", "train_step", "fit"])
@pytest.mark.parametrize(
    ("head", "n_outputs", "T_shape", "message"),
    [
        ("every", 2, (4, 4, 2), "T for a head on every step must have shape (n_samples, 3, 2), "
                                "or (n_samples, 3) of class labels, got (4, 4, 2)"),
        ("every", 2, (4, 3), "T for a head on every step must have shape (n_samples, 3, 2)"),
        ("every", 2, (4, 3, 2, 1), "T for a head on every step must have shape (n_samples, 3, 2)"),
        ("every", 2, (4, 3, 3), "expected shape (4, 2), got (4, 3)"),
        ("every", 2, (5, 3, 2), "expected shape (4, 2), got (5, 2)"),
        ("last", 2, (4, 3), "expected shape (4, 2), got (4, 3)"),
        ("last", 2, (4,), "has shape (4,) but the network has 2 outputs"),
        ("last", 1, (4, 3, 1), "must be 1-D or 2-D, got shape (4, 3, 1)"),
        ("last", 1, (3,), "expected shape (4, 1), got (3, 1)"),
    ],
)
def test_bad_target_shape(
    call: str, head: str, n_outputs: int, T_shape: tuple[int, ...], message: str
) -> None:
    """Targets that do not fit the head — wrong steps, outputs or samples — are refused."""
    rnn = bn.RNN(n_features=2, hidden=3, n_outputs=n_outputs, head=head, seed=0)
    X = np.zeros((4, 3, 2))
    assert_rejected(rnn, lambda: RNN_CALLS[call](rnn, X, np.zeros(T_shape)), message)


@pytest.mark.parametrize("call", ["forward", "backward", "train_step"])
def test_bad_initial_state(call: str) -> None:
    """h0 must be (n_samples, hidden)."""
    rnn = bn.RNN(n_features=2, hidden=3, n_outputs=1, seed=0)
    X, T = np.zeros((4, 2, 2)), np.zeros((4, 1))
    calls: dict[str, Callable[[Any], object]] = {
        "forward": lambda h0: rnn.forward(X, h0=h0),
        "backward": lambda h0: rnn.backward(X, T, h0=h0),
        "train_step": lambda h0: rnn.train_step(X, T, bn.SGD(lr=0.5), h0=h0),
    }
    assert_rejected(rnn, lambda: calls[call](np.zeros((4, 2))),
                    "h0 must have shape (4, 3) for 4 sequences, got (4, 2)")
    assert_rejected(rnn, lambda: calls[call](np.zeros((3, 3))),
                    "h0 must have shape (4, 3) for 4 sequences, got (3, 3)")
    assert_rejected(rnn, lambda: calls[call](np.zeros(3)), "h0 must be 2-D")


@pytest.mark.parametrize(
    ("kwargs", "exception", "message"),
    [
        ({"head": "first"}, ValueError, "head must be one of ('last', 'every'), got 'first'"),
        ({"activation": "swish"}, ValueError, "unknown activation 'swish'"),
        ({"output_activation": "gelu"}, ValueError, "unknown activation 'gelu'"),
        ({"loss": "hinge"}, ValueError, "unknown loss 'hinge'"),
        ({"loss": BCE}, ValueError, f"loss '{BCE}' takes log y and needs outputs in (0, 1)"),
        ({"hidden": 0}, ValueError, "hidden must be at least 1, got 0"),
        ({"n_features": 0}, ValueError, "n_features must be at least 1, got 0"),
        ({"n_outputs": 1.0}, TypeError, "n_outputs must be an integer, got float"),
        ({"dtype": "float16"}, ValueError, "dtype must be one of ('float32', 'float64')"),
    ],
)
def test_bad_construction(kwargs: dict[str, Any], exception: type[Exception], message: str) -> None:
    """Bad sizes, names and dtypes are refused at construction, naming the culprit."""
    args: dict[str, Any] = {"n_features": 2, "hidden": 3, "n_outputs": 1, **kwargs}
    with pytest.raises(exception, match=re.escape(message)):
        bn.RNN(**args)


def test_bad_unroll_length() -> None:
    rnn = bn.RNN(n_features=2, hidden=3, n_outputs=1)
    with pytest.raises(ValueError, match="n_steps must be at least 1, got 0"):
        rnn.unroll(0)


# --- memory tasks -----------------------------------------------------------------------------

BITS = 8


def addition_data(n: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """Pairs of (BITS − 1)-bit numbers, bit by bit from the least significant: X (n, BITS, 2)
    holds a_t and b_t, T (n, BITS, 1) the bits of a + b, which fits in BITS bits."""
    a, b = rng.integers(0, 2 ** (BITS - 1), n), rng.integers(0, 2 ** (BITS - 1), n)

    def bits(v: Array) -> Array:
        return ((v[:, None] >> np.arange(BITS)) & 1).astype(np.float64)

    return np.stack([bits(a), bits(b)], axis=2), bits(a + b)[:, :, None]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_binary_addition(seed: int, dtype: str) -> None:
    """An Elman network of 8 tanh units with a sigmoid head on every step learns to add two
    7-bit numbers fed least significant bit first: on 1000 fresh pairs at least 95% of the sums
    are right in all 8 bits. Each sum bit depends on the carry from the steps before, which the
    network must hold in its state; the memoryless guess a_t XOR b_t gets only the sums without
    any carry right (some (3/4)^7 ≈ 13% of them). 20 epochs of SGD(1.0) over 1000 pairs in
    batches of 16 take a tenth of a second; 10 epochs already suffice for seeds 0–7."""
    rng = np.random.default_rng(0)
    X, T = addition_data(1000, rng)
    X_test, T_test = addition_data(1000, rng)
    xor_right = np.all(np.logical_xor(X_test[:, :, 0], X_test[:, :, 1]) == T_test[:, :, 0], axis=1)
    assert xor_right.mean() < 0.2

    rnn = bn.RNN(n_features=2, hidden=8, n_outputs=1, output_activation="sigmoid", loss=BCE,
                 head="every", dtype=dtype, seed=seed)
    started = time.perf_counter()
    history = rnn.fit(X, T, bn.SGD(lr=1.0), epochs=20, batch_size=16)
    seconds = time.perf_counter() - started

    right = np.all((rnn.forward(X_test) > 0.5) == (T_test > 0.5), axis=(1, 2))
    assert right.mean() >= 0.95, f"{right.mean():.3f} of the sums right"
    assert history.loss[-1] < 0.05 * history.loss[0]
    assert rnn.history is history and history.epochs == 20
    assert seconds < 5.0, f"{seconds:.1f} s"


def test_binary_addition_training_is_deterministic() -> None:
    """The same seed gives the same history and weights, bit for bit."""
    X, T = addition_data(200, np.random.default_rng(1))
    runs = []
    for _ in range(2):
        rnn = bn.RNN(2, 8, 1, output_activation="sigmoid", loss=BCE, head="every", seed=3)
        history = rnn.fit(X, T, bn.SGD(lr=1.0), epochs=3, batch_size=16)
        runs.append((history.loss, {key: v.copy() for key, v in rnn.parameters().items()}))
    assert runs[0][0] == runs[1][0]
    for key in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][key], runs[1][1][key])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_to_count_ones(seed: int) -> None:
    """With its head on the last step only, an Elman network of 8 tanh units learns to count the
    ones of a random 6-bit sequence (regression with mse): rounded, its count is exact for at
    least 95% of 1000 fresh sequences, where always guessing the mean count, 3, is right for
    only 31%. 60 epochs of SGD(0.05) over 500 sequences in batches of 16; 50 suffice for
    seeds 0–5."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (500, 6, 1)).astype(np.float64)
    X_test = rng.integers(0, 2, (1000, 6, 1)).astype(np.float64)
    counts = X_test.sum(axis=(1, 2))
    assert np.mean(counts == 3) < 0.35

    rnn = bn.RNN(n_features=1, hidden=8, n_outputs=1, seed=seed)
    rnn.fit(X, X.sum(axis=1), bn.SGD(lr=0.05), epochs=60, batch_size=16)

    right = np.round(rnn.forward(X_test)[:, 0]) == counts
    assert right.mean() >= 0.95, f"{right.mean():.3f} of the counts right"


def test_each_steps_slice_reaches_the_core_in_place() -> None:
    """X[:, t, :] of a batch of sequences is in the layout the core reads (arrays.hpp, the one
    definition): a prediction over 8 MB of sequences allocates far less than them."""
    import tracemalloc

    X = np.ones((2_000, 50, 10))
    rnn = bn.RNN(n_features=10, hidden=4, n_outputs=1)
    rnn.forward(X[:2])  # builds the unrolled graph outside the measurement
    tracemalloc.start()
    rnn.predict(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < X.nbytes // 4
