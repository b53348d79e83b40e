"""fit, partial_fit and what surrounds them: seeded reproducibility on any number of threads,
validation data and splits, early stopping, History, dropout, sample and class weights,
callbacks, the progress bar, Ctrl-C and divergence, for Sequential, Graph and RNN alike.

Each claim is checked against an independent computation: a record is compared with
evaluate()/forward() on the weights captured after that epoch, a weighted loss with repeated
samples or per-sample losses, a stopped fit with a reference net trained for exactly the steps
that completed."""

from __future__ import annotations

import _thread
import inspect
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, Union

import numpy as np
import pytest

import blasnet as bn
from blasnet.training import validation_split

MSE = "mse"
BCE = "binary_cross_entropy"
SCE = "softmax_cross_entropy"

Array = np.ndarray[Any, Any]
Params = dict[str, Array]
Model = Union[bn.Sequential, bn.Graph, bn.RNN]


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def restore_threads() -> Iterator[int]:
    """Runs each test on one BLAS thread — these networks are small, and on a busy machine a
    second thread makes each small gemm wait for a core — and puts the count back afterwards.
    Yields the count found."""
    before = bn.get_num_threads()
    bn.set_num_threads(1)
    yield before
    bn.set_num_threads(before)


def snapshot(model: Model) -> Params:
    """A copy of every parameter."""
    return {name: value.copy() for name, value in model.parameters().items()}


def load(model: Model, params: Params) -> None:
    """Writes ``params`` into the model's parameter views."""
    for name, value in model.parameters().items():
        value[...] = params[name]


def same(a: Params, b: Params) -> bool:
    """Bit-for-bit equality of two parameter sets."""
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def recorder(model: Model, into: list[Params]) -> Callable[[bn.EpochRecord], None]:
    """A callback appending the model's weights after each epoch to ``into``."""

    def record(_: bn.EpochRecord) -> None:
        into.append(snapshot(model))

    return record


def mlp(
    out: int,
    activation: str,
    dropout: float = 0.0,
    dtype: str = "float64",
    seed: int = 0,
    input_dim: int = 3,
) -> bn.Sequential:
    """input_dim → 6 tanh (with dropout) → out units."""
    return bn.Sequential(
        [bn.Dense(6, activation="tanh", dropout=dropout), bn.Dense(out, activation=activation)],
        input_dim=input_dim,
        dtype=dtype,
        seed=seed,
    )


def blobs(n: int, seed: int) -> tuple[Array, Array]:
    """Three noisy Gaussian blobs in 3-D, n samples, labels 0..2 (overlapping: accuracy < 1)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[1.0, 0.0, 0.0], [-0.5, 0.9, 0.0], [-0.5, -0.9, 0.3]])
    return centres[y] + 0.8 * rng.standard_normal((n, 3)), y.astype(np.int64)


def classifier(loss: str, dropout: float = 0.0, seed: int = 0) -> bn.Sequential:
    """A small net for ``loss``: 3 softmax units, 1 sigmoid unit, or 1 identity unit."""
    if loss == SCE:
        return mlp(3, "softmax", dropout, seed=seed)
    return mlp(1, "sigmoid" if loss == BCE else "identity", dropout, seed=seed)


def targets_for(loss: str, X: Array, y: Array) -> Array:
    """Targets of the blobs for ``loss``: labels, is-class-0 as 0/1, or a real function."""
    if loss == SCE:
        return y
    if loss == BCE:
        return np.asarray((y == 0).astype(float)[:, None])
    return np.asarray(np.tanh(X[:, :1] - X[:, 1:2]))


def accuracy(loss: str, Y: Array, T: Array) -> float:
    """Share of samples predicted right: argmax against the label, or the side of 0.5."""
    if loss == SCE:
        return float(np.mean(np.argmax(Y, axis=1) == T))
    return float(np.mean(np.all((Y > 0.5) == (T > 0.5), axis=1)))


def early_stop_rule(monitored: list[float], patience: int, min_delta: float) -> tuple[int, int]:
    """(best epoch, epochs run) of the early-stopping rule, replayed on a finished series."""
    best, best_epoch, waited = np.inf, -1, 0
    for epoch, value in enumerate(monitored):
        if value < best - min_delta:
            best, best_epoch, waited = value, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch + 1
    return best_epoch, len(monitored)


# --- seeds and threads -----------------------------------------------------------------------


def test_same_seed_same_weights_on_one_or_two_threads(restore_threads: int) -> None:
    """Shuffled minibatches and dropout masks come from fit's seed alone: equal seeds give
    bit-identical weights and losses on 1 and on 2 BLAS threads; another seed, other weights."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((512, 32))
    y = rng.integers(0, 3, 512)

    def train(threads: int, seed: int) -> tuple[Params, list[float]]:
        bn.set_num_threads(threads)
        net = bn.Sequential(
            [
                bn.Dense(256, activation="tanh", dropout=0.2),
                bn.Dense(128, activation="relu"),
                bn.Dense(3, activation="softmax"),
            ],
            input_dim=32,
            seed=1,
        )
        history = net.fit(X, y, SCE, bn.SGD(lr=0.1), epochs=3, batch_size=128, seed=seed)
        return snapshot(net), history.loss

    one, two = train(1, 11), train(2, 11)
    assert bn.get_num_threads() == 2
    assert same(one[0], two[0])
    assert one[1] == two[1]
    assert not same(one[0], train(2, 12)[0])


# --- validation, accuracy and History --------------------------------------------------------


@pytest.mark.parametrize("loss", [MSE, BCE, SCE])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_records_match_evaluate_and_forward(loss: str, dropout: float) -> None:
    """Full-batch epochs without shuffling. val_loss and val_accuracy of each epoch are
    evaluate() and the accuracy of forward() on the validation data with the weights after that
    epoch (no dropout in either); without dropout, an epoch's training loss and accuracy are
    those of the weights it started from (its one step is measured before its update). mse
    reports no accuracy. lr and wall times are recorded per epoch; the history is net.history."""
    X, y = blobs(60, 1)
    Xv, yv = blobs(30, 2)
    T, Tv = targets_for(loss, X, y), targets_for(loss, Xv, yv)
    net, twin = classifier(loss, dropout), classifier(loss)
    weights: list[Params] = [snapshot(net)]
    history = net.fit(
        X, T, loss, bn.SGD(lr=0.5), epochs=5, batch_size=60, shuffle=False,
        validation_data=(Xv, Tv), callbacks=[recorder(net, weights)],
    )
    assert history is net.history and history.epochs == 5 and history.stopped == "completed"
    assert len(history.val_loss) == 5
    assert history.lr == [0.5] * 5
    assert len(history.epoch_seconds) == 5 and all(s > 0 for s in history.epoch_seconds)
    assert sum(history.epoch_seconds) <= history.seconds
    scored = loss != MSE
    assert len(history.val_accuracy) == len(history.accuracy) == (5 if scored else 0)
    for epoch in range(5):
        load(twin, weights[epoch + 1])
        assert history.val_loss[epoch] == pytest.approx(twin.evaluate(Xv, Tv, loss), rel=1e-12)
        if scored:
            assert history.val_accuracy[epoch] == accuracy(loss, twin.forward(Xv), Tv)
        if dropout == 0:
            load(twin, weights[epoch])
            assert history.loss[epoch] == pytest.approx(twin.evaluate(X, T, loss), rel=1e-12)
            if scored:
                assert history.accuracy[epoch] == accuracy(loss, twin.forward(X), T)
    if scored:  # the data are not separable: a record of all-right would hide a wrong count
        assert 0.4 < history.val_accuracy[-1] < 1


def test_learning_rate_of_each_epoch_follows_the_schedule() -> None:
    """history.lr holds the rate each epoch ran with, as the schedule set it."""
    X, y = blobs(30, 3)
    net = classifier(SCE)
    history = net.fit(
        X, y, SCE, bn.SGD(lr=0.4), epochs=5, schedule=bn.schedules.StepDecay(2, gamma=0.5)
    )
    assert history.lr == [0.4, 0.4, 0.2, 0.2, 0.1]


