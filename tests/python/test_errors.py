"""Every error path of the Python API: the exception type, a message that names the problem, and
a network left exactly as it was (no half-done update)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import blasnet as bn
from blasnet.datasets import cake

BCE = "binary_cross_entropy"
SCE = "softmax_cross_entropy"

# (net, X, T) -> result, for each public call that reads X; the last three also read T.
Call = Callable[[bn.Sequential, Any, Any], object]
CALLS: dict[str, Call] = {
    "forward": lambda net, X, T: net.forward(X),
    "backward": lambda net, X, T: net.backward(X, T, loss=BCE),
    "train_step": lambda net, X, T: net.train_step(X, T, loss=BCE, optimizer=bn.SGD(lr=0.5)),
    "fit": lambda net, X, T: net.fit(
        X, T, loss=BCE, optimizer=bn.SGD(lr=0.5), epochs=3, batch_size=1, shuffle=False
    ),
}
TRAINING_CALLS = ["backward", "train_step", "fit"]


@pytest.fixture
def net() -> bn.Sequential:
    """The note's Figure 4 network: 2 inputs, 8 tanh units, 1 sigmoid output."""
    return bn.Sequential(
        [bn.Dense(8, activation="tanh"), bn.Dense(1, activation="sigmoid")], input_dim=2, seed=0
    )


def snapshot(net: bn.Sequential) -> dict[str, np.ndarray[Any, Any]]:
    """Copies of the parameters, to compare with after a failing call."""
    return {name: value.copy() for name, value in net.parameters().items()}


def assert_rejected(
    net: bn.Sequential,
    call: Callable[[], object],
    match: str,
    exception: type[Exception] = ValueError,
) -> None:
    """``call`` raises ``exception`` with ``match`` (a literal fragment) in its message, and the
    network's parameters are bit-for-bit what they were before."""
    before = snapshot(net)
    history = net.history
    with pytest.raises(exception, match=re.escape(match)):
        call()
    for name, value in net.parameters().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    assert net.history is history


# --- X ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", CALLS)
def test_values_beyond_float32_range(call: str, T: np.ndarray[Any, Any]) -> None:
    """A finite float64 input too large for a float32 network is named as out of range, not
    reported later as an Inf it never contained."""
    net32 = bn.Sequential(
        [bn.Dense(8, activation="tanh"), bn.Dense(1, activation="sigmoid")],
        input_dim=2,
        dtype="float32",
        seed=0,
    )
    X = np.array([[0.0, 0.0], [0.0, 1e300], [1.0, 0.0], [1.0, 1.0]])
    assert_rejected(net32, lambda: CALLS[call](net32, X, T), "X has values outside the range of float32")



@pytest.mark.parametrize("call", CALLS)
def test_wrong_feature_count(call: str, net: bn.Sequential, T: np.ndarray[Any, Any]) -> None:
    """A batch with 3 features for a 2-input network is rejected, naming both counts."""
    assert_rejected(
        net,
        lambda: CALLS[call](net, np.zeros((4, 3)), T),
        "input has 3 features per sample, the network expects 2",
    )


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("shape", [(2,), (4, 2, 1), ()])
def test_X_not_2d(
    call: str, shape: tuple[int, ...], net: bn.Sequential, T: np.ndarray[Any, Any]
) -> None:
    """X of any dimension other than 2 is rejected with its shape and a hint for one sample."""
    assert_rejected(
        net,
        lambda: CALLS[call](net, np.zeros(shape), T),
        f"X must be 2-D (n_samples, n_features), got shape {shape}",
    )


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(
    ("X_bad", "dtype"),
    [
        ([["a", "b"]] * 4, "<U1"),
        (np.array([[1.0, None]] * 4, dtype=object), "object"),
        (np.ones((4, 2), dtype=complex), "complex128"),
    ],
)
def test_X_not_numeric(
    call: str, X_bad: Any, dtype: str, net: bn.Sequential, T: np.ndarray[Any, Any]
) -> None:
    """Strings, objects and complex numbers are refused instead of being coerced."""
    assert_rejected(
        net, lambda: CALLS[call](net, X_bad, T), f"X must be numeric, got an array of dtype {dtype}"
    )


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_X_not_finite(
    call: str,
    bad: float,
    net: bn.Sequential,
    X: np.ndarray[Any, Any],
    T: np.ndarray[Any, Any],
) -> None:
    """NaN or ±Inf anywhere in X is rejected, naming the sample and feature."""
    X_bad = X.copy()
    X_bad[2, 1] = bad
    assert_rejected(
        net, lambda: CALLS[call](net, X_bad, T), "inputs contain NaN or Inf (sample 2, feature 1)"
    )


