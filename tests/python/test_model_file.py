"""Model files from Python: round trips of every model kind, optimizer state that continues
training bit for bit, files that C++ wrote (and that C++ or the safetensors package read),
atomic saves, and every corrupt file refused with a ModelFileError that names the problem.

The safetensors layout is checked by a reader of our own (``read_safetensors`` below), written
from the format's description, not from blasnet's code."""

from __future__ import annotations

import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import blasnet as bn
from blasnet import _core

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad_models"
BAD_PYTHON = DATA / "bad_python_models"
GOOD = DATA / "good_models"

DTYPES: dict[str, np.dtype[Any]] = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}


# --- an independent safetensors reader ------------------------------------------------------


def read_safetensors(path: Path) -> tuple[dict[str, Any], list[tuple[str, np.ndarray[Any, Any]]], bytes]:
    """(header, [(name, array)] in data order, data region) of a safetensors file, checking the
    layout: 8-byte little-endian length, a JSON header padded to 8 bytes, contiguous tensors
    that cover the data region exactly."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0 and 8 + n <= len(raw)
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = raw[8 + n :]
    tensors = sorted(
        ((name, entry) for name, entry in header.items() if name != "__metadata__"),
        key=lambda item: int(item[1]["data_offsets"][0]),
    )
    end = 0
    arrays = []
    for name, entry in tensors:
        begin, stop = entry["data_offsets"]
        assert begin == end, f"{name} does not follow the previous tensor"
        dtype = DTYPES[entry["dtype"]]
        shape = tuple(entry["shape"])
        assert stop - begin == int(np.prod(shape)) * dtype.itemsize
        arrays.append((name, np.frombuffer(data[begin:stop], dtype=dtype).reshape(shape)))
        end = stop
    assert end == len(data), "bytes after the last tensor"
    return header, arrays, data


def description(path: Path) -> dict[str, Any]:
    header, _, _ = read_safetensors(path)
    assert header["__metadata__"]["format"] == "blasnet"
    result: dict[str, Any] = json.loads(header["__metadata__"]["blasnet"])
    return result


def rewrite_description(src: Path, dst: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Copies a model file with its blasnet description changed; the tensors stay as they are."""
    header, _, data = read_safetensors(src)
    meta = json.loads(header["__metadata__"]["blasnet"])
    change(meta)
    header["__metadata__"]["blasnet"] = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    dst.write_bytes(struct.pack("<Q", len(text)) + text + data)


def check_file_matches(path: Path, model: Any) -> None:
    """The file holds the model's parameters under their keys, in parameter order, with their
    shapes and dtype, and the data region starts with the flat parameter buffer's bytes."""
    _, arrays, data = read_safetensors(path)
    params = model.parameters()
    stored = [(name, a) for name, a in arrays if not name.startswith("__optimizer__.")]
    assert [name for name, _ in stored] == list(params)
    for name, array in stored:
        assert array.dtype == params[name].dtype
        assert array.shape == params[name].shape
        assert array.tobytes() == np.ascontiguousarray(params[name]).tobytes()
    flat = b"".join(np.ascontiguousarray(p).tobytes() for p in params.values())
    assert data[: len(flat)] == flat
    meta = description(path)
    assert meta["format_version"] == 1
    assert meta["dtype"] == model.dtype.name


def assert_same_parameters(a: Any, b: Any) -> None:
    pa, pb = a.parameters(), b.parameters()
    assert list(pa) == list(pb)
    for name in pa:
        assert pa[name].dtype == pb[name].dtype
        assert pa[name].tobytes() == pb[name].tobytes(), name


# --- the models -----------------------------------------------------------------------------


def make_sequential(dtype: str) -> bn.Sequential:
    return bn.Sequential(
        [bn.Dense(5, activation="tanh", dropout=0.0), bn.Dense(3, activation="relu"),
         bn.Dense(2, activation="softmax")],
        input_dim=4, dtype=dtype, seed=3,
    )


