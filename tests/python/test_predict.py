"""predict: forward's inference pass, callable from many threads at once on one model.

predict is compared value by value with forward (which runs under the model's exclusive lock
on its own workspace) for Sequential, Graph and RNN; a thread pool hammers one model with
batches of many sizes and every answer is checked against the single-threaded reference; and
a prediction concurrent with training waits for it (it never sees a half-made step), on the
same model and across an RNN's unrolled lengths, while a callback of fit may still predict on
fit's own thread."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import blasnet as bn

Array = np.ndarray[Any, Any]
DTYPES = ["float32", "float64"]


def sequential(dtype: str = "float64", seed: int = 0) -> bn.Sequential:
    net = bn.Sequential(
        [
            bn.Dense(16, activation="tanh"),
            bn.Dense(12, activation="relu", dropout=0.3),
            bn.Dense(3, activation="softmax"),
        ],
        input_dim=5,
        dtype=dtype,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    for value in net.parameters().values():
        value[...] = rng.uniform(-0.8, 0.8, value.shape)
    return net


def shared_graph(dtype: str = "float64") -> bn.Graph:
    """Two inputs, fan-out, an output that another node reads, a tied transposed decoder,
    dropout on a hidden node and a node over a concatenation."""
    g = bn.Graph(dtype=dtype, seed=3)
    x, c = g.input("x", 6), g.input("c", 3)
    enc = g.dense(x, 5, activation="tanh", name="encoder", dropout=0.5)
    mix = g.dense([enc, c], 4, activation="sigmoid", name="mixer")
    dec = g.dense(enc, 6, name="decoder", share=enc, transpose=True)
    hidden = g.dense([mix, x], 7, activation="relu", name="hidden")
    classes = g.dense([hidden, enc], 3, activation="softmax", name="classes")
    g.output(dec, "mse", weight=0.5, target=x)
    g.output(mix, "binary_cross_entropy")
    g.output(classes, "softmax_cross_entropy")
    rng = np.random.default_rng(4)
    for value in g.parameters().values():
        value[...] = rng.uniform(-0.8, 0.8, value.shape)
    return g


def graph_inputs(n: int, seed: int, dtype: str = "float64") -> dict[str, Array]:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.uniform(-1, 1, (n, 6)).astype(dtype),
        "c": rng.uniform(-1, 1, (n, 3)).astype(dtype),
    }


# --- predict equals forward ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_sequential_predict_equals_forward(dtype: str) -> None:
    net = sequential(dtype)
    rng = np.random.default_rng(1)
    for n in (1, 7, 64):
        X = rng.uniform(-1, 1, (n, 5)).astype(dtype)
        Y = net.predict(X)
        assert Y.dtype == np.dtype(dtype) and Y.shape == (n, 3)
        np.testing.assert_array_equal(Y, net.forward(X))


def test_predict_converts_what_the_core_cannot_read_in_place() -> None:
    """Lists, other dtypes and column-strided arrays are converted once, as for forward."""
    net = sequential("float32")
    X = np.random.default_rng(2).uniform(-1, 1, (9, 5))
    expected = net.forward(X.astype(np.float32))
    np.testing.assert_array_equal(net.predict(X), expected)  # float64 into a float32 network
    np.testing.assert_array_equal(net.predict(X.astype(np.float32).tolist()), expected)
    np.testing.assert_array_equal(net.predict(np.asfortranarray(X.astype(np.float32))), expected)
    wide = np.zeros((9, 10), np.float32)
    wide[:, ::2] = X
    np.testing.assert_array_equal(net.predict(wide[:, ::2]), expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_graph_predict_equals_forward(dtype: str) -> None:
    g = shared_graph(dtype)
    for n in (1, 13, 50):
        inputs = graph_inputs(n, n, dtype)
        predicted = g.predict(inputs)
        forward = g.forward(inputs)
        assert list(predicted) == list(forward) == ["decoder", "mixer", "classes"]
        for name, out in forward.items():
            assert predicted[name].dtype == np.dtype(dtype)
            np.testing.assert_array_equal(predicted[name], out, err_msg=name)


def test_graph_predict_takes_a_single_array_and_nodes_as_keys() -> None:
    g = bn.Graph(seed=1)
    x = g.input("x", 2)
    y = g.dense(x, 3, activation="tanh", name="y")
    g.output(y, "mse")
    X = np.array([[0.5, -1.0], [2.0, 0.25]])
    np.testing.assert_array_equal(g.predict(X)["y"], g.forward({"x": X})["y"])
    np.testing.assert_array_equal(g.predict({x: X})["y"], g.forward({"x": X})["y"])


@pytest.mark.parametrize("head", ["last", "every"])
def test_rnn_predict_equals_forward(head: str) -> None:
    rnn = bn.RNN(n_features=2, hidden=4, n_outputs=3, head=head, seed=5)
    rng = np.random.default_rng(6)
    for steps in (1, 4):
        X = rng.uniform(-1, 1, (5, steps, 2))
        h0 = rng.uniform(-1, 1, (5, 4))
        np.testing.assert_array_equal(rnn.predict(X), rnn.forward(X))
        np.testing.assert_array_equal(rnn.predict(X, h0), rnn.forward(X, h0))


def test_predict_rejects_what_forward_rejects_with_the_same_message() -> None:
    net, g = sequential(), shared_graph()
    bad_inputs: list[Any] = [np.ones((3, 4)), np.zeros((0, 5)), np.full((2, 5), np.nan)]
    for X in bad_inputs:
        with pytest.raises(ValueError) as by_forward:
            net.forward(X)
        with pytest.raises(ValueError) as by_predict:
            net.predict(X)
        assert str(by_predict.value) == str(by_forward.value)
    inputs = graph_inputs(4, 0)
    inputs["c"] = inputs["c"][:3]
    with pytest.raises(ValueError) as by_forward:
        g.forward(inputs)
    with pytest.raises(ValueError) as by_predict:
        g.predict(inputs)
    assert str(by_predict.value) == str(by_forward.value)
    with pytest.raises(ValueError, match="missing input array for 'c'"):
        g.predict({"x": inputs["x"]})


# --- many threads ----------------------------------------------------------------------------


def test_threads_hammer_one_sequential() -> None:
    """8 threads, 800 calls over batches of 1 to 200 samples: every answer is the reference."""
    net = sequential("float32")
    rng = np.random.default_rng(7)
    batches = [rng.uniform(-1, 1, (n, 5)).astype(np.float32) for n in (1, 2, 9, 31, 64, 200, 5, 17)]
    expected = [net.forward(X) for X in batches]
    jobs = [k % len(batches) for k in range(800)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda k: net.predict(batches[k]), jobs))
    for k, Y in zip(jobs, answers):
        np.testing.assert_array_equal(Y, expected[k])


def test_threads_hammer_one_graph_and_one_rnn() -> None:
    """Threads interleave two models of both dtypes (each thread's scratch serves them all)."""
    g = shared_graph("float64")
    rnn = bn.RNN(n_features=3, hidden=6, n_outputs=2, head="every", dtype="float32", seed=8)
    rng = np.random.default_rng(9)
    graph_batches = [graph_inputs(n, n) for n in (1, 3, 40, 128)]
    sequences = [rng.uniform(-1, 1, (n, steps, 3)).astype(np.float32)
                 for n, steps in ((2, 1), (7, 5), (33, 2), (1, 9))]
    graph_expected = [g.forward(b) for b in graph_batches]
    rnn_expected = [rnn.forward(s) for s in sequences]

    def call(k: int) -> tuple[int, Any]:
        if k % 2:
            return k, g.predict(graph_batches[k % 4])
        return k, rnn.predict(sequences[k % 4])

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(call, range(600)))
    for k, got in answers:
        if k % 2:
            for name, out in graph_expected[k % 4].items():
                np.testing.assert_array_equal(got[name], out, err_msg=name)
        else:
            np.testing.assert_array_equal(got, rnn_expected[k % 4])