@pytest.mark.parametrize("call", CALLS)
def test_empty_batch(call: str, net: bn.Sequential) -> None:
    """A batch of 0 samples is an error, not an empty result or a division by zero."""
    assert_rejected(
        net,
        lambda: CALLS[call](net, np.zeros((0, 2)), np.zeros((0, 1))),
        "empty batch: the input has no samples",
    )


# --- T ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("call", TRAINING_CALLS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_T_not_finite(
    call: str,
    bad: float,
    net: bn.Sequential,
    X: np.ndarray[Any, Any],
    T: np.ndarray[Any, Any],
) -> None:
    """NaN or ±Inf in the targets is rejected, naming the sample."""
    T_bad = T.copy()
    T_bad[3, 0] = bad
    assert_rejected(
        net,
        lambda: CALLS[call](net, X, T_bad),
        "targets for loss 'binary_cross_entropy' contain NaN or Inf (sample 3, output 0)",
    )


@pytest.mark.parametrize("call", TRAINING_CALLS)
def test_T_not_numeric(call: str, net: bn.Sequential, X: np.ndarray[Any, Any]) -> None:
    """String targets are refused."""
    assert_rejected(
        net, lambda: CALLS[call](net, X, [["0"], ["1"], ["1"], ["0"]]), "T must be numeric"
    )


@pytest.mark.parametrize("call", TRAINING_CALLS)
@pytest.mark.parametrize(
    ("T_shape", "message"),
    [
        ((3, 1), "expected shape (4, 1), got (3, 1)"),
        ((5, 1), "expected shape (4, 1), got (5, 1)"),
        ((4, 2), "expected shape (4, 1), got (4, 2)"),
        ((3,), "expected shape (4, 1), got (3, 1)"),
        ((4, 1, 1), "T must be 1-D or 2-D, got shape (4, 1, 1)"),
    ],
)
def test_T_wrong_shape(
    call: str,
    T_shape: tuple[int, ...],
    message: str,
    net: bn.Sequential,
    X: np.ndarray[Any, Any],
) -> None:
    """Targets with the wrong number of samples or outputs are rejected with both shapes."""
    assert_rejected(net, lambda: CALLS[call](net, X, np.zeros(T_shape)), message)


@pytest.mark.parametrize("call", TRAINING_CALLS)
@pytest.mark.parametrize("value", [1.5, -0.5])
def test_bce_target_outside_unit_interval(
    call: str, value: float, net: bn.Sequential, X: np.ndarray[Any, Any], T: np.ndarray[Any, Any]
) -> None:
    """Binary cross-entropy takes targets in [0, 1] only."""
    T_bad = T.copy()
    T_bad[1, 0] = value
    assert_rejected(net, lambda: CALLS[call](net, X, T_bad), "(sample 1) is outside [0, 1]")


@pytest.fixture
def softmax_net() -> bn.Sequential:
    """A 3-class softmax classifier on 2 inputs."""
    return bn.Sequential([bn.Dense(3, activation="softmax")], input_dim=2, seed=0)


SOFTMAX_CALLS: dict[str, Call] = {
    "backward": lambda net, X, T: net.backward(X, T, loss=SCE),
    "train_step": lambda net, X, T: net.train_step(X, T, loss=SCE, optimizer=bn.SGD(lr=0.5)),
    "fit": lambda net, X, T: net.fit(X, T, loss=SCE, optimizer=bn.SGD(lr=0.5), epochs=2),
}


@pytest.mark.parametrize("call", SOFTMAX_CALLS)
@pytest.mark.parametrize("label", [3, -1, 100])
def test_class_label_out_of_range(
    call: str, label: int, softmax_net: bn.Sequential, X: np.ndarray[Any, Any]
) -> None:
    """Integer labels must lie in [0, n_outputs)."""
    labels = np.array([0, 1, label, 2])
    assert_rejected(
        softmax_net,
        lambda: SOFTMAX_CALLS[call](softmax_net, X, labels),
        f"class label {label} of sample 2 is outside [0, 3)",
    )