def make_graph(dropout: float = 0.25, dtype: str = "float64") -> bn.Graph:
    """Two inputs, an encoder with a tied transposed decoder whose target is the input x, a
    dropout node, and two weighted outputs."""
    g = bn.Graph(dtype=dtype, seed=7)
    x, z = g.input("x", 3), g.input("z", 2)
    enc = g.dense(x, 2, activation="tanh", name="enc")
    dec = g.dense(enc, 3, name="dec", share=enc, transpose=True)
    h = g.dense([enc, z], 4, activation="tanh", name="h", dropout=dropout)
    cls = g.dense(h, 2, activation="softmax", name="cls")
    g.output(dec, "mse", weight=0.5, target="x")
    g.output(cls, "softmax_cross_entropy", weight=1.5)
    return g.build()


def graph_data(rng: np.random.Generator, n: int = 24) -> tuple[dict[str, Any], dict[str, Any]]:
    inputs = {"x": rng.normal(size=(n, 3)), "z": rng.normal(size=(n, 2))}
    return inputs, {"cls": rng.integers(0, 2, size=n)}


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sequential_round_trip(tmp_path: Path, dtype: str) -> None:
    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(30, 4)), rng.integers(0, 2, size=30)
    net = make_sequential(dtype)
    net.fit(X, labels, loss="softmax_cross_entropy", optimizer=bn.SGD(lr=0.1), epochs=3)
    path = tmp_path / "net.safetensors"
    net.save(path)
    loaded = bn.load(path)
    assert type(loaded) is bn.Sequential
    assert loaded.dtype == np.dtype(dtype)
    assert loaded.optimizer is None
    assert_same_parameters(net, loaded)
    assert np.array_equal(loaded.forward(X), net.forward(X))
    assert np.array_equal(loaded.predict(X), net.predict(X))
    assert description(path)["kind"] == "sequential"
    check_file_matches(path, loaded)


def test_graph_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    g = make_graph()
    inputs, targets = graph_data(rng)
    g.fit(inputs, targets, bn.SGD(lr=0.05), epochs=2, batch_size=8)
    path = tmp_path / "graph.safetensors"
    g.save(path)
    loaded = bn.load(path)
    assert type(loaded) is bn.Graph
    assert sorted(loaded.parameters()) == ["cls.W", "cls.b", "dec.b", "enc.W", "enc.b", "h.W", "h.b"]
    assert_same_parameters(g, loaded)
    assert loaded.inputs == g.inputs == {"x": 3, "z": 2}
    assert loaded.outputs == g.outputs == ["dec", "cls"]
    assert loaded.nodes == g.nodes
    assert repr(loaded) == repr(g)
    # Shares, transposes, dropout, losses, weights and the target input as declared.
    assert loaded.spec.declares_same(g.spec)
    out, again = g.forward(inputs), loaded.forward(inputs)
    assert list(out) == list(again)
    for name in out:
        assert np.array_equal(out[name], again[name])
    assert loaded.evaluate(inputs, targets) == g.evaluate(inputs, targets)
    check_file_matches(path, loaded)
    meta = description(path)
    assert meta["kind"] == "graph"
    arch = meta["architecture"]
    assert [n["name"] for n in arch["nodes"]] == ["enc", "dec", "h", "cls"]
    assert {o["node"]: (o["weight"], o["target"]) for o in arch["outputs"]} == {
        "dec": (0.5, "x"), "cls": (1.5, "")}

    # The loaded graph keeps training, tied weights included.
    loaded.fit(inputs, targets, bn.SGD(lr=0.05), epochs=1, batch_size=8)
    assert not np.array_equal(loaded.parameters()["enc.W"], g.parameters()["enc.W"])