def test_validation_fraction_is_a_seeded_split() -> None:
    """validation_fraction holds out round(n·fraction) samples chosen by the seed: the fit is
    the same, bit for bit, as one on the rest with the held-out part as validation_data."""
    X, y = blobs(40, 4)
    train, held = validation_split(40, 0.25, 7)
    assert len(held) == 10 and len(train) == 30
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(40))
    split, explicit = classifier(SCE), classifier(SCE)
    a = split.fit(X, y, SCE, bn.SGD(lr=0.3), epochs=4, batch_size=8, seed=7,
                  validation_fraction=0.25)
    b = explicit.fit(X[train], y[train], SCE, bn.SGD(lr=0.3), epochs=4, batch_size=8, seed=7,
                     validation_data=(X[held], y[held]))
    assert a.loss == b.loss and a.val_loss == b.val_loss
    assert same(snapshot(split), snapshot(explicit))
    other = classifier(SCE).fit(X, y, SCE, bn.SGD(lr=0.3), epochs=1, batch_size=8, seed=8,
                                validation_fraction=0.25)
    assert other.val_loss[0] != a.val_loss[0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"validation_fraction": 0.0},
        {"validation_fraction": 1.0},
        {"validation_fraction": 0.001},  # rounds to no validation sample
        {"validation_fraction": 0.3, "validation_data": ([[0.0, 0.0, 0.0]], [0])},
        {"validation_data": ([[0.0, 0.0]], [0])},  # 2 features, the net takes 3
        {"validation_data": ([[0.0, 0.0, 0.0]], [5])},  # no class 5
        {"validation_data": ([[np.nan, 0.0, 0.0]], [0])},
    ],
)
def test_bad_validation_is_refused_before_any_step(kwargs: dict[str, Any]) -> None:
    """Bad validation arguments raise ValueError before the first step: the weights and the
    previous history are left as they were."""
    X, y = blobs(30, 5)
    net = classifier(SCE)
    previous = net.fit(X, y, SCE, bn.SGD(lr=0.1), epochs=2)
    before = snapshot(net)
    with pytest.raises(ValueError):
        net.fit(X, y, SCE, bn.SGD(lr=0.1), epochs=2, **kwargs)
    assert net.history is previous
    assert same(snapshot(net), before)


# --- early stopping --------------------------------------------------------------------------


def line_net() -> bn.Sequential:
    """y = w·x + b from w = b = 0: trained towards 2x while validated against x, its validation
    loss falls until w passes 1 (epoch 10 with lr 0.03), then rises."""
    net = bn.Sequential([bn.Dense(1)], input_dim=1, seed=0)
    load(net, {"0.W": np.zeros((1, 1)), "0.b": np.zeros(1)})
    return net


LINE_X = np.linspace(0.5, 1.5, 8)[:, None]


def fit_line(
    net: bn.Sequential, stopping: bn.EarlyStopping, weights: list[Params], validate: bool = True
) -> bn.History:
    return net.fit(
        LINE_X, 2 * LINE_X, MSE, bn.SGD(lr=0.03), epochs=100, batch_size=8, shuffle=False,
        validation_data=(LINE_X, LINE_X) if validate else None, early_stopping=stopping,
        callbacks=[recorder(net, weights)],
    )


@pytest.mark.parametrize("min_delta", [0.0, 0.005])
def test_early_stopping_restores_the_best_epoch(min_delta: float) -> None:
    """With patience 3, training stops 3 epochs after the last improvement of the validation
    loss by more than min_delta, and the network ends with the weights it had after that best
    epoch; min_delta 0.005 ignores the last small improvement and picks an earlier epoch."""
    weights: list[Params] = []
    net = line_net()
    history = fit_line(net, bn.EarlyStopping(patience=3, min_delta=min_delta), weights)
    best, run = early_stop_rule(history.val_loss, 3, min_delta)
    assert history.stopped == "early_stopping"
    assert history.best_epoch == best == (10 if min_delta == 0 else 9)
    assert history.epochs == run == best + 4
    assert same(snapshot(net), weights[best])
    assert not same(snapshot(net), weights[-1])


def test_early_stopping_without_restore_keeps_the_last_epoch() -> None:
    """restore_best_weights=False stops at the same epoch but keeps the last epoch's weights."""
    weights: list[Params] = []
    net = line_net()
    history = fit_line(net, bn.EarlyStopping(patience=3, restore_best_weights=False), weights)
    assert (history.stopped, history.best_epoch, history.epochs) == ("early_stopping", 10, 14)
    assert same(snapshot(net), weights[-1])
    assert not same(snapshot(net), weights[10])


def test_early_stopping_without_validation_watches_the_training_loss() -> None:
    """Without validation data the training loss is monitored: it keeps falling here, so only
    min_delta stops the run, where the rule replayed on history.loss says."""
    weights: list[Params] = []
    net = line_net()
    history = fit_line(net, bn.EarlyStopping(patience=2, min_delta=0.01), weights, validate=False)
    best, run = early_stop_rule(history.loss, 2, 0.01)
    assert np.all(np.diff(history.loss) < 0)
    assert history.val_loss == []
    assert (history.stopped, history.best_epoch, history.epochs) == ("early_stopping", best, run)
    assert 2 < run < 100
    assert same(snapshot(net), weights[best])


def test_early_stopping_is_checked() -> None:
    """patience below 1, a negative min_delta or another type are refused."""
    with pytest.raises(ValueError):
        bn.EarlyStopping(patience=0)
    with pytest.raises(ValueError):
        bn.EarlyStopping(min_delta=-0.1)
    with pytest.raises(TypeError):
        line_net().fit(LINE_X, LINE_X, MSE, bn.SGD(lr=0.1), early_stopping="yes")  # type: ignore[arg-type]


# --- bad data leave the previous history alone -----------------------------------------------


def make_sequential() -> tuple[Model, Callable[..., bn.History], dict[str, Any]]:
    """A classifier, a fit(**overrides) of 2 epochs by default, and bad data for it."""
    X, y = blobs(20, 6)
    net = classifier(SCE)

    def fit(**overrides: Any) -> bn.History:
        kw = {"X": X, "T": y, "epochs": 2, **overrides}
        return net.fit(kw.pop("X"), kw.pop("T"), SCE, bn.SGD(lr=0.1), **kw)

    return net, fit, {"X": np.where(np.arange(60).reshape(20, 3) == 7, np.nan, X)}


def make_graph() -> tuple[Model, Callable[..., bn.History], dict[str, Any]]:
    """The same for a graph; its bad data are labels outside the classes."""
    X, y = blobs(20, 6)
    g = bn.Graph(seed=0)
    g.output(g.dense(g.dense(g.input("x", 3), 4, "tanh"), 3, "softmax", name="y"), SCE)

    def fit(**overrides: Any) -> bn.History:
        kw = {"X": X, "T": y, "epochs": 2, **overrides}
        return g.fit({"x": kw.pop("X")}, {"y": kw.pop("T")}, bn.SGD(lr=0.1), **kw)

    return g, fit, {"T": np.full(20, 3)}


def make_rnn() -> tuple[Model, Callable[..., bn.History], dict[str, Any]]:
    """The same for a recurrent net summing its sequence; its bad data are infinite targets."""
    X = np.random.default_rng(6).standard_normal((20, 4, 1))
    rnn = bn.RNN(n_features=1, hidden=3, n_outputs=1, seed=0)

    def fit(**overrides: Any) -> bn.History:
        kw = {"X": X, "T": X.sum(axis=1), "epochs": 2, **overrides}
        return rnn.fit(kw.pop("X"), kw.pop("T"), bn.SGD(lr=0.1), **kw)

    return rnn, fit, {"T": np.full((20, 1), np.inf)}


@pytest.mark.parametrize("make", [make_sequential, make_graph, make_rnn])
@pytest.mark.parametrize("bad", ["data", "sample_weight", "batch_size", "callbacks"])
def test_refused_data_leave_the_previous_history(
    make: Callable[[], tuple[Model, Callable[..., bn.History], dict[str, Any]]], bad: str
) -> None:
    """A fit refused before its first step (NaN inputs or impossible targets, sample weights of
    the wrong length, batch_size 0, a callback that is not callable) leaves the model's previous
    history and its weights as they were."""
    model, fit, bad_data = make()
    previous = fit()
    assert model.history is previous and previous.epochs == 2
    before = snapshot(model)
    arguments = {
        "data": bad_data,
        "sample_weight": {"sample_weight": np.ones(3)},
        "batch_size": {"batch_size": 0},
        "callbacks": {"callbacks": [42]},
    }[bad]
    with pytest.raises((ValueError, TypeError)):
        fit(**arguments)
    assert model.history is previous
    assert same(snapshot(model), before)