@pytest.mark.parametrize("call", SOFTMAX_CALLS)
def test_wrong_number_of_labels(
    call: str, softmax_net: bn.Sequential, X: np.ndarray[Any, Any]
) -> None:
    """Three labels for four samples is a shape error."""
    assert_rejected(
        softmax_net,
        lambda: SOFTMAX_CALLS[call](softmax_net, X, np.array([0, 1, 2])),
        "3 labels for 4 samples",
    )


@pytest.mark.parametrize("call", SOFTMAX_CALLS)
def test_negative_softmax_target(
    call: str, softmax_net: bn.Sequential, X: np.ndarray[Any, Any]
) -> None:
    """Softmax cross-entropy targets are weights of log y and may not be negative."""
    T_bad = np.eye(3)[[0, 1, 2, 0]]
    T_bad[3] = [-0.25, 0.5, 0.75]
    assert_rejected(
        softmax_net,
        lambda: SOFTMAX_CALLS[call](softmax_net, X, T_bad),
        "value -0.250000 (sample 3) is outside [0, ∞)",
    )


@pytest.mark.parametrize(
    ("loss", "labels"),
    [
        ("mse", np.array([0, 1, 2, 1])),
        (BCE, np.array([0, 1, 2, 1])),
        (SCE, np.array([0.0, 1.0, 2.0, 1.0])),
    ],
)
def test_labels_need_softmax_cross_entropy(
    loss: str, labels: np.ndarray[Any, Any], softmax_net: bn.Sequential, X: np.ndarray[Any, Any]
) -> None:
    """1-D labels for a 3-output network mean classes only when they are integers and the loss
    is softmax_cross_entropy; otherwise the message says how to fix the call."""
    assert_rejected(
        softmax_net,
        lambda: softmax_net.backward(X, labels, loss=loss),
        "T has shape (4,) but the network has 3 outputs: give targets of shape (n_samples, 3), "
        "or integer class labels with loss='softmax_cross_entropy'",
    )


# --- names -----------------------------------------------------------------------------------


def test_unknown_activation_lists_valid_names() -> None:
    """An unknown activation names itself and every valid activation."""
    message = f"unknown activation 'swish'; valid activations: {', '.join(bn.ACTIVATIONS)}"
    with pytest.raises(ValueError, match=re.escape(message)):
        bn.Dense(4, activation="swish")


@pytest.mark.parametrize("call", TRAINING_CALLS)
def test_unknown_loss_lists_valid_names(
    call: str, net: bn.Sequential, X: np.ndarray[Any, Any], T: np.ndarray[Any, Any]
) -> None:
    """An unknown loss names itself and every valid loss, before any work is done."""
    calls: dict[str, Callable[[], object]] = {
        "backward": lambda: net.backward(X, T, loss="hinge"),
        "train_step": lambda: net.train_step(X, T, loss="hinge", optimizer=bn.SGD(lr=0.5)),
        "fit": lambda: net.fit(X, T, loss="hinge", optimizer=bn.SGD(lr=0.5)),
    }
    assert_rejected(
        net, calls[call], f"unknown loss 'hinge'; valid losses: {', '.join(bn.LOSSES)}"
    )


# --- what cannot be trained ------------------------------------------------------------------


@pytest.fixture
def step_net() -> bn.Sequential:
    """The perceptron of the note's section 1: one step unit on two inputs."""
    return bn.Sequential([bn.Dense(1, activation="step")], input_dim=2, seed=3)


def test_forward_through_step_gives_indicator(step_net: bn.Sequential) -> None:
    """Forward through a step layer works and gives y = 1 where w·x + b ≥ 0, else 0."""
    X = np.random.default_rng(0).standard_normal((50, 2))
    params = step_net.parameters()
    params["0.b"][:] = 0.1
    Y = step_net.forward(X)
    expected = (X @ params["0.W"].T + params["0.b"] >= 0).astype(float)
    np.testing.assert_array_equal(Y, expected)
    assert 0 < Y.sum() < len(X)


