"""ONNX export: onnxruntime, given the exported file, computes what blasnet computes.

Each network is run by blasnet (``predict``) and by onnxruntime on the same random inputs,
compared value by value: float32 to 1e-5 relative, float64 to 1e-12. The structure of the
written graph (initializers stored once, Gemm per block, no dropout) is checked too, as are
the refusals: nothing is written when the model cannot be exported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import blasnet as bn
from blasnet import cli
from blasnet.onnx_export import ACTIVATIONS, DEFAULT_OPSET, OnnxExportError, export, to_proto

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

DTYPES = ["float32", "float64"]
# (rtol, atol) per dtype: the products are summed in another order by onnxruntime.
TOLERANCE = {"float32": (1e-5, 1e-6), "float64": (1e-12, 1e-14)}


def _session(path: Path) -> Any:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run(path: Path, feeds: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
    session = _session(path)
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def _assert_close(actual: np.ndarray[Any, Any], expected: np.ndarray[Any, Any], dtype: str) -> None:
    assert actual.dtype == np.dtype(dtype) and actual.shape == expected.shape
    rtol, atol = TOLERANCE[dtype]
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def _samples(n: int, dim: int, dtype: str, seed: int) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(dtype)


def _autoencoder_graph(dtype: str) -> bn.Graph:
    """Two inputs, a node over three blocks, fan-out, W tied plain and transposed, dropout,
    four outputs of four activations."""
    g = bn.Graph(dtype=dtype, seed=3)
    x, c = g.input("x", 5), g.input("c", 2)
    h = g.dense(x, 4, activation="tanh", name="h", dropout=0.4)
    y = g.dense([x, h, c], 3, activation="softmax", name="y")
    r = g.dense(h, 5, activation="sigmoid", name="r", share=h, transpose=True)
    s = g.dense([h, c], 2, activation="relu", name="s", dropout=0.2)
    s2 = g.dense([h, c], 2, name="s2", share=s)
    z = g.dense([s, x], 3, name="z")
    g.output(y, "softmax_cross_entropy")
    g.output(r, "mse", target="x")
    g.output(s2, "mse", weight=0.5)
    g.output(z, "mse")
    return g


# --- every activation ----------------------------------------------------------------------


def test_every_activation_of_blasnet_is_exported() -> None:
    assert sorted(ACTIVATIONS) == sorted(bn.ACTIVATIONS)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu", "softmax"])
def test_every_activation_matches_predict(activation: str, dtype: str, tmp_path: Path) -> None:
    net = bn.Sequential([bn.Dense(6, activation=activation), bn.Dense(4, activation=activation)],
                        input_dim=3, dtype=dtype, seed=5)
    net.parameters()["0.b"][:] = np.linspace(-0.5, 0.5, 6)  # biases of both signs matter
    path = tmp_path / "net.onnx"
    net.to_onnx(path)
    X = _samples(17, 3, dtype, seed=1) * 2
    (Y,) = _session(path).run(["Y"], {"X": X})
    _assert_close(Y, net.predict(X), dtype)
    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    expected = {"identity": [], "sigmoid": ["Sigmoid"], "tanh": ["Tanh"], "relu": ["Relu"],
                "softmax": ["Softmax"]}[activation]
    assert ops == ["Gemm", *expected] * 2
    if activation == "softmax":
        np.testing.assert_allclose(Y.sum(axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_step_is_one_from_zero_on(dtype: str, tmp_path: Path) -> None:
    """activations.cpp: step(z) = 1 if z ≥ 0, else 0. Small integers make every z exact, so
    z = 0 is met exactly, by a zero sum and by cancelling terms."""
    net = bn.Sequential([bn.Dense(3, activation="step")], input_dim=2, dtype=dtype)
    net.parameters()["0.W"][:] = [[1, -1], [2, 1], [0, 0]]
    net.parameters()["0.b"][:] = [0, -1, -1]
    X = np.array([[0, 0], [1, 1], [2, 3], [3, 2], [0.5, -1], [-1, 0]], dtype=dtype)
    path = tmp_path / "step.onnx"
    net.to_onnx(path)
    (Y,) = _session(path).run(["Y"], {"X": X})
    expected = [[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0]]
    np.testing.assert_array_equal(net.predict(X), expected)
    np.testing.assert_array_equal(Y, expected)
    assert Y.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_step_on_random_inputs(dtype: str, tmp_path: Path) -> None:
    g = bn.Graph(dtype=dtype, seed=2)
    h = g.dense(g.input("x", 4), 8, activation="step", name="h")
    g.output(g.dense([h, "x"], 3, activation="step", name="y"), "mse")
    rng = np.random.default_rng(0)
    g.parameters()["h.W"][:] = rng.integers(-3, 4, size=(8, 4))
    g.parameters()["y.W"][:] = rng.integers(-3, 4, size=(3, 12))
    X = rng.integers(-2, 3, size=(50, 4)).astype(dtype)
    path = tmp_path / "step.onnx"
    g.to_onnx(path)
    Y = _run(path, {"x": X})["y"]
    np.testing.assert_array_equal(Y, g.predict(X)["y"])
    assert 0 < Y.mean() < 1


# --- graph features ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_graph_with_every_feature_matches_predict(dtype: str, tmp_path: Path) -> None:
    g = _autoencoder_graph(dtype)
    path = tmp_path / "graph.onnx"
    g.to_onnx(path)
    feeds = {"x": _samples(9, 5, dtype, seed=4), "c": _samples(9, 2, dtype, seed=5)}
    outputs = _run(path, feeds)
    assert list(outputs) == g.outputs == ["y", "r", "s2", "z"]
    expected = g.predict(feeds)
    for name in g.outputs:
        _assert_close(outputs[name], expected[name], dtype)
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["x", "c"]
    ops = [node.op_type for node in proto.graph.node]
    assert "Dropout" not in ops and ops.count("Softmax") == 1 and ops.count("Relu") == 1
    # y reads three blocks: three Gemms; s and s2 read two and share the two slices of s.W.
    assert ops.count("Gemm") == 1 + 3 + 1 + 2 + 2 + 2 and ops.count("Slice") == 3 + 2 + 2


def test_every_parameter_is_one_initializer_under_its_key(tmp_path: Path) -> None:
    g = _autoencoder_graph("float64")
    proto = to_proto(g)
    stored = {init.name: onnx.numpy_helper.to_array(init) for init in proto.graph.initializer}
    parameters = g.parameters()
    assert sorted(parameters) == ["h.W", "h.b", "r.b", "s.W", "s.b", "y.W", "y.b", "z.W", "z.b"]
    for key, value in parameters.items():
        np.testing.assert_array_equal(stored[key], value)
    # Besides the parameters, only the slice bounds: int64 scalars, each value once.
    extra = {name: array for name, array in stored.items() if name not in parameters}
    assert all(array.dtype == np.int64 and array.shape == (1,) for array in extra.values())
    assert sorted(int(array[0]) for array in extra.values()) == [0, 1, 2, 4, 5, 6, 7, 9, 11]


@pytest.mark.parametrize("dtype", DTYPES)
def test_unrolled_rnn_stores_the_shared_cell_once(dtype: str, tmp_path: Path) -> None:
    """An RNN unrolled over 4 steps applies one W (over [x_t; h_t−1]) four times: one
    initializer, sliced once into its two blocks; the ONNX outputs equal the RNN's."""
    rnn = bn.RNN(n_features=3, hidden=5, n_outputs=2, head="every", dtype=dtype, seed=7)
    g = rnn.unroll(4)
    path = tmp_path / "rnn4.onnx"
    g.to_onnx(path)
    proto = onnx.load(str(path))
    names = [init.name for init in proto.graph.initializer]
    assert [n for n in names if not n.startswith("int64:")] == ["cell.W", "cell.b", "head.W",
                                                                 "head.b"]
    assert [node.op_type for node in proto.graph.node].count("Slice") == 2
    X = np.random.default_rng(3).normal(size=(6, 4, 3)).astype(dtype)
    feeds = {"h0": np.zeros((6, 5), dtype), **{f"x{t + 1}": X[:, t, :] for t in range(4)}}
    outputs = _run(path, feeds)
    assert list(outputs) == ["head", "head@2", "head@3", "head@4"]
    _assert_close(np.stack(list(outputs.values()), axis=1), rnn.predict(X), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_chains_of_tied_weights(dtype: str, tmp_path: Path) -> None:
    """A node sharing a transposed sharer applies Wᵀ with that sharer's bias; transposing
    twice gives W back, with a bias of its own."""
    g = bn.Graph(dtype=dtype, seed=11)
    x = g.input("x", 3)
    h = g.dense(x, 4, activation="tanh", name="h")
    r = g.dense(h, 3, name="r", share=h, transpose=True)
    r2 = g.dense(h, 3, activation="sigmoid", name="r2", share=r)
    t = g.dense(r, 4, activation="relu", name="t", share=r, transpose=True)
    for node in (r2, t):
        g.output(node, "mse")
    g.parameters()["r.b"][:] = [0.3, -0.2, 0.1]
    g.parameters()["t.b"][:] = [0.5, -0.5, 0.25, 0.0]
    proto = to_proto(g)
    assert sorted(init.name for init in proto.graph.initializer) == ["h.W", "h.b", "r.b", "t.b"]
    trans_b = {node.output[0]: node.attribute[0].i for node in proto.graph.node
               if node.op_type == "Gemm"}
    assert trans_b == {"h:z0": 1, "r": 0, "r2:z0": 0, "t:z0": 1}
    path = tmp_path / "tied.onnx"
    export(g, path)
    X = _samples(8, 3, dtype, seed=6)
    outputs, expected = _run(path, {"x": X}), g.predict(X)
    for name in ("r2", "t"):
        _assert_close(outputs[name], expected[name], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_is_the_identity(dtype: str, tmp_path: Path) -> None:
    net = bn.Sequential([bn.Dense(16, activation="relu", dropout=0.5),
                         bn.Dense(8, activation="tanh", dropout=0.3), bn.Dense(2)],
                        input_dim=4, dtype=dtype, seed=1)
    net.fit(_samples(64, 4, dtype, 0), _samples(64, 2, dtype, 1), "mse", bn.SGD(lr=0.05),
            epochs=3)
    path = tmp_path / "dropout.onnx"
    net.to_onnx(path)
    X = _samples(10, 4, dtype, seed=2)
    (Y,) = _session(path).run(None, {"X": X})
    _assert_close(Y, net.predict(X), dtype)
    assert not np.allclose(net.forward(X, training=True), net.predict(X))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sequential_loaded_from_a_model_file(dtype: str, tmp_path: Path) -> None:
    net = bn.Sequential([bn.Dense(7, activation="sigmoid", name="hidden"),
                         bn.Dense(3, activation="softmax", name="out")],
                        input_dim=4, dtype=dtype, seed=9)
    net.fit(_samples(40, 4, dtype, 0), np.arange(40) % 3, "softmax_cross_entropy", bn.Adam(),
            epochs=5)
    net.save(tmp_path / "net.safetensors")
    loaded = bn.load(tmp_path / "net.safetensors")
    assert isinstance(loaded, bn.Sequential)
    loaded.to_onnx(tmp_path / "net.onnx")
    X = _samples(12, 4, dtype, seed=3)
    (Y,) = _session(tmp_path / "net.onnx").run(None, {"X": X})
    _assert_close(Y, net.predict(X), dtype)
    names = [init.name for init in onnx.load(str(tmp_path / "net.onnx")).graph.initializer]
    assert names == ["hidden.W", "hidden.b", "out.W", "out.b"]


def test_a_classifier_keeps_its_class_names(tmp_path: Path) -> None:
    net = bn.Sequential([bn.Dense(3, activation="softmax")], input_dim=2)
    assert not to_proto(net).metadata_props
    net.classes = ["cherry", "chocolate", 7]
    net.save(tmp_path / "net.safetensors")
    proto = to_proto(bn.load(tmp_path / "net.safetensors"))
    assert {p.key: p.value for p in proto.metadata_props} == {
        "classes": '["cherry", "chocolate", 7]'}


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_batch_dimension_is_dynamic(dtype: str, tmp_path: Path) -> None:
    g = _autoencoder_graph(dtype)
    path = tmp_path / "graph.onnx"
    g.to_onnx(path)
    proto = onnx.load(str(path))
    for value in [*proto.graph.input, *proto.graph.output]:
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and dims[1].dim_value > 0
        assert value.type.tensor_type.elem_type == onnx.helper.np_dtype_to_tensor_dtype(
            np.dtype(dtype))
    session = _session(path)
    for n in (1, 2, 333):  # 333: no size blasnet or the export saw
        feeds = {"x": _samples(n, 5, dtype, seed=n), "c": _samples(n, 2, dtype, seed=n + 1)}
        expected = g.predict(feeds)
        for name, out in zip(g.outputs, session.run(g.outputs, feeds)):
            _assert_close(out, expected[name], dtype)


def test_the_file_passes_the_full_checker(tmp_path: Path) -> None:
    path = tmp_path / "graph.onnx"
    _autoencoder_graph("float32").to_onnx(path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", DEFAULT_OPSET)]
    assert proto.ir_version == 8 and proto.producer_name == "blasnet"
    assert proto.producer_version == bn.__version__
    assert proto.graph.name == "blasnet.Graph" and "y softmax" in proto.doc_string


@pytest.mark.parametrize("opset", [13, 21])
def test_other_opsets(opset: int, tmp_path: Path) -> None:
    g = _autoencoder_graph("float64")
    path = tmp_path / "graph.onnx"
    g.to_onnx(path, opset=opset)
    assert onnx.load(str(path)).opset_import[0].version == opset
    feeds = {"x": _samples(3, 5, "float64", 0), "c": _samples(3, 2, "float64", 1)}
    _assert_close(_run(path, feeds)["y"], g.predict(feeds)["y"], "float64")


def test_layers_named_like_the_inputs_and_outputs(tmp_path: Path) -> None:
    """A hidden layer called "Y" or "X" does not take the names of the model's input and
    output: its tensor is renamed, its parameters keep their keys."""
    net = bn.Sequential([bn.Dense(3, activation="tanh", name="Y"),
                         bn.Dense(3, activation="relu", name="X"), bn.Dense(2, name="out")],
                        input_dim=2, seed=4)
    path = tmp_path / "net.onnx"
    net.to_onnx(path)
    proto = onnx.load(str(path))
    assert [node.output[0] for node in proto.graph.node if node.op_type != "Gemm"] == [
        "Y_1", "X_1"]
    assert [init.name for init in proto.graph.initializer] == [
        "Y.W", "Y.b", "X.W", "X.b", "out.W", "out.b"]
    X = _samples(5, 2, "float64", 0)
    _assert_close(_session(path).run(["Y"], {"X": X})[0], net.predict(X), "float64")


# --- refusals ------------------------------------------------------------------------------


def _assert_untouched(folder: Path, path: Path, content: bytes) -> None:
    assert path.read_bytes() == content
    assert sorted(os.listdir(folder)) == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_parameters_are_refused(bad: float, tmp_path: Path) -> None:
    g = _autoencoder_graph("float32")
    g.parameters()["z.W"][1, 2] = bad
    path = tmp_path / "graph.onnx"
    path.write_bytes(b"the previous file")
    with pytest.raises(OnnxExportError, match=r"parameter 'z\.W' holds NaN or infinite"):
        g.to_onnx(path)
    _assert_untouched(tmp_path, path, b"the previous file")


def test_an_unknown_activation_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = bn.Sequential([bn.Dense(2)], input_dim=2)
    monkeypatch.setattr(bn.Sequential, "layers", property(lambda self: [("0", 2, 2, "gelu")]))
    with pytest.raises(OnnxExportError, match=r"activation 'gelu' has no ONNX form"):
        net.to_onnx(tmp_path / "net.onnx")
    assert not os.listdir(tmp_path)


def test_an_rnn_is_refused_naming_the_way_out(tmp_path: Path) -> None:
    rnn = bn.RNN(n_features=2, hidden=3, n_outputs=1)
    with pytest.raises(OnnxExportError, match=r"RNN has no static graph.*unroll\(n_steps\)"):
        export(rnn, tmp_path / "rnn.onnx")
    with pytest.raises(TypeError, match="Sequential, Graph or Perceptron, got History"):
        export(bn.History(), tmp_path / "h.onnx")  # type: ignore[arg-type]
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_perceptron_exports_its_step_units(tmp_path: Path, dtype: str) -> None:
    """Step units, 1 at z = 0 as in the core, from Python and from its model file."""
    p = bn.Perceptron(n_features=3, n_outputs=2, dtype=dtype)
    p.W[:] = [[1.0, -1.0, 0.5], [0.0, 2.0, -1.0]]
    p.b[:] = [0.0, -0.5]
    X = np.array([[1.0, 1.0, 0.0], [0.0, 0.5, 0.5], [-1.0, 2.0, 4.0]], dtype=dtype)
    p.to_onnx(tmp_path / "p.onnx")
    p.save(tmp_path / "p.safetensors")
    assert cli.main(["export", str(tmp_path / "p.safetensors"), str(tmp_path / "cli.onnx")]) == 0
    for name in ("p.onnx", "cli.onnx"):
        (Y,) = _session(tmp_path / name).run(None, {"x": X})
        assert Y.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(Y, p.predict(X))


def test_a_graph_that_does_not_build_is_refused(tmp_path: Path) -> None:
    g = bn.Graph()
    g.output(g.dense(g.input("x", 2), 1, name="y", share="nowhere"), "mse")
    with pytest.raises(ValueError, match="nowhere"):
        g.to_onnx(tmp_path / "g.onnx")
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("opset, error, message", [
    (12, OnnxExportError, r"opset must be in \[13, "),
    (10_000, OnnxExportError, r"opset must be in \[13, "),
    ("17", TypeError, "opset must be an integer"),
    (True, TypeError, "opset must be an integer"),
])
def test_bad_opsets(opset: Any, error: type[Exception], message: str, tmp_path: Path) -> None:
    with pytest.raises(error, match=message):
        bn.Sequential([bn.Dense(1)], input_dim=1).to_onnx(tmp_path / "n.onnx", opset=opset)
    assert not os.listdir(tmp_path)


def test_export_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "net.onnx"
    path.write_bytes(b"old")
    net = bn.Sequential([bn.Dense(2)], input_dim=3)
    net.to_onnx(str(path))
    assert sorted(os.listdir(tmp_path)) == ["net.onnx"]
    assert path.read_bytes() == to_proto(net).SerializeToString()


def test_an_unwritable_folder_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(bn.ModelFileError, match="net.onnx': cannot create a temporary file "
                       "next to it: No such file or directory"):
        bn.Sequential([bn.Dense(2)], input_dim=3).to_onnx(tmp_path / "missing" / "net.onnx")


def test_without_onnx_an_import_error_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'blasnet\[onnx\]'"):
        bn.Sequential([bn.Dense(2)], input_dim=3).to_onnx(tmp_path / "net.onnx")
    assert not os.listdir(tmp_path)


def test_importing_blasnet_does_not_import_onnx() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, blasnet, blasnet.onnx_export, blasnet.cli; "
         "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'onnxruntime')))"],
        capture_output=True, text=True, check=True,
    )
    assert done.stdout.strip() == "[]"


# --- the command line ----------------------------------------------------------------------


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = bn.Sequential([bn.Dense(5, activation="relu"), bn.Dense(3, activation="softmax")],
                        input_dim=4, dtype="float32", seed=2)
    net.save(tmp_path / "net.safetensors")
    g = _autoencoder_graph("float64")
    g.save(tmp_path / "graph.safetensors")
    assert cli.main(["export", str(tmp_path / "net.safetensors"), str(tmp_path / "net.onnx")]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 'net.onnx'}\n"
    X = _samples(6, 4, "float32", 0)
    _assert_close(_session(tmp_path / "net.onnx").run(["Y"], {"X": X})[0], net.predict(X),
                  "float32")
    assert cli.main(["export", str(tmp_path / "graph.safetensors"), str(tmp_path / "g.onnx"),
                     "--opset", "19"]) == 0
    proto = onnx.load(str(tmp_path / "g.onnx"))
    assert proto.opset_import[0].version == 19
    assert [o.name for o in proto.graph.output] == ["y", "r", "s2", "z"]
    feeds = {"x": _samples(4, 5, "float64", 1), "c": _samples(4, 2, "float64", 2)}
    outputs, expected = _run(tmp_path / "g.onnx", feeds), g.predict(feeds)
    for name in g.outputs:
        _assert_close(outputs[name], expected[name], "float64")


@pytest.mark.parametrize("case, message", [
    ("missing", "missing.safetensors"),
    ("rnn", "RNN has no static graph"),
    ("corrupt", "corrupt.safetensors"),
    ("opset", "opset must be in [13, "),
])
def test_cli_export_errors_are_one_line(
    case: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, extra = tmp_path / f"{case}.safetensors", []
    if case == "rnn":
        bn.RNN(n_features=2, hidden=3, n_outputs=1).save(model)
    elif case == "corrupt":
        model.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    elif case == "opset":
        bn.Sequential([bn.Dense(2)], input_dim=2).save(model)
        extra = ["--opset", "7"]
    assert cli.main(["export", str(model), str(tmp_path / "out.onnx"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("blasnet: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out.onnx").exists()


def test_cli_export_without_onnx(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bn.Sequential([bn.Dense(2)], input_dim=2).save(tmp_path / "net.safetensors")
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert cli.main(["export", str(tmp_path / "net.safetensors"), str(tmp_path / "o.onnx")]) == 2
    assert capsys.readouterr().err == (
        "blasnet: error: ONNX export needs the onnx package: pip install 'blasnet[onnx]'\n")


def test_cli_export_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["export", "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "usage: blasnet export" in out and "MODEL OUT" in out and "--opset" in out
    assert "pip install 'blasnet[onnx]'" in out