# --- dropout ---------------------------------------------------------------------------------


def identity_chain(units: int, p: float) -> bn.Sequential:
    """x → identity layer with dropout p → identity layer, both W = I, b = 0: a training pass
    returns the hidden layer's dropped-out values themselves."""
    net = bn.Sequential(
        [bn.Dense(units, dropout=p), bn.Dense(units)], input_dim=units, seed=0
    )
    load(net, {"0.W": np.eye(units), "0.b": np.zeros(units),
               "1.W": np.eye(units), "1.b": np.zeros(units)})
    return net


def test_inference_forward_ignores_dropout() -> None:
    """forward(training=False) is deterministic and equal, bit for bit, to that of the same
    network without dropout: the same seed gives the same weights, and no unit is dropped."""
    X = np.random.default_rng(0).standard_normal((50, 3))
    with_dropout, without = classifier(SCE, dropout=0.5), classifier(SCE)
    assert same(snapshot(with_dropout), snapshot(without))
    first = with_dropout.forward(X)
    assert np.array_equal(first, with_dropout.forward(X, training=False))
    assert np.array_equal(first, without.forward(X))
    with_dropout.forward(X, training=True)
    assert np.array_equal(first, with_dropout.forward(X))


def test_training_forward_drops_the_share_and_scales_the_rest() -> None:
    """A training pass zeroes about p = 0.25 of the hidden units and scales the others by
    1/(1 − p); every pass draws a new mask; the mean over many passes is the inference output
    (inverted dropout keeps the expectation)."""
    p, units, n, passes = 0.25, 100, 100, 200
    X = np.random.default_rng(1).uniform(1, 2, (n, units))
    net = identity_chain(units, p)
    assert np.array_equal(net.forward(X), X)
    total = np.zeros_like(X)
    dropped_shares = []
    previous = None
    for _ in range(passes):
        Y = net.forward(X, training=True)
        kept = Y != 0
        dropped_shares.append(1 - kept.mean())
        np.testing.assert_allclose(Y[kept], X[kept] / (1 - p), rtol=1e-15)
        if previous is not None:
            assert not np.array_equal(kept, previous)
        previous = kept
        total += Y
    # One pass: 10⁴ Bernoulli(0.25) draws, σ ≈ 0.0043; all passes: σ ≈ 0.0003.
    assert all(abs(share - p) < 0.025 for share in dropped_shares)
    assert np.mean(dropped_shares) == pytest.approx(p, abs=0.002)
    mean = total / passes
    # Each entry's mean has a relative σ of √(p/(1−p)/200) ≈ 0.041; the grand mean ≈ 0.0004.
    assert np.sum(mean) / np.sum(X) == pytest.approx(1, abs=0.003)
    assert np.max(np.abs(mean / X - 1)) < 0.25


def test_graph_training_forward_drops_out() -> None:
    """A graph node with dropout behaves the same way in forward(training=True)."""
    g = bn.Graph(seed=0)
    h = g.dense(g.input("x", 200), 200, dropout=0.4, name="h")
    g.output(g.dense(h, 200, name="y"), MSE)
    h.W[...] = np.eye(200)
    g.parameters()["y.W"][...] = np.eye(200)
    X = np.random.default_rng(2).uniform(1, 2, (50, 200))
    assert np.array_equal(g.forward({"x": X})["y"], X)
    Y = g.forward({"x": X}, training=True)["y"]
    assert (Y == 0).mean() == pytest.approx(0.4, abs=0.02)
    np.testing.assert_allclose(Y[Y != 0], X[Y != 0] / 0.6, rtol=1e-15)


def test_dropout_on_an_output_or_out_of_range_is_refused() -> None:
    """Dropout belongs on hidden units: on the output layer or node it is refused, as is a
    rate outside [0, 1)."""
    with pytest.raises(ValueError, match="dropout"):
        bn.Sequential([bn.Dense(4), bn.Dense(1, dropout=0.5)], input_dim=2)
    g = bn.Graph()
    g.output(g.dense(g.input("x", 2), 1, dropout=0.5, name="y"), MSE)
    with pytest.raises(ValueError, match="dropout"):
        g.build()
    for rate in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError):
            bn.Dense(4, dropout=rate)


def test_fit_with_dropout_is_seeded_and_drops() -> None:
    """Dropout masks in fit follow its seed: equal seeds, equal weights; another seed, other
    weights; and training with dropout differs from training the same net without it."""
    X, y = blobs(40, 7)

    def train(dropout: float, seed: int) -> Params:
        net = classifier(SCE, dropout)
        net.fit(X, y, SCE, bn.SGD(lr=0.2), epochs=3, batch_size=40, shuffle=False, seed=seed)
        return snapshot(net)

    assert same(train(0.5, 1), train(0.5, 1))
    assert not same(train(0.5, 1), train(0.5, 2))
    assert not same(train(0.5, 1), train(0.0, 1))
    assert same(train(0.0, 1), train(0.0, 2))  # without shuffling or dropout the seed is idle


# --- sample and class weights ----------------------------------------------------------------


LOSS_CASES = [(MSE, "identity", 2), (BCE, "sigmoid", 2), (SCE, "softmax", 3), ("labels", "softmax", 3)]