@pytest.mark.parametrize("head", ["last", "every"])
def test_rnn_round_trip(tmp_path: Path, head: str) -> None:
    rng = np.random.default_rng(2)
    rnn = bn.RNN(n_features=2, hidden=4, n_outputs=3, head=head, output_activation="sigmoid",
                 loss="binary_cross_entropy", seed=5)
    X = rng.normal(size=(10, 6, 2))
    T = (rng.random(size=(10, 3) if head == "last" else (10, 6, 3)) > 0.5).astype(float)
    rnn.fit(X, T, bn.Adam(lr=0.01), epochs=2, batch_size=5)
    path = tmp_path / "rnn.safetensors"
    rnn.save(path)
    loaded = bn.load(path)
    assert type(loaded) is bn.RNN
    assert loaded.head == head
    assert loaded._arguments() == rnn._arguments()
    assert_same_parameters(rnn, loaded)
    for steps in (1, 6, 9):
        Xs = rng.normal(size=(4, steps, 2))
        assert np.array_equal(loaded.forward(Xs), rnn.forward(Xs))
    assert description(path)["kind"] == "rnn"
    check_file_matches(path, loaded)


# --- optimizer state ------------------------------------------------------------------------


def _sgd() -> bn.Optimizer:
    return bn.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)


def _adam() -> bn.Optimizer:
    return bn.Adam(lr=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-7, weight_decay=1e-4)