@pytest.mark.parametrize("loss", ["mse", BCE])
@pytest.mark.parametrize("call", ["backward", "train_step", "fit"])
@pytest.mark.parametrize("hidden", [True, False])
def test_cannot_train_through_step(
    loss: str, call: str, hidden: bool, X: np.ndarray[Any, Any], T: np.ndarray[Any, Any]
) -> None:
    """Backpropagation through a step unit (hidden or output) is refused, naming the layer."""
    layers = (
        [bn.Dense(3, activation="step", name="perceptron"), bn.Dense(1, activation="sigmoid")]
        if hidden
        else [bn.Dense(1, activation="step", name="perceptron")]
    )
    net = bn.Sequential(layers, input_dim=2, seed=0)
    calls: dict[str, Callable[[], object]] = {
        "backward": lambda: net.backward(X, T, loss=loss),
        "train_step": lambda: net.train_step(X, T, loss=loss, optimizer=bn.SGD(lr=0.5)),
        "fit": lambda: net.fit(X, T, loss=loss, optimizer=bn.SGD(lr=0.5), epochs=2),
    }
    assert_rejected(
        net, calls[call], "layer 'perceptron' uses activation 'step', which has no gradient"
    )


@pytest.mark.parametrize("output", ["identity", "relu", "tanh"])
@pytest.mark.parametrize("loss", [BCE, SCE])
@pytest.mark.parametrize("call", ["backward", "train_step", "fit"])
def test_cross_entropy_needs_probability_outputs(
    output: str, loss: str, call: str, X: np.ndarray[Any, Any], T: np.ndarray[Any, Any]
) -> None:
    """The cross-entropies take log y: an output unit not confined to (0, 1) cannot feed them."""
    net = bn.Sequential([bn.Dense(1, activation=output)], input_dim=2, seed=0)
    calls: dict[str, Callable[[], object]] = {
        "backward": lambda: net.backward(X, T, loss=loss),
        "train_step": lambda: net.train_step(X, T, loss=loss, optimizer=bn.SGD(lr=0.5)),
        "fit": lambda: net.fit(X, T, loss=loss, optimizer=bn.SGD(lr=0.5), epochs=2),
    }
    assert_rejected(
        net,
        calls[call],
        f"loss '{loss}' takes log y and needs outputs in (0, 1): use a sigmoid or softmax "
        f"output layer, not '{output}'",
    )


# --- sizes, dtypes, seeds --------------------------------------------------------------------


@pytest.mark.parametrize("units", [0, -3])
def test_non_positive_units(units: int) -> None:
    """A layer needs at least one unit."""
    with pytest.raises(ValueError, match=f"units must be positive, got {units}"):
        bn.Dense(units)