def weighted_case(case: str, units: int, n: int, seed: int) -> tuple[str, Array, Array]:
    """(loss, X, T) for a LOSS_CASES entry: real targets, probabilities, one-hot or labels."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    if case == MSE:
        return MSE, X, rng.standard_normal((n, units))
    if case == BCE:
        return BCE, X, rng.uniform(0, 1, (n, units))
    labels = rng.integers(0, units, n)
    return SCE, X, labels if case == "labels" else np.eye(units)[labels]


@pytest.mark.parametrize("case, activation, units", LOSS_CASES)
def test_integer_sample_weights_equal_repeated_samples(
    case: str, activation: str, units: int
) -> None:
    """With integer weights w (0 included), backward's J and every gradient, evaluate's J and a
    full-batch train_step equal those on the data with sample j repeated w_j times."""
    loss, X, T = weighted_case(case, units, 6, 1)
    w = np.array([2, 0, 1, 3, 1, 4])
    X_rep, T_rep = np.repeat(X, w, axis=0), np.repeat(T, w, axis=0)
    net = mlp(units, activation, seed=3)
    J_rep = net.backward(X_rep, T_rep, loss)
    grads_rep = {k: v.copy() for k, v in net.gradients().items()}
    J_w = net.backward(X, T, loss, sample_weight=w)
    assert J_w == pytest.approx(J_rep, rel=1e-13)
    for name, value in net.gradients().items():
        np.testing.assert_allclose(value, grads_rep[name], rtol=1e-12, atol=1e-15, err_msg=name)
    assert net.evaluate(X, T, loss, sample_weight=w) == pytest.approx(J_rep, rel=1e-13)

    weighted, repeated = mlp(units, activation, seed=3), mlp(units, activation, seed=3)
    weighted.train_step(X, T, loss, bn.SGD(lr=0.5), sample_weight=w)
    repeated.train_step(X_rep, T_rep, loss, bn.SGD(lr=0.5))
    for name, value in weighted.parameters().items():
        np.testing.assert_allclose(value, repeated.parameters()[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case, activation, units", LOSS_CASES)
def test_weighted_loss_and_gradient_are_weighted_means(
    case: str, activation: str, units: int
) -> None:
    """J = Σ w_j·ℓ_j / Σ w_j and ∇J = Σ w_j·∇ℓ_j / Σ w_j, with ℓ_j and ∇ℓ_j from one-sample
    batches; scaling every weight changes nothing."""
    loss, X, T = weighted_case(case, units, 5, 2)
    w = np.array([0.5, 2.25, 0.0, 1.0, 3.5])
    net = mlp(units, activation, seed=4)
    losses, grads = [], []
    for j in range(5):
        losses.append(net.backward(X[j : j + 1], T[j : j + 1], loss))
        grads.append({k: v.copy() for k, v in net.gradients().items()})
    expected = float(np.dot(w, losses) / w.sum())
    assert net.evaluate(X, T, loss, sample_weight=w) == pytest.approx(expected, rel=1e-13)
    assert net.backward(X, T, loss, sample_weight=10 * w) == pytest.approx(expected, rel=1e-13)
    for name, value in net.gradients().items():
        mean = sum(wj * g[name] for wj, g in zip(w, grads)) / w.sum()
        np.testing.assert_allclose(value, mean, rtol=1e-11, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("case, activation, units", LOSS_CASES)
def test_fit_with_sample_weight_takes_weighted_steps(
    case: str, activation: str, units: int
) -> None:
    """One full-batch epoch of fit with sample_weight is one weighted train_step; its recorded
    loss is the weighted J of the starting weights."""
    loss, X, T = weighted_case(case, units, 8, 3)
    w = np.array([1.0, 0.25, 3.0, 0.0, 2.0, 1.0, 0.5, 1.5])
    fitted, stepped = mlp(units, activation, seed=5), mlp(units, activation, seed=5)
    J0 = fitted.evaluate(X, T, loss, sample_weight=w)
    history = fitted.fit(X, T, loss, bn.SGD(lr=0.3), epochs=1, batch_size=8, shuffle=False,
                         sample_weight=w)
    stepped.train_step(X, T, loss, bn.SGD(lr=0.3), sample_weight=w)
    assert same(snapshot(fitted), snapshot(stepped))
    assert history.loss == [pytest.approx(J0, rel=1e-13)]


def test_graph_integer_sample_weights_equal_repeated_samples() -> None:
    """The same for a graph with two weighted costs: each J_i is weighted by the samples."""
    rng = np.random.default_rng(4)
    X, labels, R = rng.standard_normal((5, 3)), rng.integers(0, 3, 5), rng.standard_normal((5, 2))
    w = np.array([1, 3, 0, 2, 1])

    def graph() -> bn.Graph:
        g = bn.Graph(seed=2)
        h = g.dense(g.input("x", 3), 4, "tanh", name="h")
        g.output(g.dense(h, 3, "softmax", name="y"), SCE)
        g.output(g.dense(h, 2, name="r"), MSE, weight=0.5)
        return g

    g = graph()
    J_rep = g.backward({"x": np.repeat(X, w, 0)},
                       {"y": np.repeat(labels, w), "r": np.repeat(R, w, 0)})
    grads_rep = {k: v.copy() for k, v in g.gradients().items()}
    J_w = g.backward({"x": X}, {"y": labels, "r": R}, sample_weight=w)
    assert J_w == pytest.approx(J_rep, rel=1e-13)
    for name, value in g.gradients().items():
        np.testing.assert_allclose(value, grads_rep[name], rtol=1e-12, atol=1e-15, err_msg=name)


CLASS_CASES = [
    # (loss, targets, class of each sample)
    (SCE, np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2])),
    (SCE, np.eye(3)[[0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2]]),
    (BCE, np.array([[1.0]] * 3 + [[0.0]] * 9)),
]


@pytest.mark.parametrize("loss, T", CLASS_CASES, ids=["labels", "one-hot", "binary"])
def test_class_weight_gives_per_sample_weights(loss: str, T: Array) -> None:
    """class_weight="balanced" weighs each sample n / (n_classes · count of its class); a dict
    weighs the classes it names (the others 1) and multiplies sample_weight. Each fit — one
    full-batch epoch — equals the same fit with those per-sample weights passed explicitly."""
    classes = np.argmax(T, axis=1) if T.ndim == 2 and T.shape[1] > 1 else T.reshape(-1)
    classes = classes.astype(int)
    n = len(classes)
    counts = np.bincount(classes)
    X = np.random.default_rng(5).standard_normal((n, 3))
    units, activation = (3, "softmax") if loss == SCE else (1, "sigmoid")
    sample_weight = np.linspace(0.5, 2.0, n)
    named = {0: 2.0, 1: 0.5} if loss == SCE else {1: 4.0}
    cases: list[tuple[dict[str, Any], Array]] = [
        ({"class_weight": "balanced"}, n / (len(counts) * counts[classes])),
        ({"class_weight": named}, np.array([named.get(c, 1.0) for c in classes])),
        ({"class_weight": named, "sample_weight": sample_weight},
         sample_weight * np.array([named.get(c, 1.0) for c in classes])),
    ]
    if loss == SCE:  # the hand-computed balanced weights of 6, 2 and 4 samples of 12
        np.testing.assert_allclose(cases[0][1][[0, 6, 8]], [2 / 3, 2.0, 1.0])
    for kwargs, expected in cases:
        by_class, by_sample = mlp(units, activation, seed=6), mlp(units, activation, seed=6)
        a = by_class.fit(X, T, loss, bn.SGD(lr=0.5), epochs=1, batch_size=n, shuffle=False,
                         **kwargs)
        b = by_sample.fit(X, T, loss, bn.SGD(lr=0.5), epochs=1, batch_size=n, shuffle=False,
                          sample_weight=expected)
        assert a.loss[0] == pytest.approx(b.loss[0], rel=1e-14), kwargs
        for name, value in by_class.parameters().items():
            np.testing.assert_allclose(value, by_sample.parameters()[name], rtol=1e-14,
                                       atol=1e-16, err_msg=f"{name} {kwargs}")
        unweighted = mlp(units, activation, seed=6)
        unweighted.fit(X, T, loss, bn.SGD(lr=0.5), epochs=1, batch_size=n, shuffle=False)
        assert not same(snapshot(unweighted), snapshot(by_class))


def test_graph_class_weight_equals_explicit_weights() -> None:
    """Graph.fit's class_weight weighs the samples by the classes of its classification
    output, like sample_weight given the same numbers."""
    X, y = blobs(12, 8)
    y = np.array([0] * 7 + [1] * 3 + [2] * 2)

    def graph() -> bn.Graph:
        g = bn.Graph(seed=3)
        h = g.dense(g.input("x", 3), 4, "tanh", name="h")
        g.output(g.dense(h, 3, "softmax", name="y"), SCE)
        g.output(g.dense(h, 3, name="r"), MSE, target="x")
        return g

    a, b = graph(), graph()
    a.fit({"x": X}, {"y": y}, bn.SGD(lr=0.5), epochs=1, batch_size=12, shuffle=False,
          class_weight="balanced")
    b.fit({"x": X}, {"y": y}, bn.SGD(lr=0.5), epochs=1, batch_size=12, shuffle=False,
          sample_weight=12 / (3 * np.bincount(y)[y]))
    for name, value in a.parameters().items():
        np.testing.assert_allclose(value, b.parameters()[name], rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"class_weight": "balance"},
        {"class_weight": {7: 2.0}},  # no class 7
        {"class_weight": "balanced", "loss": MSE},
    ],
)
def test_bad_class_weight_is_refused(kwargs: dict[str, Any]) -> None:
    X, y = blobs(12, 9)
    loss = kwargs.pop("loss", SCE)
    net = mlp(3, "softmax")
    with pytest.raises(ValueError):
        net.fit(X, np.eye(3)[y] if loss == MSE else y, loss, bn.SGD(lr=0.1), **kwargs)
    assert net.history is None


BAD_WEIGHTS = {
    "negative": np.array([1.0, -0.5, 1.0, 1.0]),
    "nan": np.array([1.0, np.nan, 1.0, 1.0]),
    "inf": np.array([1.0, np.inf, 1.0, 1.0]),
    "all zero": np.zeros(4),
    "sum overflows": np.array([1e308, 1e308, 1.0, 1.0]),
    "sum too small to divide by": np.array([5e-324, 0.0, 0.0, 0.0]),
    "too short": np.ones(3),
    "too long": np.ones(5),
    "2-d": np.ones((4, 1)),
    "strings": np.array(["1", "1", "1", "1"]),
}


def test_huge_sample_weights_weigh_like_their_ratios() -> None:
    """A weight of 10³⁰⁸ (the sum finite) once made the loss NaN; now the shares are taken
    before any product, so weights (10³⁰⁸, 5·10³⁰⁷) train exactly like (2, 1), to rounding,
    and two weights of 10³⁰⁸ are refused naming the sum."""
    X = np.array([[0.5], [-1.0]])
    T = np.array([[1.0], [0.0]])
    huge, small = mlp(1, "sigmoid", input_dim=1), mlp(1, "sigmoid", input_dim=1)
    h_huge = huge.fit(X, T, BCE, bn.SGD(lr=0.1), epochs=3, batch_size=2,
                      sample_weight=np.array([1e308, 5e307]))
    h_small = small.fit(X, T, BCE, bn.SGD(lr=0.1), epochs=3, batch_size=2,
                        sample_weight=np.array([2.0, 1.0]))
    np.testing.assert_allclose(h_huge.loss, h_small.loss, rtol=1e-12)
    for name, value in snapshot(small).items():
        np.testing.assert_allclose(snapshot(huge)[name], value, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="sample weights sum to more than the largest float64"):
        huge.fit(X, T, BCE, bn.SGD(lr=0.1), sample_weight=np.array([1e308, 1e308]))


@pytest.mark.parametrize("weights", BAD_WEIGHTS.values(), ids=BAD_WEIGHTS.keys())
def test_bad_sample_weights_are_refused(weights: Array) -> None:
    """Negative, NaN or infinite weights, all weights zero, a wrong length or shape raise
    ValueError in fit, partial_fit, train_step, backward and evaluate (Sequential and Graph),
    and change nothing."""
    X, T = np.random.default_rng(0).standard_normal((4, 3)), np.array([[0.0], [1.0], [1.0], [0.0]])
    net = mlp(1, "sigmoid")
    before = snapshot(net)
    calls: list[Callable[[], object]] = [
        lambda: net.fit(X, T, BCE, bn.SGD(lr=0.1), sample_weight=weights),
        lambda: net.partial_fit(X, T, BCE, bn.SGD(lr=0.1), sample_weight=weights),
        lambda: net.train_step(X, T, BCE, bn.SGD(lr=0.1), sample_weight=weights),
        lambda: net.backward(X, T, BCE, sample_weight=weights),
        lambda: net.evaluate(X, T, BCE, sample_weight=weights),
    ]
    g = bn.Graph(seed=0)
    g.output(g.dense(g.input("x", 3), 1, "sigmoid", name="y"), BCE)
    g_before = snapshot(g)
    calls += [
        lambda: g.fit({"x": X}, {"y": T}, bn.SGD(lr=0.1), sample_weight=weights),
        lambda: g.train_step({"x": X}, {"y": T}, bn.SGD(lr=0.1), sample_weight=weights),
        lambda: g.backward({"x": X}, {"y": T}, sample_weight=weights),
        lambda: g.evaluate({"x": X}, {"y": T}, sample_weight=weights),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()
    assert same(snapshot(net), before) and same(snapshot(g), g_before)
    assert net.history is None and g.history is None


# --- callbacks -------------------------------------------------------------------------------


def test_callbacks_see_each_record_and_false_stops() -> None:
    """Every callback gets each epoch's EpochRecord, the one History stores; returning None
    goes on, returning False stops after that epoch (every callback still runs for it)."""
    X, y = blobs(30, 10)
    Xv, yv = blobs(9, 11)
    seen: list[bn.EpochRecord] = []
    other: list[int] = []

    def watch(record: bn.EpochRecord) -> bool | None:
        seen.append(record)
        return False if record.epoch == 3 else None

    net = classifier(SCE)
    history = net.fit(X, y, SCE, bn.SGD(lr=0.2), epochs=50, validation_data=(Xv, yv),
                      callbacks=[watch, lambda r: other.append(r.epoch)])
    assert history.stopped == "callback" and history.epochs == 4
    assert [r.epoch for r in seen] == other == [0, 1, 2, 3]
    assert all(isinstance(r, bn.EpochRecord) for r in seen)
    assert [r.loss for r in seen] == history.loss
    assert [r.val_loss for r in seen] == history.val_loss
    assert [r.accuracy for r in seen] == history.accuracy
    assert [r.val_accuracy for r in seen] == history.val_accuracy
    assert [r.lr for r in seen] == history.lr
    assert [r.seconds for r in seen] == history.epoch_seconds


@pytest.mark.parametrize("make", [make_sequential, make_graph, make_rnn])
def test_an_exception_in_a_callback_propagates_and_keeps_the_epochs(
    make: Callable[[], tuple[Model, Callable[..., bn.History], dict[str, Any]]],
) -> None:
    """A callback's exception stops training and reaches the caller as it was raised; the
    model's history holds the epochs so far (the failing one included) and the weights are
    those after that epoch."""
    model, fit, _ = make()
    weights: list[Params] = []

    def fail(record: bn.EpochRecord) -> None:
        weights.append(snapshot(model))
        if record.epoch == 2:
            raise LookupError("from the callback")

    with pytest.raises(LookupError, match="from the callback"):
        fit(epochs=10, callbacks=[fail])
    assert model.history is not None and model.history.epochs == 3
    assert same(snapshot(model), weights[-1])


def test_a_callback_may_use_the_model() -> None:
    """A callback may run the model it watches (a forward pass on held-out data is the usual
    thing to do after an epoch). Run in a child process: if the model's lock is held by the
    training loop the call deadlocks, and the child is killed after 5 s."""
    import subprocess
    import sys

    code = (
        "import numpy as np, blasnet as bn\n"
        "net = bn.Sequential([bn.Dense(1)], input_dim=2)\n"
        "X = np.ones((4, 2))\n"
        "seen = []\n"
        "net.fit(X, X[:, :1], 'mse', bn.SGD(lr=0.1), epochs=2,\n"
        "        callbacks=[lambda r: seen.append(net.forward(X).shape)])\n"
        "print(seen)\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=5, env=dict(os.environ))
    except subprocess.TimeoutExpired:
        pytest.fail("net.forward inside a fit callback never returned (deadlock)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[(4, 1), (4, 1)]"


# --- the progress bar ------------------------------------------------------------------------


def test_verbose_shows_a_progress_bar_and_changes_nothing(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """verbose=True draws a tqdm bar on stderr counting the epochs (7/7) with the loss; the
    trained weights and losses are those of a silent fit, which writes nothing."""
    X, y = blobs(30, 12)
    Xv, yv = blobs(9, 13)
    loud, quiet = classifier(SCE), classifier(SCE)
    a = loud.fit(X, y, SCE, bn.SGD(lr=0.2), epochs=7, batch_size=8, verbose=True,
                 validation_data=(Xv, yv))
    bar = capfd.readouterr()
    assert "7/7" in bar.err and "epoch" in bar.err
    assert "loss=" in bar.err and "val_loss=" in bar.err
    b = quiet.fit(X, y, SCE, bn.SGD(lr=0.2), epochs=7, batch_size=8, validation_data=(Xv, yv))
    silent = capfd.readouterr()
    assert silent.err == "" and silent.out == ""
    assert a.loss == b.loss and a.val_loss == b.val_loss
    assert same(snapshot(loud), snapshot(quiet))


def test_verbose_runs_many_short_epochs(capfd: pytest.CaptureFixture[str]) -> None:
    """A bar over 300 epochs of a tiny network — where its per-epoch cost is most visible —
    completes and reaches 300/300; its overhead is measured in the report, not asserted."""
    X = np.linspace(-1, 1, 16).reshape(-1, 2)
    net = bn.Sequential([bn.Dense(1)], input_dim=2)
    history = net.fit(X, X.sum(axis=1), MSE, bn.SGD(lr=0.1), epochs=300, batch_size=16,
                      verbose=True)
    assert history.epochs == 300
    assert "300/300" in capfd.readouterr().err


# --- partial_fit -----------------------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [False, True])
def test_partial_fit_is_one_epoch_of_fit(shuffle: bool) -> None:
    """partial_fit with a seed is fit with epochs=1 and that seed: the same weights, bit for
    bit, and a history of one epoch kept as net.history."""
    X, y = blobs(30, 14)
    a, b = classifier(SCE), classifier(SCE)
    h = a.partial_fit(X, y, SCE, bn.SGD(lr=0.2), batch_size=8, shuffle=shuffle, seed=9)
    b.fit(X, y, SCE, bn.SGD(lr=0.2), epochs=1, batch_size=8, shuffle=shuffle, seed=9)
    assert h.epochs == 1 and a.history is h and h.stopped == "completed"
    assert same(snapshot(a), snapshot(b))


def test_partial_fit_keeps_the_optimizer_state() -> None:
    """Two partial_fit passes with one momentum optimizer are the two epochs of one fit: the
    velocity carries over. Resetting the optimizer between the passes would give other weights."""
    X, y = blobs(24, 15)
    chunks, fitted, reset = classifier(SCE), classifier(SCE), classifier(SCE)
    momentum = bn.SGD(lr=0.1, momentum=0.9)
    for _ in range(2):
        chunks.partial_fit(X, y, SCE, momentum, batch_size=6, shuffle=False)
    fitted.fit(X, y, SCE, bn.SGD(lr=0.1, momentum=0.9), epochs=2, batch_size=6, shuffle=False)
    assert same(snapshot(chunks), snapshot(fitted))
    forgetful = bn.SGD(lr=0.1, momentum=0.9)
    for _ in range(2):
        reset.partial_fit(X, y, SCE, forgetful, batch_size=6, shuffle=False)
        forgetful.reset()
    assert not same(snapshot(reset), snapshot(fitted))


def test_graph_partial_fit_is_one_epoch_of_fit() -> None:
    X, y = blobs(20, 16)

    def graph() -> bn.Graph:
        g = bn.Graph(seed=1)
        g.output(g.dense(g.dense(g.input("x", 3), 4, "tanh"), 3, "softmax", name="y"), SCE)
        return g

    a, b = graph(), graph()
    h = a.partial_fit({"x": X}, {"y": y}, bn.SGD(lr=0.3), batch_size=4, seed=2)
    b.fit({"x": X}, {"y": y}, bn.SGD(lr=0.3), epochs=1, batch_size=4, seed=2)
    assert h.epochs == 1 and a.history is h
    assert same(snapshot(a), snapshot(b))


# --- Ctrl-C ----------------------------------------------------------------------------------


def sigint_after(seconds: float) -> threading.Timer:
    """A started timer that sends this process a real SIGINT."""
    timer = threading.Timer(seconds, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_sigint_stops_full_batch_fit_between_steps() -> None:
    """A real SIGINT, sent once training runs (from the first epoch's callback), stops fit at
    the next step: KeyboardInterrupt, history "interrupted" with the completed epochs. With one
    full-batch step per epoch the weights are exactly those after the last completed epoch,
    and those of a reference net fitted for that many epochs; Python's handler is back."""
    X, y = blobs(30, 17)
    net = classifier(SCE)
    last: list[Params] = []
    timers: list[threading.Timer] = []

    def watch(record: bn.EpochRecord) -> None:
        last[:] = [snapshot(net)]
        if record.epoch == 0:
            timers.append(sigint_after(0.05))

    try:
        with pytest.raises(KeyboardInterrupt):
            net.fit(X, y, SCE, bn.SGD(lr=0.01), epochs=10**7, batch_size=30, shuffle=False,
                    callbacks=[watch])
    finally:
        for timer in timers:
            timer.cancel()
    history = net.history
    assert history is not None and history.stopped == "interrupted" and history.interrupted
    assert 1 <= history.epochs < 10**7
    assert same(snapshot(net), last[0])
    reference = classifier(SCE)
    reference.fit(X, y, SCE, bn.SGD(lr=0.01), epochs=history.epochs, batch_size=30,
                  shuffle=False)
    assert same(snapshot(net), snapshot(reference))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigint_mid_epoch_leaves_whole_steps_on_a_graph() -> None:
    """Epochs of 20 minibatch steps on a graph, SIGINT landing wherever it does: the weights
    are finite and equal, bit for bit, to those after some whole number k of the same steps
    replayed with train_step, with k within the epoch after the completed ones."""
    rng = np.random.default_rng(18)
    X, T = rng.standard_normal((1280, 64)), rng.standard_normal((1280, 4))
    steps = 20

    def graph() -> bn.Graph:
        g = bn.Graph(seed=4)
        h = g.dense(g.input("x", 64), 256, "tanh")
        g.output(g.dense(g.dense(h, 256, "tanh"), 4, name="y"), MSE)
        return g

    g = graph()
    timers: list[threading.Timer] = []

    def start_timer(record: bn.EpochRecord) -> None:
        if record.epoch == 0:
            timers.append(sigint_after(0.03))

    try:
        with pytest.raises(KeyboardInterrupt):
            g.fit({"x": X}, {"y": T}, bn.SGD(lr=0.01), epochs=10**6, batch_size=64,
                  shuffle=False, callbacks=[start_timer])
    finally:
        for timer in timers:
            timer.cancel()
    assert g.history is not None and g.history.stopped == "interrupted"
    completed = g.history.epochs
    final = snapshot(g)
    assert all(np.isfinite(v).all() for v in final.values())
    assert np.isfinite(g.forward({"x": X[:5]})["y"]).all()

    reference, sgd = graph(), bn.SGD(lr=0.01)
    matches = []
    for k in range((completed + 1) * steps + 1):
        if k >= completed * steps and same(snapshot(reference), final):
            matches.append(k)
        if k < (completed + 1) * steps:
            rows = slice((k % steps) * 64, (k % steps + 1) * 64)
            reference.train_step({"x": X[rows]}, {"y": T[rows]}, sgd)
    assert len(matches) == 1, (completed, matches)


def test_keyboard_interrupt_raised_in_a_callback() -> None:
    """Ctrl-C seen by Python itself while a callback runs (here _thread.interrupt_main)
    propagates as KeyboardInterrupt and leaves history "interrupted" with the epochs so far."""
    X, y = blobs(30, 19)
    net = classifier(SCE)

    def interrupt(record: bn.EpochRecord) -> None:
        if record.epoch == 2:
            _thread.interrupt_main()
            for _ in range(10**7):  # the interrupt is raised here, at a bytecode boundary
                pass

    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, SCE, bn.SGD(lr=0.1), epochs=100, callbacks=[interrupt])
    assert net.history is not None
    assert net.history.stopped == "interrupted" and net.history.epochs == 3
    assert all(np.isfinite(v).all() for v in snapshot(net).values())