@pytest.mark.parametrize("make_optimizer", [_sgd, _adam], ids=["sgd_momentum", "adam"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sequential_training_continues_bit_for_bit(
    tmp_path: Path, make_optimizer: Callable[[], bn.Optimizer], dtype: str
) -> None:
    rng = np.random.default_rng(3)
    X, labels = rng.normal(size=(40, 4)), rng.integers(0, 2, size=40)
    k, m = 3, 4

    def train(net: bn.Sequential, optimizer: bn.Optimizer, epochs: int) -> None:
        net.fit(X, labels, loss="softmax_cross_entropy", optimizer=optimizer, epochs=epochs,
                batch_size=8, shuffle=False)

    straight = make_sequential(dtype)
    train(straight, make_optimizer(), k + m)

    first = make_sequential(dtype)
    optimizer = make_optimizer()
    train(first, optimizer, k)
    path = tmp_path / "ckpt.safetensors"
    first.save(path, optimizer=optimizer)
    resumed = bn.load(path)
    assert isinstance(resumed, bn.Sequential)
    assert resumed.optimizer is not None
    assert type(resumed.optimizer) is type(optimizer)
    assert resumed.optimizer.steps == optimizer.steps == k * 5
    assert resumed.optimizer.lr == optimizer.lr
    saved_state, loaded_state = optimizer.state(), resumed.optimizer.state()
    assert sorted(saved_state) == sorted(loaded_state)
    for name in optimizer.state_names:
        assert saved_state[name].tobytes() == loaded_state[name].tobytes()
    train(resumed, resumed.optimizer, m)
    assert_same_parameters(straight, resumed)


def test_graph_training_continues_bit_for_bit(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    inputs, targets = graph_data(rng, n=32)

    def train(g: bn.Graph, optimizer: bn.Optimizer, epochs: int) -> None:
        g.fit(inputs, targets, optimizer, epochs=epochs, batch_size=8, shuffle=False)

    straight = make_graph(dropout=0.0)
    train(straight, _adam(), 5)
    first = make_graph(dropout=0.0)
    optimizer = _adam()
    train(first, optimizer, 2)
    path = tmp_path / "ckpt.safetensors"
    first.save(path, optimizer=optimizer)
    resumed = bn.load(path)
    assert isinstance(resumed, bn.Graph) and resumed.optimizer is not None
    train(resumed, resumed.optimizer, 3)
    assert_same_parameters(straight, resumed)


def test_optimizer_state_in_file(tmp_path: Path) -> None:
    net = make_sequential("float32")
    adam = _adam()
    net.fit(np.ones((4, 4)), np.array([0, 1, 0, 1]), loss="softmax_cross_entropy",
            optimizer=adam, epochs=2, batch_size=2, shuffle=False)
    path = tmp_path / "net.safetensors"
    net.save(path, optimizer=adam)
    _, arrays, _ = read_safetensors(path)
    tensors = dict(arrays)
    state = adam.state()
    for name in ("m", "v"):
        assert tensors[f"__optimizer__.{name}"].dtype == np.float32
        assert tensors[f"__optimizer__.{name}"].tobytes() == state[name].tobytes()
    record = description(path)["optimizer"]
    assert record["name"] == "Adam" and record["steps"] == 4 and record["state"] == ["m", "v"]
    assert record["hyperparameters"] == {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7,
                                         "weight_decay": 1e-4}
    check_file_matches(path, net)

    # Before its first step an optimizer has no buffers, and says so.
    fresh = tmp_path / "fresh.safetensors"
    net.save(fresh, optimizer=bn.SGD(lr=0.1, momentum=0.5))
    record = description(fresh)["optimizer"]
    assert record["steps"] == 0 and record["state"] == []
    loaded = bn.load(fresh)
    assert isinstance(loaded.optimizer, bn.SGD) and loaded.optimizer.momentum == 0.5


def test_optimizer_step_count_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    """A file whose Adam had taken 2⁶⁴ − 1 steps loaded, and the next step wrapped t to 0,
    where the bias correction 1 − β⁰ divided by zero and made every weight NaN. A count above
    2⁵³ is refused on load, naming it; one below trains on with finite weights."""
    rng = np.random.default_rng(4)
    X, labels = rng.normal(size=(16, 4)), rng.integers(0, 2, size=16)
    net, adam = make_sequential("float64"), _adam()
    net.fit(X, labels, loss="softmax_cross_entropy", optimizer=adam, batch_size=8)
    source, path = tmp_path / "adam.safetensors", tmp_path / "steps.safetensors"
    net.save(source, optimizer=adam)

    def with_steps(steps: int) -> Callable[[dict[str, Any]], None]:
        def change(meta: dict[str, Any]) -> None:
            meta["optimizer"]["steps"] = steps
        return change

    for steps in (2**64 - 1, 2**53 + 1):
        rewrite_description(source, path, with_steps(steps))
        with pytest.raises(ValueError, match=f"{steps} steps, more than the 9007199254740992"):
            bn.load(path)
    rewrite_description(source, path, with_steps(2**53 - 10))
    model = bn.load(path)
    assert isinstance(model, bn.Sequential)
    assert model.optimizer is not None and model.optimizer.steps == 2**53 - 10
    model.fit(X, labels, loss="softmax_cross_entropy", optimizer=model.optimizer, batch_size=8)
    assert model.optimizer.steps == 2**53 - 8
    assert all(np.isfinite(v).all() for v in model.parameters().values())


# --- across languages -----------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(GOOD.glob("*.safetensors")), ids=lambda p: p.name)
def test_files_written_elsewhere_load_bit_for_bit(path: Path) -> None:
    meta = description(path)
    _, arrays, _ = read_safetensors(path)
    model = bn.load(path)
    assert model.dtype.name == meta["dtype"]
    params = model.parameters()
    stored = {name: a for name, a in arrays if not name.startswith("__optimizer__.")}
    assert sorted(stored) == sorted(params)
    for name, array in stored.items():
        assert params[name].dtype == array.dtype
        assert params[name].tobytes() == np.ascontiguousarray(array).tobytes(), name
    if meta["optimizer"] is None:
        assert model.optimizer is None
    else:
        assert model.optimizer is not None
        assert type(model.optimizer).__name__ == meta["optimizer"]["name"]
        assert model.optimizer.steps == meta["optimizer"]["steps"]
        state = model.optimizer.state()
        for name in meta["optimizer"]["state"]:
            assert state[name].tobytes() == dict(arrays)[f"__optimizer__.{name}"].tobytes()


def test_good_models_are_there() -> None:
    names = {p.name for p in GOOD.glob("*.safetensors")}
    assert {"cpp_graph_f32_adam.safetensors", "cpp_sequential_f64.safetensors"} <= names


@pytest.mark.parametrize("path", sorted(GOOD.glob("*.safetensors")), ids=lambda p: p.name)
def test_resaved_files_are_the_same_bytes_of_parameters(tmp_path: Path, path: Path) -> None:
    model = bn.load(path)
    again = tmp_path / path.name
    model.save(again, optimizer=model.optimizer)
    check_file_matches(again, model)
    _, before, _ = read_safetensors(path)
    _, after, _ = read_safetensors(again)
    assert [(n, a.tobytes()) for n, a in before] == [(n, a.tobytes()) for n, a in after]


def test_safetensors_package_reads_our_files(tmp_path: Path) -> None:
    numpy_reader = pytest.importorskip("safetensors.numpy")
    net = make_sequential("float32")
    adam = bn.Adam()
    net.fit(np.ones((4, 4)), np.array([0, 1, 0, 1]), loss="softmax_cross_entropy",
            optimizer=adam, epochs=1)
    path = tmp_path / "net.safetensors"
    net.save(path, optimizer=adam)
    tensors = numpy_reader.load_file(str(path))
    for name, value in net.parameters().items():
        assert tensors[name].tobytes() == value.tobytes()
    assert tensors["__optimizer__.m"].tobytes() == adam.state()["m"].tobytes()
    for good in GOOD.glob("*.safetensors"):
        model = bn.load(good)
        tensors = numpy_reader.load_file(str(good))
        for name, value in model.parameters().items():
            assert tensors[name].tobytes() == value.tobytes()


# --- atomic saves ---------------------------------------------------------------------------


def _no_temporaries(folder: Path) -> None:
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_failed_save_into_a_directory_leaves_everything(tmp_path: Path) -> None:
    net = make_sequential("float64")
    target = tmp_path / "model.safetensors"
    target.mkdir()
    (target / "inside.txt").write_text("kept")
    with pytest.raises(bn.ModelFileError, match="model.safetensors") as info:
        net.save(target)
    assert isinstance(info.value, ValueError)
    assert target.is_dir() and (target / "inside.txt").read_text() == "kept"
    _no_temporaries(tmp_path)


def test_failed_save_into_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(bn.ModelFileError):
        make_sequential("float64").save(tmp_path / "missing" / "model.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_failed_save_over_a_file_leaves_it_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    net = make_sequential("float64")
    net.save(path)
    before = path.read_bytes()
    # An optimizer whose state belongs to another network's parameters.
    other, adam = bn.Sequential([bn.Dense(2)], input_dim=2), bn.Adam()
    other.fit(np.ones((2, 2)), np.ones((2, 2)), loss="mse", optimizer=adam, epochs=1)
    net.fit(np.ones((2, 4)), np.array([0, 1]), loss="softmax_cross_entropy",
            optimizer=bn.SGD(lr=0.5), epochs=1)
    with pytest.raises(bn.ModelFileError):
        net.save(path, optimizer=adam)
    assert path.read_bytes() == before
    _no_temporaries(tmp_path)
    # A successful save replaces it.
    net.save(path)
    assert path.read_bytes() != before
    assert_same_parameters(bn.load(path), net)
    _no_temporaries(tmp_path)


# --- files that must be refused -------------------------------------------------------------


def expected_errors(folder: Path = BAD) -> dict[str, str]:
    """expected_errors.txt: one "<file name><TAB><phrase its message contains>" a line."""
    phrases = {}
    for line in (folder / "expected_errors.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            name, phrase = line.split("\t", 1)
            phrases[name] = phrase
    return phrases


@pytest.mark.parametrize("folder", [BAD, BAD_PYTHON], ids=lambda p: p.name)
def test_every_bad_model_has_an_expected_error(folder: Path) -> None:
    assert sorted(p.name for p in folder.glob("*.safetensors")) == sorted(expected_errors(folder))


@pytest.mark.parametrize("path", sorted(BAD_PYTHON.glob("*.safetensors")), ids=lambda p: p.name)
def test_bad_python_model_is_refused_before_it_is_built(path: Path) -> None:
    # A valid file to the core, which reads every kind as a graph: only the Python side's
    # checks of its kind and "extra" arguments refuse it.
    assert bn._core.load_model(str(path))["kind"] == path.name.split("_")[0]
    phrase = expected_errors(BAD_PYTHON)[path.name]
    with pytest.raises(bn.ModelFileError) as info:
        bn.load(path)
    message = str(info.value)
    assert phrase in message, message
    assert path.name in message, message


@pytest.mark.parametrize("path", sorted(BAD.glob("*.safetensors")), ids=lambda p: p.name)
def test_bad_model_is_refused(path: Path) -> None:
    phrase = expected_errors()[path.name]
    with pytest.raises(bn.ModelFileError) as info:
        bn.load(path)
    message = str(info.value)
    assert phrase in message, message
    assert path.name in message, message
    assert isinstance(info.value, ValueError)


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    source, path = tmp_path / "graph.safetensors", tmp_path / "kind.safetensors"
    make_graph().save(source)

    def rename(meta: dict[str, Any]) -> None:
        meta["kind"] = "transformer"

    rewrite_description(source, path, rename)
    with pytest.raises(bn.ModelFileError, match="'transformer'"):
        bn.load(path)
    # The rewrite itself keeps a valid file: the graph kind loads.
    rewrite_description(source, path, lambda meta: None)
    assert isinstance(bn.load(path), bn.Graph)


def test_rnn_file_with_bad_arguments_is_refused(tmp_path: Path) -> None:
    source, path = tmp_path / "rnn.safetensors", tmp_path / "bad.safetensors"
    bn.RNN(n_features=2, hidden=3, n_outputs=1).save(source)

    def wrong_hidden(meta: dict[str, Any]) -> None:
        meta["extra"]["hidden"] = 5

    rewrite_description(source, path, wrong_hidden)
    with pytest.raises(bn.ModelFileError, match="not the one-step unrolling"):
        bn.load(path)

    def unknown_argument(meta: dict[str, Any]) -> None:
        meta["extra"]["cell"] = "lstm"

    rewrite_description(source, path, unknown_argument)
    with pytest.raises(bn.ModelFileError, match=r"unknown keys \['cell'\]"):
        bn.load(path)


def test_class_names_round_trip_and_bad_ones_are_refused(tmp_path: Path) -> None:
    source, path = tmp_path / "clf.safetensors", tmp_path / "bad.safetensors"
    net = bn.Sequential([bn.Dense(3, activation="softmax")], input_dim=2)
    assert net.classes is None
    net.classes = ["a", 2, 3.5]
    net.save(source)
    loaded = bn.load(source)
    assert isinstance(loaded, bn.Sequential) and loaded.classes == ["a", 2, 3.5]

    for bad, message in [(["a", "b"], "2 class names for a model of 3 outputs"),
                         (["a", "a", "b"], "distinct"), ([None, "a", "b"], "strings or numbers"),
                         (7, "must be a list")]:
        def replace(meta: dict[str, Any], classes: Any = bad) -> None:
            meta["extra"]["classes"] = classes

        rewrite_description(source, path, replace)
        with pytest.raises(bn.ModelFileError, match=message):
            bn.load(path)
    net.classes = ["only", "two"]
    with pytest.raises(ValueError, match="2 class names for a model of 3 outputs"):
        net.save(source)
    loaded = bn.load(source)
    assert isinstance(loaded, bn.Sequential) and loaded.classes == ["a", 2, 3.5]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_perceptron_round_trip(tmp_path: Path, dtype: str) -> None:
    X, y = bn.datasets.cake(n_samples=60, spread=0.3, seed=0)
    p = bn.Perceptron(n_features=2, lr=0.25, dtype=dtype, seed=3)
    p.fit(X, y, epochs=5)
    path = tmp_path / "p.safetensors"
    p.save(path)
    again = bn.load(path)
    assert isinstance(again, bn.Perceptron)
    assert (again.n_features, again.n_outputs, again.lr, again.dtype) == (2, 1, 0.25, p.dtype)
    assert again.W.tobytes() == p.W.tobytes() and again.b.tobytes() == p.b.tobytes()
    assert np.array_equal(again.predict(X), p.predict(X))
    assert again.optimizer is None and sorted(again.parameters()) == ["perceptron.W", "perceptron.b"]
    with pytest.raises(ValueError, match="saves no optimizer"):
        p.save(tmp_path / "never.safetensors", optimizer=bn.SGD(lr=0.1))
    assert not (tmp_path / "never.safetensors").exists()


def test_perceptron_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    g = bn.Graph()
    g.output(g.dense(g.dense(g.input("x", 2), 2, name="h"), 1, activation="step",
                     name="perceptron"), "mse")
    path = tmp_path / "p.safetensors"
    _core.save_graph(g.core, str(path), "perceptron", None, '{"seed": 0, "lr": 1.0}')
    with pytest.raises(bn.ModelFileError, match="one node 'perceptron' of step units"):
        bn.load(path)
    bn.Perceptron(n_features=2).save(path)

    def negative_rate(meta: dict[str, Any]) -> None:
        meta["extra"]["lr"] = -1.0

    rewrite_description(path, tmp_path / "bad.safetensors", negative_rate)
    with pytest.raises(bn.ModelFileError, match="perceptron arguments do not rebuild one"):
        bn.load(tmp_path / "bad.safetensors")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.safetensors"
    with pytest.raises(bn.ModelFileError, match="nowhere.safetensors"):
        bn.load(path)
    with pytest.raises(bn.ModelFileError):
        bn.load(tmp_path)  # a folder is not a model file
    assert not os.path.exists(path)


def test_a_network_with_nan_weights_is_not_saved_and_the_old_file_stays(tmp_path: Path) -> None:
    """load refuses NaN or infinite weights, so save refuses to write them: the previous file
    is kept."""
    net = bn.Sequential([bn.Dense(2)], input_dim=2, seed=0)
    path = tmp_path / "net.safetensors"
    net.save(path)
    before = path.read_bytes()
    net.parameters()["0.W"][0, 0] = np.nan
    with pytest.raises(bn.ModelFileError, match="parameter '0.W' holds NaN or Inf"):
        net.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.safetensors"]


def test_a_forty_thousand_node_chain_loads(tmp_path: Path) -> None:
    """A 13 MB header of 120,000 objects: bn.load is linear in it (it took 226 s while the
    header's parse was quadratic; bench/model_file_load.py gives the times)."""
    net = bn.Sequential([bn.Dense(1, activation="tanh") for _ in range(40_000)], input_dim=1,
                        seed=2)
    net.save(tmp_path / "deep.safetensors")
    loaded = bn.load(tmp_path / "deep.safetensors")
    assert isinstance(loaded, bn.Sequential) and len(loaded.layers) == 40_000
    assert loaded.parameters()["39999.W"].tobytes() == net.parameters()["39999.W"].tobytes()
    X = np.array([[0.5]])
    assert loaded.predict(X).tobytes() == net.predict(X).tobytes()


# --- a save killed midway ------------------------------------------------------------------

#: A temporary file of a save: "<target>.blasnet-<pid>-<16 hex digits>.tmp".
TEMPORARY = re.compile(r"\.blasnet-(\d+)-[0-9a-f]{16}\.tmp$")

#: Saves a 32 MB network over argv[1] again and again, saying when the first save is done.
SAVER = """
import sys
import blasnet as bn
net = bn.Sequential([bn.Dense(2048)], input_dim=2048, seed=1)
net.save(sys.argv[1])
print("saved", flush=True)
while True:
    net.save(sys.argv[1])
"""


def _has_o_tmpfile(folder: Path) -> bool:
    try:
        os.close(os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600))
    except (AttributeError, OSError):
        return False
    return True


def _writing(pid: int, folder: Path, named: bool) -> bool:
    """Whether process pid has a file of the save open in folder: a named temporary file, or
    an unnamed one (which /proc shows as "<folder>/#<inode> (deleted)")."""
    if named:
        return any(TEMPORARY.search(p.name) for p in folder.iterdir())
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return False
    return any(link.startswith(f"{folder}/#") and link.endswith("(deleted)") for link in links)


@pytest.mark.parametrize("named", [False, True], ids=["O_TMPFILE", "named"])
def test_a_save_killed_midway_leaves_no_litter_after_the_next_save(
    tmp_path: Path, named: bool
) -> None:
    """SIGKILL in the middle of a save. With O_TMPFILE the bytes were in a file with no name,
    gone with the process; with a named temporary file (what a filesystem without O_TMPFILE
    gets, forced here by BLASNET_NO_O_TMPFILE=1) the next save into the folder removes it once
    stale: its writer is gone, and a minute has passed (set back by utime). Either way the file
    saved before is whole."""
    if not named and not _has_o_tmpfile(tmp_path):
        pytest.skip("this filesystem has no O_TMPFILE")
    target = tmp_path / "net.safetensors"
    env = dict(os.environ, BLASNET_NO_O_TMPFILE="1" if named else "0")
    with subprocess.Popen([sys.executable, "-c", SAVER, str(target)], env=env,
                          stdout=subprocess.PIPE, text=True) as saver:
        try:
            assert saver.stdout is not None and saver.stdout.readline() == "saved\n"
            deadline = time.monotonic() + 60
            while not _writing(saver.pid, tmp_path, named):
                assert time.monotonic() < deadline, "the saver never started another save"
                time.sleep(0.001)
        finally:
            saver.send_signal(signal.SIGKILL)
    assert saver.returncode == -signal.SIGKILL

    left = sorted(p.name for p in tmp_path.iterdir() if p != target)
    if named:
        assert len(left) == 1 and TEMPORARY.search(left[0]), left
        assert int(TEMPORARY.search(left[0]).group(1)) == saver.pid  # type: ignore[union-attr]
        minute_ago = time.time() - 120
        os.utime(tmp_path / left[0], (minute_ago, minute_ago))
    else:
        assert left == []
    saved = bn.load(target)  # the file saved before the kill, whole
    assert saved.parameters()["0.W"].shape == (2048, 2048)

    bn.Sequential([bn.Dense(1)], input_dim=1).save(tmp_path / "other.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.safetensors", "other.safetensors"]


def test_sequential_file_whose_graph_is_no_chain_is_refused(tmp_path: Path) -> None:
    # Found by test_model_file_fuzz.py: the network's own ValueError escaped bn.load.
    source, path = tmp_path / "net.safetensors", tmp_path / "bad.safetensors"
    make_sequential("float64").save(source)

    def weigh(meta: dict[str, Any]) -> None:
        meta["architecture"]["outputs"][0]["weight"] = 2.0

    rewrite_description(source, path, weigh)
    with pytest.raises(bn.ModelFileError, match="bad.safetensors.*a network only as a chain"):
        bn.load(path)


@pytest.mark.parametrize("kind", ["sequential", "graph", "rnn", "perceptron"])
def test_every_model_pickles_and_deep_copies_through_its_model_file(kind: str) -> None:
    """pickle, copy.deepcopy and joblib go through the model file (Model.__reduce__): the copy
    predicts the same, bit for bit, and owns buffers of its own."""
    import copy
    import pickle

    X = np.linspace(-1, 1, 12).reshape(6, 2)
    model: Any
    if kind == "sequential":
        model = bn.Sequential([bn.Dense(3, activation="tanh"), bn.Dense(2, activation="softmax")],
                              input_dim=2, seed=5)
        model.classes = ["a", "b"]
        predict = model.predict
    elif kind == "graph":
        model = bn.Graph(seed=5)
        h = model.dense(model.input("x", 2), 3, activation="tanh", name="h")
        model.output(model.dense(h, 2, name="r", share=h, transpose=True), "mse", target="x")
        predict = lambda data: model.predict(data)["r"]  # noqa: E731
    elif kind == "rnn":
        model = bn.RNN(n_features=2, hidden=3, n_outputs=1, seed=5)
        X = X.reshape(2, 3, 2)
        predict = model.predict
    else:
        model = bn.Perceptron(n_features=2, lr=0.5, seed=5)
        model.W[:] = [[1.0, -1.0]]
        predict = model.predict
    for again in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert type(again) is type(model)
        again_predict = again.predict if kind != "graph" else (lambda d: again.predict(d)["r"])
        np.testing.assert_array_equal(again_predict(X), predict(X))
        key = next(iter(model.parameters()))
        assert not np.shares_memory(again.parameters()[key], model.parameters()[key])
    if kind == "sequential":
        assert pickle.loads(pickle.dumps(model)).classes == ["a", "b"]