def test_non_integer_units() -> None:
    """A fractional unit count is a type error from the binding."""
    with pytest.raises(TypeError, match="incompatible constructor arguments"):
        bn.Dense(2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("input_dim", [0, -1])
def test_non_positive_input_dim(input_dim: int) -> None:
    """A network needs at least one input feature."""
    with pytest.raises(ValueError, match=f"input_dim must be at least 1, got {input_dim}"):
        bn.Sequential([bn.Dense(1)], input_dim=input_dim)


@pytest.mark.parametrize("input_dim", [2.0, "2", True, None])
def test_non_integer_input_dim(input_dim: Any) -> None:
    """_convert.as_count deliberately raises TypeError for non-integers, bool included."""
    with pytest.raises(TypeError, match="input_dim must be an integer"):
        bn.Sequential([bn.Dense(1)], input_dim=input_dim)


def test_no_layers() -> None:
    """A network without layers is refused."""
    with pytest.raises(ValueError, match="needs at least one layer"):
        bn.Sequential([], input_dim=2)


def test_layers_must_be_dense() -> None:
    """Anything but a blasnet.Dense in the layer list is a type error naming its type."""
    with pytest.raises(TypeError, match="layers must be blasnet.Dense, got int"):
        bn.Sequential([bn.Dense(2), 3], input_dim=2)  # type: ignore[list-item]


def test_duplicate_layer_names() -> None:
    """Two layers named alike would give clashing parameter keys."""
    with pytest.raises(ValueError, match="duplicate layer name 'h'"):
        bn.Sequential([bn.Dense(2, name="h"), bn.Dense(1, name="h")], input_dim=2)


@pytest.mark.parametrize(
    ("dtype", "shown"),
    [("int32", "int32"), ("float16", "float16"), (np.complex128, "complex128"), ("bogus", "bogus")],
)
def test_bad_dtype(dtype: Any, shown: str) -> None:
    """Only float32 and float64 networks exist; the message lists both and names the culprit."""
    message = f"dtype must be one of ('float32', 'float64'), got '{shown}'"
    with pytest.raises(ValueError, match=re.escape(message)):
        bn.Sequential([bn.Dense(1)], input_dim=2, dtype=dtype)


@pytest.mark.parametrize(
    ("seed", "message"),
    [(-1, "seed must be at least 0, got -1"), (2**64, "seed must be below 2**64")],
)
def test_bad_network_seed(seed: int, message: str) -> None:
    """The seed feeds a 64-bit stream: negative or too large seeds are rejected."""
    with pytest.raises(ValueError, match=re.escape(message)):
        bn.Sequential([bn.Dense(1)], input_dim=2, seed=seed)


def test_non_integer_seed() -> None:
    """A float seed is a type error, not silently truncated."""
    with pytest.raises(TypeError, match="seed must be an integer, got float"):
        bn.Sequential([bn.Dense(1)], input_dim=2, seed=1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "value", "exception", "message"),
    [
        ("epochs", 0, ValueError, "epochs must be at least 1, got 0"),
        ("epochs", -5, ValueError, "epochs must be at least 1, got -5"),
        ("epochs", 1.5, TypeError, "epochs must be an integer, got float"),
        ("epochs", True, TypeError, "epochs must be an integer, got bool"),
        ("batch_size", 0, ValueError, "batch_size must be at least 1, got 0"),
        ("batch_size", -1, ValueError, "batch_size must be at least 1, got -1"),
        ("batch_size", "4", TypeError, "batch_size must be an integer, got str"),
        ("seed", -1, ValueError, "seed must be at least 0, got -1"),
    ],
)
def test_bad_fit_options(
    option: str,
    value: Any,
    exception: type[Exception],
    message: str,
    net: bn.Sequential,
    X: np.ndarray[Any, Any],
    T: np.ndarray[Any, Any],
) -> None:
    """fit's counts must be positive integers (its seed non-negative)."""
    options: dict[str, Any] = {option: value}
    assert_rejected(
        net,
        lambda: net.fit(X, T, loss=BCE, optimizer=bn.SGD(lr=0.5), **options),
        message,
        exception,
    )


# --- optimizer, threads, datasets ------------------------------------------------------------


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_learning_rate(lr: float) -> None:
    """SGD needs a positive, finite learning rate, at construction and when reassigned."""
    with pytest.raises(ValueError, match="SGD: learning rate must be positive and finite"):
        bn.SGD(lr=lr)
    optimizer = bn.SGD(lr=0.1)
    with pytest.raises(ValueError, match="SGD: learning rate must be positive and finite"):
        optimizer.lr = lr
    assert optimizer.lr == 0.1


def test_optimizer_must_be_an_optimizer(
    net: bn.Sequential, X: np.ndarray[Any, Any], T: np.ndarray[Any, Any]
) -> None:
    """Passing a bare learning rate where an Optimizer is expected is a type error."""
    assert_rejected(
        net,
        lambda: net.train_step(X, T, loss=BCE, optimizer=0.1),  # type: ignore[arg-type]
        "optimizer: blasnet._core.Optimizer",
        TypeError,
    )


@pytest.mark.parametrize("n", [0, -2])
def test_set_num_threads_needs_one(n: int) -> None:
    """At least one BLAS thread; a refused request leaves the count as it was."""
    before = bn.get_num_threads()
    with pytest.raises(ValueError, match=f"set_num_threads: need at least 1 thread, got {n}"):
        bn.set_num_threads(n)
    assert bn.get_num_threads() == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_samples": 0}, "n_samples must be at least 1, got 0"),
        ({"spread": 0.0}, "spread must be positive and finite, got 0.0"),
        ({"spread": float("nan")}, "spread must be positive and finite, got nan"),
        ({"seed": -1}, "seed must be at least 0, got -1"),
    ],
)
def test_bad_cake(kwargs: dict[str, Any], message: str) -> None:
    """The cake data set checks its size, spread and seed."""
    with pytest.raises(ValueError, match=re.escape(message)):
        cake(**kwargs)