NESTED_THEN_SIGINT = """
import os, signal, sys, threading
import numpy as np
import blasnet as bn

X = np.random.default_rng(0).standard_normal((64, 3))
T = X.sum(axis=1, keepdims=True)

def net():
    return bn.Sequential([bn.Dense(4, activation="tanh"), bn.Dense(1)], input_dim=3, seed=0)

inner = net()
worker = threading.Thread(target=lambda: net().fit(X, T, "mse", bn.SGD(lr=0.01), epochs=200))
worker.start()  # a fit on another thread, meanwhile

def callback(record):
    if record.epoch == 0:  # a whole fit inside this one's callback
        inner.fit(X, T, "mse", bn.SGD(lr=0.01), epochs=2)
    if record.epoch == 2:
        os.kill(os.getpid(), signal.SIGINT)

outer = net()
try:
    outer.fit(X, T, "mse", bn.SGD(lr=0.01), epochs=5000, batch_size=8, callbacks=[callback])
except KeyboardInterrupt:
    print("outer interrupted after", outer.history.epochs, "epochs")
worker.join()
assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
try:
    os.kill(os.getpid(), signal.SIGINT)  # Python's own handler, after every fit
    for _ in range(10**8):  # raised here, at a bytecode boundary
        pass
except KeyboardInterrupt:
    print("python interrupted")
"""