def test_first_predictions_from_many_threads_build_the_graph_once() -> None:
    g = bn.Graph(seed=2)
    g.output(g.dense(g.input("x", 3), 2, activation="tanh", name="y"), "mse")
    X = np.ones((4, 3))
    barrier = threading.Barrier(6)

    def first(_: int) -> Array:
        barrier.wait()
        return g.predict({"x": X})["y"]

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(first, range(6)))
    reference = g.forward({"x": X})["y"]
    for Y in answers:
        np.testing.assert_array_equal(Y, reference)


# --- predict and training ----------------------------------------------------------------------


def classification(n: int = 256) -> tuple[Array, Array]:
    rng = np.random.default_rng(10)
    X = rng.normal(size=(n, 5))
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)


def test_predict_during_fit_returns_finite_answers() -> None:
    """Predictions from 4 threads while another thread trains: none crashes, each is finite,
    of the right shape, and a probability distribution per sample."""
    net = sequential()
    X, y = classification()
    done = threading.Event()
    errors: list[BaseException] = []

    def train() -> None:
        try:
            net.fit(X, y, "softmax_cross_entropy", bn.Adam(lr=0.01), epochs=60, batch_size=8)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            done.set()

    def predict_while_training(seed: int) -> int:
        rng = np.random.default_rng(seed)
        calls = 0
        while not done.is_set() or calls < 5:
            n = int(rng.integers(1, 40))
            Y = net.predict(X[:n])
            assert Y.shape == (n, 3) and np.all(np.isfinite(Y))
            np.testing.assert_allclose(Y.sum(axis=1), 1.0, rtol=1e-12)
            calls += 1
        return calls

    trainer = threading.Thread(target=train)
    trainer.start()
    with ThreadPoolExecutor(4) as pool:
        calls = list(pool.map(predict_while_training, range(4)))
    trainer.join()
    assert not errors, errors
    assert all(c >= 5 for c in calls)
    assert net.history is not None and net.history.epochs == 60
    np.testing.assert_array_equal(net.predict(X), net.forward(X))