# --- nothing half-done -----------------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_checks_all_data_before_the_first_step(
    shuffle: bool, net: bn.Sequential, X: np.ndarray[Any, Any], T: np.ndarray[Any, Any]
) -> None:
    """A bad value in the last sample stops fit before any step, even with one-sample batches
    that would otherwise have updated the weights three times first."""
    T_bad = T.copy()
    T_bad[-1, 0] = np.nan
    assert_rejected(
        net,
        lambda: net.fit(
            X, T_bad, loss=BCE, optimizer=bn.SGD(lr=0.5), epochs=5, batch_size=1, shuffle=shuffle
        ),
        "contain NaN or Inf (sample 3, output 0)",
    )
    assert net.history is None


def test_network_usable_after_failures(
    net: bn.Sequential, X: np.ndarray[Any, Any], T: np.ndarray[Any, Any]
) -> None:
    """After a run of refused calls the network computes exactly what a fresh one does."""
    fresh = bn.Sequential(
        [bn.Dense(8, activation="tanh"), bn.Dense(1, activation="sigmoid")], input_dim=2, seed=0
    )
    for call in CALLS.values():
        with pytest.raises(ValueError):
            call(net, np.full((4, 2), np.nan), T)
    with pytest.raises(ValueError):
        net.train_step(X, T + 1, loss=BCE, optimizer=bn.SGD(lr=0.5))
    assert net.backward(X, T, loss=BCE) == fresh.backward(X, T, loss=BCE)
    for name, grad in net.gradients().items():
        np.testing.assert_array_equal(grad, fresh.gradients()[name], err_msg=name)


# --- sizes that overflow or cannot be allocated ---------------------------------------------


@pytest.mark.parametrize(
    ("build", "phrase"),
    [
        # 2^32·(2^32 − 1) weights + 2^32 biases wrapped to 0 parameters, then written past.
        (lambda: bn.Sequential([bn.Dense(2**32)], input_dim=2**32 - 1),
         "the parameter count up to node '0'"),
        (lambda: bn.RNN(n_features=2**33 - 2, hidden=2**33, n_outputs=1),
         "the weights of node 'cell' (8589934592 units over 17179869182 inputs)"),
        (lambda: _graph_of(2**33, 2**33), "the weights of node 'y'"),
        (lambda: bn.Perceptron(n_features=2**33, n_outputs=2**33), "Perceptron: the weights of"),
    ],
    ids=["sequential", "rnn", "graph", "perceptron"],
)
def test_sizes_that_overflow_raise(build: Callable[[], object], phrase: str) -> None:
    with pytest.raises(OverflowError) as info:
        build()
    assert phrase in str(info.value) and "does not fit in a 64-bit size" in str(info.value)


def _graph_of(n_in: int, units: int) -> bn.Graph:
    g = bn.Graph()
    g.output(g.dense(g.input("x", n_in), units, name="y"), "mse")
    return g.build()


def test_parameters_that_cannot_be_allocated_say_what_was_asked() -> None:
    with pytest.raises(MemoryError) as info:
        bn.Sequential([bn.Dense(10**9)], input_dim=10**9)
    assert str(info.value) == (
        "graph: Dense(1000000000) over 1000000000 inputs needs 8.0e18 bytes of parameters "
        "(float64), and as many for their gradients: more memory than could be allocated")
    with pytest.raises(MemoryError, match="Perceptron: 1000000000 units over 1000000000 features "
                                          "need 8.0e18 bytes of weights"):
        bn.Perceptron(n_features=10**9, n_outputs=10**9)


def test_time_gemm_sizes_that_overflow_raise() -> None:
    # C of 2^32 × 2^32 values wrapped to 0 and the gemm wrote past it.
    with pytest.raises(OverflowError, match="time_gemm: C of 4294967296 × 4294967296"):
        bn._core.time_gemm(False, False, 2**32, 2**32, 1, "float64", 1)
