"""The Python API's contract: parameter and gradient views, names and shapes, dtypes, input
conversion without needless copies, determinism, History, threads and the GIL."""

from __future__ import annotations

import _thread
import gc
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import blasnet as bn

BCE = "binary_cross_entropy"
SCE = "softmax_cross_entropy"


def xor_net(dtype: str = "float64", seed: int = 0) -> bn.Sequential:
    """The note's Figure 4 network: 2 inputs, 8 tanh units, 1 sigmoid output."""
    return bn.Sequential(
        [bn.Dense(8, activation="tanh"), bn.Dense(1, activation="sigmoid")],
        input_dim=2,
        dtype=dtype,
        seed=seed,
    )


@pytest.fixture
def net() -> bn.Sequential:
    """A fresh float64 XOR network."""
    return xor_net()


@pytest.fixture
def restore_threads() -> Iterator[int]:
    """Yields the BLAS thread count and puts it back afterwards."""
    before = bn.get_num_threads()
    yield before
    bn.set_num_threads(before)


def sigmoid(z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The logistic function, in NumPy."""
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


# --- parameters and gradients ----------------------------------------------------------------


def test_parameters_are_views_of_one_buffer(net: bn.Sequential) -> None:
    """Two calls return views of the same memory; distinct parameters do not overlap."""
    first, second = net.parameters(), net.parameters()
    for name in first:
        assert np.shares_memory(first[name], second[name]), name
        assert first[name].flags.writeable, name
    names = list(first)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not np.shares_memory(first[a], first[b]), (a, b)


def test_writing_parameters_changes_the_network(
    net: bn.Sequential, X: np.ndarray[Any, Any]
) -> None:
    """Values written into the views are what forward computes with: eqs. (1)-(2) in NumPy,
    with W of shape (n_out, n_in), reproduce the network's output after the write."""
    before = net.forward(X)
    rng = np.random.default_rng(1)
    params = net.parameters()
    for value in params.values():
        value[...] = rng.uniform(-1, 1, value.shape)
    after = net.forward(X)
    assert not np.allclose(after, before)
    H = np.tanh(X @ params["0.W"].T + params["0.b"])
    np.testing.assert_allclose(after, sigmoid(H @ params["1.W"].T + params["1.b"]), rtol=1e-12)
    np.testing.assert_array_equal(net.parameters()["1.b"], params["1.b"])


def test_gradients_match_parameters_and_refresh_in_place(
    net: bn.Sequential, X: np.ndarray[Any, Any], T: np.ndarray[Any, Any]
) -> None:
    """gradients() has the keys, shapes and dtype of parameters(), lives in separate memory,
    and a view taken before backward sees the gradients that backward writes."""
    params, grads = net.parameters(), net.gradients()
    assert list(grads) == list(params)
    for name in params:
        assert grads[name].shape == params[name].shape, name
        assert grads[name].dtype == params[name].dtype, name
        assert not np.shares_memory(grads[name], params[name]), name
        assert not grads[name].any(), name
    net.backward(X, T, loss=BCE)
    assert all(grads[name].any() for name in ("0.W", "1.W", "1.b"))
    for name in grads:
        np.testing.assert_array_equal(grads[name], net.gradients()[name])


def test_views_keep_the_network_alive() -> None:
    """Parameter views stay valid after the last reference to their network is dropped."""
    params = xor_net(seed=3).parameters()
    gc.collect()
    for name, value in xor_net(seed=3).parameters().items():
        np.testing.assert_array_equal(params[name], value, err_msg=name)


def test_forward_returns_a_fresh_array(net: bn.Sequential, X: np.ndarray[Any, Any]) -> None:
    """An output is the caller's own array: later calls do not overwrite it."""
    first = net.forward(X)
    kept = first.copy()
    net.forward(X[::-1] + 1.0)
    net.backward(X, [0, 1, 1, 0], loss=BCE)
    np.testing.assert_array_equal(first, kept)
    assert first.flags.c_contiguous and first.flags.writeable


def test_default_names_are_indices() -> None:
    """Unnamed layers are keyed by their index, named ones by their name."""
    net = bn.Sequential([bn.Dense(3, name="h"), bn.Dense(2), bn.Dense(1)], input_dim=4)
    assert list(net.parameters()) == ["h.W", "h.b", "1.W", "1.b", "2.W", "2.b"]
    assert [layer[0] for layer in net.layers] == ["h", "1", "2"]


def test_shapes_follow_the_note() -> None:
    """W is (n_out, n_in) and b is (n_out,), layer after layer."""
    net = bn.Sequential([bn.Dense(5, activation="relu"), bn.Dense(2)], input_dim=3)
    shapes = {name: value.shape for name, value in net.parameters().items()}
    assert shapes == {"0.W": (5, 3), "0.b": (5,), "1.W": (2, 5), "1.b": (2,)}
    assert net.forward(np.zeros((7, 3))).shape == (7, 2)


def test_initial_weights() -> None:
    """Biases start at zero; weights are Glorot uniform, He uniform for relu layers, and use
    a good part of their range."""
    net = bn.Sequential(
        [bn.Dense(40, activation="relu"), bn.Dense(30, activation="tanh")], input_dim=20, seed=5
    )
    params = net.parameters()
    assert not params["0.b"].any() and not params["1.b"].any()
    he, glorot = np.sqrt(6 / 20), np.sqrt(6 / (40 + 30))
    assert he * 0.9 < np.abs(params["0.W"]).max() <= he
    assert glorot * 0.9 < np.abs(params["1.W"]).max() <= glorot


# --- dtypes and input conversion -------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_results_have_the_network_dtype(
    dtype: str, X: np.ndarray[Any, Any], T: np.ndarray[Any, Any]
) -> None:
    """Outputs, parameters and gradients come in the network's dtype; J is a Python float."""
    net = xor_net(dtype)
    assert net.dtype == np.dtype(dtype)
    assert net.forward(X).dtype == np.dtype(dtype)
    assert type(net.backward(X, T, loss=BCE)) is float
    for views in (net.parameters(), net.gradients()):
        assert {value.dtype for value in views.values()} == {np.dtype(dtype)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_any_numeric_layout_gives_the_canonical_result(dtype: str) -> None:
    """float32/float64, integer, bool, Fortran-ordered, strided and list inputs holding the same
    (exactly representable) numbers give bit-identical outputs and losses."""
    net = bn.Sequential(
        [bn.Dense(6, activation="tanh"), bn.Dense(1, activation="sigmoid")],
        input_dim=3,
        dtype=dtype,
        seed=2,
    )
    grid = np.arange(-6, 6).reshape(4, 3)
    canonical = np.ascontiguousarray(grid, dtype=dtype)
    T = np.array([[0.0], [1.0], [1.0], [0.0]], dtype=dtype)
    expected, J = net.forward(canonical), net.backward(canonical, T, loss=BCE)
    wide = np.zeros((4, 6), dtype=dtype)
    wide[:, ::2] = grid
    variants: dict[str, Any] = {
        "float32": grid.astype(np.float32),
        "float64": grid.astype(np.float64),
        "int8": grid.astype(np.int8),
        "int64": grid,
        "fortran": np.asfortranarray(grid, dtype=dtype),
        "strided": wide[:, ::2],
        "list": grid.tolist(),
    }
    for label, variant in variants.items():
        np.testing.assert_array_equal(net.forward(variant), expected, err_msg=label)
        assert net.backward(variant, T.tolist(), loss=BCE) == J, label
    binary = np.array([[True, False, True], [False, False, True]])
    np.testing.assert_array_equal(net.forward(binary), net.forward(binary.astype(dtype)))


def peak_bytes(call: Callable[[], object]) -> int:
    """Peak memory NumPy and Python allocate while ``call`` runs."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_canonical_arrays_are_not_copied() -> None:
    """A C-contiguous array of the network's dtype reaches the core as it is: forward,
    backward and fit on 8 MB of data allocate far less than 8 MB, while the same data as
    float32 (which must be converted) allocate at least one copy's worth."""
    net = bn.Sequential([bn.Dense(1)], input_dim=100)
    X = np.ones((10_000, 100))
    T = np.zeros((10_000, 1))
    calls: dict[str, Callable[[], object]] = {
        "forward": lambda: net.forward(X),
        "backward": lambda: net.backward(X, T, loss="mse"),
        "fit": lambda: net.fit(X, T, loss="mse", optimizer=bn.SGD(lr=1e-3), epochs=1),
    }
    for label, call in calls.items():
        assert peak_bytes(call) < X.nbytes // 4, label
    X32 = X.astype(np.float32)
    assert peak_bytes(lambda: net.forward(X32)) >= X.nbytes


def test_one_d_targets_for_one_output(
    net: bn.Sequential, X: np.ndarray[Any, Any], T: np.ndarray[Any, Any]
) -> None:
    """With one output, targets of shape (n,) mean the same as (n, 1), integers included."""
    J = net.backward(X, T, loss=BCE)
    grads = {name: value.copy() for name, value in net.gradients().items()}
    for flat in (T.ravel(), T.ravel().astype(np.int64), T.ravel().tolist()):
        assert net.backward(X, flat, loss=BCE) == J
        for name, value in net.gradients().items():
            np.testing.assert_array_equal(value, grads[name], err_msg=name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("label_dtype", [np.int64, np.int32, np.uint8])
def test_class_labels_equal_one_hot(dtype: str, label_dtype: type[np.integer[Any]]) -> None:
    """softmax_cross_entropy with integer labels gives the very J and gradients of the
    one-hot targets they stand for."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((9, 4))
    labels = np.array([0, 2, 1, 1, 0, 2, 2, 1, 0], dtype=label_dtype)
    net = bn.Sequential(
        [bn.Dense(5, activation="tanh"), bn.Dense(3, activation="softmax")],
        input_dim=4,
        dtype=dtype,
        seed=4,
    )
    J_labels = net.backward(X, labels, loss=SCE)
    grads = {name: value.copy() for name, value in net.gradients().items()}
    J_one_hot = net.backward(X, np.eye(3)[labels], loss=SCE)
    assert J_labels == J_one_hot
    for name, value in net.gradients().items():
        np.testing.assert_array_equal(grads[name], value, err_msg=name)


# --- determinism -----------------------------------------------------------------------------


def fitted(seed: int, fit_seed: int | None = None, shuffle: bool = True) -> bn.Sequential:
    """An XOR network of ``seed`` after 50 epochs of one-sample steps."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    net = xor_net(seed=seed)
    net.fit(
        X,
        np.array([0, 1, 1, 0]),
        loss=BCE,
        optimizer=bn.SGD(lr=0.5),
        epochs=50,
        batch_size=1,
        shuffle=shuffle,
        seed=fit_seed,
    )
    return net


def same_parameters(a: bn.Sequential, b: bn.Sequential) -> bool:
    """Whether two networks hold bit-identical parameters."""
    pa, pb = a.parameters(), b.parameters()
    return all(np.array_equal(pa[name], pb[name]) for name in pa)


def test_same_seed_same_weights() -> None:
    """The seed alone determines the initial weights, the same in float32 as in float64 up to
    rounding; another seed gives others."""
    assert same_parameters(xor_net(seed=7), xor_net(seed=7))
    assert not same_parameters(xor_net(seed=7), xor_net(seed=8))
    single = xor_net("float32").parameters()
    for name, value in xor_net("float64").parameters().items():
        np.testing.assert_allclose(single[name], value, rtol=1e-7, err_msg=name)


def test_same_seed_same_fit() -> None:
    """Two fits from the same seeds give the same losses and weights, bit for bit."""
    a, b = fitted(1), fitted(1)
    assert a.history is not None and b.history is not None
    assert a.history.loss == b.history.loss
    assert same_parameters(a, b)
    assert not same_parameters(a, fitted(2))


def test_fit_seed_orders_the_shuffle() -> None:
    """With shuffling, the fit seed (default: the network's) picks the sample order, so another
    fit seed ends elsewhere; without shuffling the fit seed plays no part."""
    assert same_parameters(fitted(1), fitted(1, fit_seed=1))
    assert not same_parameters(fitted(1, fit_seed=1), fitted(1, fit_seed=2))
    unshuffled = [fitted(1, fit_seed=s, shuffle=False) for s in (1, 2)]
    assert same_parameters(*unshuffled)
    assert not same_parameters(fitted(1, shuffle=False), fitted(1, shuffle=True))


# --- History ---------------------------------------------------------------------------------


def test_fit_returns_history() -> None:
    """fit returns a History with one loss per epoch, the first being J before any step, each
    lower than the last for full-batch descent on a linear problem; it is kept as net.history."""
    X = np.linspace(-1, 1, 32).reshape(-1, 2)
    T = X @ np.array([[2.0], [-1.0]]) + 0.5
    net = bn.Sequential([bn.Dense(1)], input_dim=2, seed=0)
    assert net.history is None
    J0 = net.backward(X, T, loss="mse")
    history = net.fit(
        X, T, loss="mse", optimizer=bn.SGD(lr=0.2), epochs=30, batch_size=16, shuffle=False
    )
    assert isinstance(history, bn.History)
    assert history is net.history
    assert history.epochs == len(history.loss) == 30
    assert not history.interrupted
    assert history.seconds > 0
    assert history.loss[0] == pytest.approx(J0, rel=1e-12)
    assert np.all(np.diff(history.loss) < 0)
    assert history.loss[-1] < 0.01 * history.loss[0]


def test_an_epoch_is_a_sequence_of_train_steps() -> None:
    """Without shuffling, one epoch with batch_size 3 over 7 samples takes the same three steps
    as train_step on rows 0-2, 3-5 and 6, and records their losses' mean weighted by batch
    size."""
    X = np.random.default_rng(0).standard_normal((7, 2))
    T = (X.sum(axis=1, keepdims=True) > 0).astype(float)
    fitted_net, stepped_net = xor_net(seed=5), xor_net(seed=5)
    history = fitted_net.fit(
        X, T, loss=BCE, optimizer=bn.SGD(lr=0.5), epochs=1, batch_size=3, shuffle=False
    )
    optimizer = bn.SGD(lr=0.5)
    losses = [
        stepped_net.train_step(X[rows], T[rows], loss=BCE, optimizer=optimizer)
        for rows in (slice(0, 3), slice(3, 6), slice(6, 7))
    ]
    assert history.loss == [pytest.approx((3 * losses[0] + 3 * losses[1] + losses[2]) / 7)]
    assert same_parameters(fitted_net, stepped_net)


def test_each_fit_replaces_history(net: bn.Sequential, X: np.ndarray[Any, Any]) -> None:
    """A second fit records its own epochs, continuing from the first fit's weights."""
    first = net.fit(X, [0, 1, 1, 0], loss=BCE, optimizer=bn.SGD(lr=0.5), epochs=5)
    second = net.fit(X, [0, 1, 1, 0], loss=BCE, optimizer=bn.SGD(lr=0.5), epochs=3)
    assert net.history is second
    assert (first.epochs, second.epochs) == (5, 3)
    assert second.loss[0] < first.loss[0]


def test_ctrl_c_stops_fit_between_epochs(net: bn.Sequential, X: np.ndarray[Any, Any]) -> None:
    """Ctrl-C during fit is re-raised as KeyboardInterrupt once the current epoch is done;
    net.history keeps the completed epochs, and the trained network stays usable."""
    before = {name: value.copy() for name, value in net.parameters().items()}
    timer = threading.Timer(0.1, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            net.fit(
                X, [0, 1, 1, 0], loss=BCE, optimizer=bn.SGD(lr=0.5), epochs=10**6, batch_size=4
            )
    finally:
        timer.cancel()
    history = net.history
    assert history is not None and history.interrupted
    assert 0 < history.epochs < 10**6
    assert np.isfinite(history.loss).all()
    assert not np.array_equal(net.parameters()["1.W"], before["1.W"])
    assert net.forward(X).shape == (4, 1)


# --- layers, names, constants ----------------------------------------------------------------


def test_dense_properties_and_repr() -> None:
    """Dense shows what it was given; the default activation is the identity, no name."""
    layer = bn.Dense(3, activation="tanh", name="h")
    assert (layer.units, layer.activation, layer.name) == (3, "tanh", "h")
    assert repr(layer) == "Dense(3, activation='tanh', name='h')"
    plain = bn.Dense(4)
    assert (plain.units, plain.activation, plain.name) == (4, "identity", None)
    assert repr(plain) == "Dense(4, activation='identity')"


def test_sequential_properties_and_repr(net: bn.Sequential) -> None:
    """Sequential reports its sizes, layers and dtype."""
    assert (net.input_dim, net.output_dim) == (2, 1)
    layers = [tuple(layer) for layer in net.layers]
    assert layers == [("0", 2, 8, "tanh"), ("1", 8, 1, "sigmoid")]
    assert repr(net) == "Sequential([0: 2->8 tanh, 1: 8->1 sigmoid], dtype=float64)"


def test_activation_and_loss_names() -> None:
    """The note's units (Figure 2 plus softmax and the perceptron's step) and the three costs."""
    assert bn.ACTIVATIONS == ("identity", "sigmoid", "tanh", "relu", "softmax", "step")
    assert bn.LOSSES == ("mse", "binary_cross_entropy", "softmax_cross_entropy")
    for name in bn.ACTIVATIONS:
        assert bn.Dense(1, activation=name).activation == name


def test_optimizer_repr_and_lr() -> None:
    """SGD shows and updates its learning rate."""
    optimizer = bn.SGD(lr=0.25)
    assert isinstance(optimizer, bn.Optimizer)
    assert repr(optimizer) == "SGD(lr=0.25, momentum=0.0, nesterov=False, weight_decay=0.0)"
    optimizer.lr = 0.5
    assert optimizer.lr == 0.5


# --- threads and the GIL ---------------------------------------------------------------------


def test_num_threads_round_trip(restore_threads: int) -> None:
    """set_num_threads takes effect and get_num_threads reports it."""
    assert restore_threads >= 1
    bn.set_num_threads(1)
    assert bn.get_num_threads() == 1
    bn.set_num_threads(2)
    assert bn.get_num_threads() == 2


def test_threadpoolctl_sees_the_library(restore_threads: int) -> None:
    """threadpoolctl finds the scipy_openblas32 library blasnet links, and both see each
    other's thread settings."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def ours() -> list[dict[str, Any]]:
        return [
            info
            for info in threadpoolctl.threadpool_info()
            if "scipy_openblas32" in info["filepath"]
        ]

    assert len(ours()) == 1
    assert ours()[0]["internal_api"] == "openblas"
    bn.set_num_threads(1)
    assert ours()[0]["num_threads"] == 1
    bn.set_num_threads(2)
    assert ours()[0]["num_threads"] == 2
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert bn.get_num_threads() == 1
    assert bn.get_num_threads() == 2


def test_concurrent_calls_on_one_network() -> None:
    """Calls run without the GIL but share the network's workspace: threads calling forward
    with batches of different sizes on one network each get exactly their own result."""
    rng = np.random.default_rng(0)
    net = xor_net()
    batches = [rng.standard_normal((n, 2)) for n in (1, 7, 50, 300)]
    expected = [net.forward(batch) for batch in batches]
    wrong: list[int] = []

    def work(i: int) -> None:
        for _ in range(200):
            if not np.array_equal(net.forward(batches[i]), expected[i]):
                wrong.append(i)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert wrong == []


def test_fit_releases_the_gil(restore_threads: int) -> None:
    """While fit runs in another thread, a pure-Python loop on the main thread keeps running
    at a good fraction of the speed it has while the other thread merely sleeps. Were the
    GIL held during training, the loop would stall until fit returned."""
    bn.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8000, 32))
    T = rng.standard_normal((8000, 1))
    net = bn.Sequential(
        [bn.Dense(128, activation="tanh"), bn.Dense(128, activation="tanh"), bn.Dense(1)],
        input_dim=32,
    )

    def loop_rate(work: Callable[[], object]) -> float:
        """Iterations per second of the main thread while ``work`` runs in a thread."""
        worker = threading.Thread(target=work)
        count = 0
        started = time.perf_counter()
        worker.start()
        while worker.is_alive():
            count += 1
        return count / (time.perf_counter() - started)

    idle = loop_rate(lambda: time.sleep(0.3))
    busy = loop_rate(
        lambda: net.fit(X, T, loss="mse", optimizer=bn.SGD(lr=0.01), epochs=3, batch_size=256)
    )
    assert net.history is not None and net.history.epochs == 3
    assert busy > 0.25 * idle