def blocked_while_training(fit: Any, predict: Any) -> tuple[bool, bool]:
    """(whether a prediction started in another thread from fit's first callback finished
    while fit still held the model, whether it finished after fit)."""
    finished = threading.Event()
    during: list[bool] = []

    def predict_then_signal() -> None:
        predict()
        finished.set()

    def callback(record: bn.EpochRecord) -> bool:
        if record.epoch == 0:
            threading.Thread(target=predict_then_signal, daemon=True).start()
            during.append(finished.wait(0.5))  # waits without the GIL
        return True

    fit(callbacks=[callback])
    return during[0], finished.wait(10)


def test_a_prediction_waits_for_the_training_step_it_would_tear() -> None:
    """fit holds the model alone (a reader/writer lock): a prediction from another thread
    starts only when fit is done, so it never reads half-updated weights."""
    net = sequential()
    X, y = classification(32)
    during, after = blocked_while_training(
        lambda callbacks: net.fit(X, y, "softmax_cross_entropy", bn.SGD(lr=0.1), epochs=2,
                                  callbacks=callbacks),
        lambda: net.predict(X),
    )
    assert (during, after) == (False, True)


def test_an_rnn_prediction_of_one_length_waits_for_training_on_another() -> None:
    """Every unrolled length views one set of parameters, and shares one lock."""
    rnn = bn.RNN(n_features=2, hidden=3, n_outputs=1, seed=0)
    X = np.random.default_rng(11).uniform(-1, 1, (16, 5, 2))
    during, after = blocked_while_training(
        lambda callbacks: rnn.fit(X, X[:, -1, :1], bn.SGD(lr=0.1), epochs=2, callbacks=callbacks),
        lambda: rnn.predict(X[:, :3]),
    )
    assert (during, after) == (False, True)


def test_a_callback_of_fit_may_predict_on_fits_thread() -> None:
    """The exclusive holder may also read: predict, forward and predict again from a callback
    (a deadlock would hang the child, killed after 20 s)."""
    code = (
        "import numpy as np, blasnet as bn\n"
        "net = bn.Sequential([bn.Dense(3, activation='tanh'), bn.Dense(1)], input_dim=2)\n"
        "X = np.ones((4, 2))\n"
        "seen = []\n"
        "def watch(record):\n"
        "    a = net.predict(X)\n"
        "    b = net.forward(X)\n"
        "    seen.append(bool(np.array_equal(a, b)) and net.predict(X).shape == (4, 1))\n"
        "net.fit(X, X[:, :1], 'mse', bn.SGD(lr=0.1), epochs=3, callbacks=[watch])\n"
        "print(seen)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=True
    )
    assert done.stdout.strip() == "[True, True, True]"