def test_sigint_after_a_nested_fit_still_stops_the_outer_one() -> None:
    """A fit inside another fit's callback used to leave Ctrl-C swallowed for the rest of the
    outer fit (its end cleared the one active stop); with a fit on another thread running as
    well, a SIGINT sent in epoch 2 of the outer fit now stops it in that epoch, and afterwards
    SIGINT reaches Python's handler again. In a subprocess, bounded in time: the signal is the
    process's."""
    done = subprocess.run([sys.executable, "-c", NESTED_THEN_SIGINT], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["outer interrupted after 3 epochs", "python interrupted"]


# --- divergence ------------------------------------------------------------------------------


def overflow_net() -> bn.Sequential:
    """float32 y = x₁ + x₂ (w = [1, 1], b = 0), identity output, mse."""
    net = bn.Sequential([bn.Dense(1)], input_dim=2, dtype="float32")
    load(net, {"0.W": np.ones((1, 2)), "0.b": np.zeros(1)})
    return net


def overflow_data() -> tuple[Array, Array]:
    X = np.random.default_rng(20).uniform(-1, 1, (10, 2)).astype(np.float32)
    return X, X.sum(axis=1, keepdims=True)


def test_an_infinite_loss_stops_with_the_last_finite_weights() -> None:
    """Sample 7 of 10 is 3·10³⁸, so its batch (samples 6-7 in batches of 2) has an infinite
    output in float32: fit raises NonFiniteError (a FloatingPointError) naming the epoch and
    the batch, history says "diverged", and the weights are those after the three batches
    before, exactly as train_step leaves them."""
    X, T = overflow_data()
    X[7] = 3e38
    net = overflow_net()
    with pytest.raises(bn.NonFiniteError, match="epoch 0, step 4 .*sample 6") as error:
        net.fit(X, T, MSE, bn.SGD(lr=0.05), epochs=3, batch_size=2, shuffle=False)
    assert isinstance(error.value, FloatingPointError)
    assert net.history is not None
    assert net.history.stopped == "diverged" and net.history.epochs == 0
    reference, sgd = overflow_net(), bn.SGD(lr=0.05)
    for first in (0, 2, 4):
        reference.train_step(X[first : first + 2], T[first : first + 2], MSE, sgd)
    assert same(snapshot(net), snapshot(reference))


def test_divergence_keeps_the_completed_epochs() -> None:
    """The same overflow, put into the data (which fit reads in place) after epoch 1: the
    history keeps epochs 0 and 1, and the weights are those of 2 clean epochs and 3 steps."""
    X, T = overflow_data()
    clean = X.copy()
    net = overflow_net()

    def poison(record: bn.EpochRecord) -> None:
        if record.epoch == 1:
            X[7] = 3e38

    with pytest.raises(bn.NonFiniteError, match="epoch 2"):
        net.fit(X, T, MSE, bn.SGD(lr=0.05), epochs=5, batch_size=2, shuffle=False,
                callbacks=[poison])
    assert net.history is not None and net.history.epochs == 2
    reference, sgd = overflow_net(), bn.SGD(lr=0.05)
    reference.fit(clean, T, MSE, sgd, epochs=2, batch_size=2, shuffle=False)
    assert reference.history is not None and net.history.loss == reference.history.loss
    for first in (0, 2, 4):
        reference.train_step(clean[first : first + 2], T[first : first + 2], MSE, sgd)
    assert same(snapshot(net), snapshot(reference))


@pytest.mark.parametrize("optimizer", [bn.SGD, bn.Adam])
def test_an_overflowing_gradient_mid_epoch_keeps_the_step_before(
    optimizer: Callable[..., bn.Optimizer],
) -> None:
    """Sample 3 of 10 is 10²⁰: its loss and output gradient are finite in float32, but the
    weight gradient dZ·xᵀ ≈ 10⁴⁰ is not. Training stops with NonFiniteError at step 2 and the
    weights after the batch before, never the infinite ones the overflowing step would write."""
    X, T = overflow_data()
    X[3] = 1e20
    net = overflow_net()
    with pytest.raises(bn.NonFiniteError, match="epoch 0, step 2 .*those after step 1$"):
        net.fit(X, T, MSE, optimizer(lr=0.05), epochs=2, batch_size=2, shuffle=False)
    reference = overflow_net()
    reference.train_step(X[:2], T[:2], MSE, optimizer(lr=0.05))
    assert same(snapshot(net), snapshot(reference))


def optimizer_state(optimizer: bn.Optimizer) -> dict[str, Any]:
    """A copy of the optimizer's state: its step count and buffers."""
    return {key: np.copy(value) if isinstance(value, np.ndarray) else value
            for key, value in optimizer.state().items()}


def same_state(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Bit-for-bit equality of two optimizer states."""
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# y = w·x + b on x = 1, 4 samples, trained unshuffled until an update overflows: (dtype, the
# optimizer, the targets, the batch size, where fit must stop (epoch, step)). The first three
# are the review's reproducers, which once left inf weights behind "no parameter was changed";
# the others stop later, with an optimizer state to keep, by an update that overflows, or (the
# last) by the loss of the next step.
DIVERGING = [
    ("float64", lambda: bn.SGD(lr=1e300), 1e10, 1, (0, 1)),
    ("float32", lambda: bn.SGD(lr=1e30), 1e10, 1, (0, 1)),
    ("float64", lambda: bn.Adam(lr=1e308), 1e10, 1, (0, 1)),
    ("float32", lambda: bn.SGD(lr=1e15), 1.0, 1, (0, 3)),
    ("float32", lambda: bn.SGD(lr=1e10, momentum=0.9), 1.0, 1, (0, 4)),
    ("float32", lambda: bn.Adam(lr=1e30), 1.0, 1, (0, 2)),
    ("float64", lambda: bn.SGD(lr=1e300, momentum=0.9), 1e10, 1, (0, 1)),
    ("float32", lambda: bn.SGD(lr=1e10, momentum=0.9), 1.0, 4, None),
    ("float64", lambda: bn.SGD(lr=1e100, momentum=0.9), 1.0, 1, (0, 3)),
]


@pytest.mark.parametrize("dtype, make_optimizer, target, batch, stop", DIVERGING)
def test_an_overflowing_step_keeps_the_last_finite_step_and_says_which(
    dtype: str, make_optimizer: Callable[[], bn.Optimizer], target: float, batch: int,
    stop: tuple[int, int] | None,
) -> None:
    """fit stops at the step whose loss, gradient or update is not finite, with the weights
    and the optimizer's state of the step before, and its message says which; train_step
    refuses that same step, changing neither. The reference takes the same steps by
    train_step: as many as fit says were finite, then the one it stopped at."""
    X = np.ones((4, 1), dtype)
    T = np.full((4, 1), target, dtype)
    net = bn.Sequential([bn.Dense(1)], input_dim=1, seed=0, dtype=dtype)
    optimizer = make_optimizer()
    with pytest.raises(bn.NonFiniteError) as error:
        net.fit(X, T, MSE, optimizer, epochs=100, batch_size=batch, shuffle=False)
    message = str(error.value)
    found = re.fullmatch(r"training stopped at epoch (\d+), step (\d+) \(the batch from sample "
                         r"(\d+)\): .*; the parameters and the optimizer's state are (.*)",
                         message)
    assert found is not None, message
    epoch, step, first, kept = int(found[1]), int(found[2]), int(found[3]), found[4]
    if stop is not None:
        assert (epoch, step) == stop, message
    else:
        assert epoch > 0, message  # one step per epoch: it stops at the start of a later one
    assert first == (step - 1) * batch
    assert kept == ("those after step " + str(step - 1) if step > 1
                    else f"those at the end of epoch {epoch - 1}" if epoch > 0
                    else "those fit started with"), message
    assert net.history is not None and net.history.epochs == epoch

    reference = bn.Sequential([bn.Dense(1)], input_dim=1, seed=0, dtype=dtype)
    reference_optimizer = make_optimizer()
    steps_per_epoch = 4 // batch
    for s in range(epoch * steps_per_epoch + step - 1):
        start = (s % steps_per_epoch) * batch
        reference.train_step(X[start : start + batch], T[start : start + batch], MSE,
                             reference_optimizer)
    assert same(snapshot(net), snapshot(reference))
    assert same_state(optimizer_state(optimizer), optimizer_state(reference_optimizer))
    assert all(np.isfinite(value).all() for value in snapshot(net).values())
    before, state = snapshot(reference), optimizer_state(reference_optimizer)
    with pytest.raises(bn.NonFiniteError, match="no parameter"):
        reference.train_step(X[first : first + batch], T[first : first + batch], MSE,
                             reference_optimizer)
    assert same(snapshot(reference), before)
    assert same_state(optimizer_state(reference_optimizer), state)


@pytest.mark.parametrize("kind", ["graph", "rnn"])
def test_every_model_keeps_the_last_finite_step(kind: str) -> None:
    """The Graph and the RNN train through the same core step: an update that overflows stops
    fit with finite weights, those of the step before, and says so."""
    X = np.ones((4, 1))
    T = np.full((4, 1), 1e10)
    if kind == "graph":
        model: Any = bn.Graph(seed=0)
        y = model.dense(model.input("x", 1), 1, activation="identity", name="y")
        model.output(y, loss=MSE)
        fit = lambda: model.fit({"x": X}, {"y": T}, bn.SGD(lr=1e300), epochs=3, batch_size=1,
                                shuffle=False)
    else:
        model = bn.RNN(n_features=1, hidden=2, n_outputs=1, seed=0)
        sequences = np.ones((4, 3, 1))
        fit = lambda: model.fit(sequences, T, bn.SGD(lr=1e300), epochs=3, batch_size=1,
                                shuffle=False)
    start = snapshot(model)
    with pytest.raises(bn.NonFiniteError,
                       match=r"epoch 0, step 1 .*those fit started with$"):
        fit()
    assert same(snapshot(model), start)


def test_sklearn_estimators_keep_the_last_finite_step() -> None:
    """An estimator trains through Sequential's fit and partial_fit: a learning rate that
    overflows the first update of fit raises NonFiniteError with finite weights, and a
    partial_fit whose first step overflows leaves the weights of the call before."""
    from blasnet.sklearn import MLPRegressor

    X = np.ones((4, 1))
    y = np.full(4, 1e10)
    reg = MLPRegressor((2,), solver="sgd", momentum=0.0, learning_rate_init=1e300,
                       max_iter=3, batch_size=1, shuffle=False, random_state=0)
    with pytest.raises(bn.NonFiniteError, match="epoch 0, step 1 .*those fit started with$"):
        reg.fit(X, y)
    assert all(np.isfinite(v).all() for v in snapshot(reg.network_).values())
    reg = MLPRegressor((2,), solver="adam", learning_rate_init=1e300, batch_size=1,
                       shuffle=False, random_state=0)
    reg.partial_fit(X[:1], np.zeros(1))  # a finite first step
    kept = snapshot(reg.network_)
    with pytest.raises(bn.NonFiniteError, match="those fit started with$"):
        reg.partial_fit(X, y)
    assert same(snapshot(reg.network_), kept)


def test_backward_raises_for_an_infinite_weight_gradient() -> None:
    """backward documents NonFiniteError for a NaN or infinite loss *or gradient*: with the
    10²⁰ sample the loss (3·10³⁸, in double) and the bias gradient are finite but dJ/dW is not."""
    X = np.full((1, 2), 1e20, dtype=np.float32)
    net = overflow_net()
    with pytest.raises(bn.NonFiniteError):
        net.backward(X, np.zeros((1, 1), np.float32), MSE)


# --- Graph and RNN take the same keywords ----------------------------------------------------


def test_fit_keywords_are_the_same_everywhere() -> None:
    """Sequential.fit, Graph.fit and RNN.fit take the same training keywords: one declaration,
    FitOptions, which every model's fit checks in one place."""
    from blasnet.models import FitOptions

    assert {"validation_data", "validation_fraction", "early_stopping", "schedule",
            "sample_weight", "class_weight", "callbacks", "verbose", "comm"} == set(
        FitOptions.__annotations__)
    for fit in (bn.Sequential.fit, bn.Graph.fit, bn.RNN.fit):
        parameters = inspect.signature(fit).parameters
        assert list(parameters)[-5:] == ["epochs", "batch_size", "shuffle", "seed", "options"]
        assert parameters["options"].kind is inspect.Parameter.VAR_KEYWORD
    net = bn.Sequential([bn.Dense(1)], input_dim=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'validation_split'"):
        net.fit([[0.0]], [[0.0]], "mse", bn.SGD(lr=0.1), validation_split=0.2)  # type: ignore[call-arg]


def two_output_graph(seed: int = 5, dropout: float = 0.0) -> bn.Graph:
    """Inputs a (2) and b (1); h = tanh over both; y: 3-class softmax, r: mse on 2 units."""
    g = bn.Graph(seed=seed)
    h = g.dense([g.input("a", 2), g.input("b", 1)], 6, "tanh", name="h", dropout=dropout)
    g.output(g.dense(h, 3, "softmax", name="y"), SCE)
    g.output(g.dense(h, 2, name="r"), MSE, weight=0.5)
    return g


def graph_data(n: int, seed: int) -> tuple[dict[str, Array], dict[str, Array]]:
    X, y = blobs(n, seed)
    return {"a": X[:, :2], "b": X[:, 2:]}, {"y": y, "r": np.tanh(X[:, :2])}


def test_graph_fit_validation_and_early_stopping() -> None:
    """Graph.fit with validation_data as (inputs dict, targets dict): each val_loss is
    evaluate() of the graph after that epoch, each val_accuracy that of forward()'s
    classification output; early stopping restores the best epoch's weights."""
    inputs, targets = graph_data(60, 21)
    v_inputs, v_targets = graph_data(30, 22)
    g, twin = two_output_graph(dropout=0.2), two_output_graph()
    weights: list[Params] = []
    history = g.fit(inputs, targets, bn.SGD(lr=0.5), epochs=60, batch_size=10,
                    validation_data=(v_inputs, v_targets), callbacks=[recorder(g, weights)],
                    early_stopping=bn.EarlyStopping(patience=2, min_delta=0.002))
    assert history is g.history
    assert len(history.val_loss) == len(history.val_accuracy) == history.epochs
    for epoch in range(history.epochs):
        load(twin, weights[epoch])
        assert history.val_loss[epoch] == pytest.approx(twin.evaluate(v_inputs, v_targets),
                                                        rel=1e-12)
        assert history.val_accuracy[epoch] == accuracy(SCE, twin.forward(v_inputs)["y"],
                                                       v_targets["y"])
    best, run = early_stop_rule(history.val_loss, 2, 0.002)
    assert (history.stopped, history.best_epoch, history.epochs) == ("early_stopping", best, run)
    assert same(snapshot(g), weights[best])


def test_graph_validation_fraction_equals_the_explicit_split() -> None:
    inputs, targets = graph_data(40, 23)
    train, held = validation_split(40, 0.2, 3)

    def part(d: dict[str, Array], rows: Array) -> dict[str, Array]:
        return {k: v[rows] for k, v in d.items()}

    a, b = two_output_graph(), two_output_graph()
    ha = a.fit(inputs, targets, bn.SGD(lr=0.3), epochs=3, batch_size=8, seed=3,
               validation_fraction=0.2)
    hb = b.fit(part(inputs, train), part(targets, train), bn.SGD(lr=0.3), epochs=3,
               batch_size=8, seed=3, validation_data=(part(inputs, held), part(targets, held)))
    assert ha.val_loss == hb.val_loss and ha.loss == hb.loss
    assert same(snapshot(a), snapshot(b))


def test_rnn_fit_validation_sequences_and_keywords() -> None:
    """RNN.fit with validation_data as (sequences, targets): each val_loss is the mse of
    forward() after that epoch, ½·mean‖y − t‖²; validation_fraction, sample_weight, early
    stopping and callbacks work as for the other models."""
    rng = np.random.default_rng(24)
    X, Xv = rng.standard_normal((40, 5, 1)), rng.standard_normal((12, 5, 1))
    T, Tv = X.sum(axis=1), Xv.sum(axis=1)
    rnn, twin = bn.RNN(1, 4, 1, seed=1), bn.RNN(1, 4, 1, seed=1)
    weights: list[Params] = []
    history = rnn.fit(X, T, bn.SGD(lr=0.05), epochs=6, batch_size=10,
                      validation_data=(Xv, Tv), callbacks=[recorder(rnn, weights)])
    assert history is rnn.history and len(history.val_loss) == 6
    for epoch in range(6):
        load(twin, weights[epoch])
        expected = 0.5 * np.mean(np.sum((twin.forward(Xv) - Tv) ** 2, axis=1))
        assert history.val_loss[epoch] == pytest.approx(expected, rel=1e-12)

    stopped = bn.RNN(1, 4, 1, seed=1).fit(
        X, T, bn.SGD(lr=0.05), epochs=50, validation_fraction=0.25,
        sample_weight=np.linspace(0.5, 1.5, 40), early_stopping=bn.EarlyStopping(patience=1),
        callbacks=[lambda r: r.epoch < 3],
    )
    assert len(stopped.val_loss) == stopped.epochs <= 4
    assert stopped.stopped in ("early_stopping", "callback")
    with pytest.raises(ValueError, match="steps"):
        rnn.fit(X, T, bn.SGD(lr=0.05), validation_data=(Xv[:, :3], Tv))
