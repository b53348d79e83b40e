"""bn.Graph's behaviour: the issue's contract graph (shapes, keys, tied views, J = Σ weight_i·J_i),
tied weights against their untied copies, Sequential as a Graph chain, training, input
conversion, the frozen graph after building, and every error with a message that names the
problem.

The gradients themselves are checked against central differences in test_graph_gradients.py.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from blasnet import reference as ref

import blasnet as bn

Array = np.ndarray[Any, Any]
SCE = "softmax_cross_entropy"
BCE = "binary_cross_entropy"


def contract_graph(dtype: str = "float64", seed: int = 0) -> tuple[bn.Graph, dict[str, bn.Node]]:
    """The graph of the issue, declared exactly as there; returns it and its node handles."""
    g = bn.Graph(dtype=dtype, seed=seed)
    x = g.input("x", 10)
    h = g.dense(x, 8, activation="tanh", name="h")
    k = g.dense([x, h], 6, activation="relu", name="k")  # dense over [x; h]: k.W is (6, 18)
    y = g.dense(k, 3, activation="softmax", name="y")
    r = g.dense(h, 10, activation="identity", name="r", share="h", transpose=True)
    g.output(y, loss="softmax_cross_entropy", weight=1.0)
    g.output(r, loss="mse", target="x", weight=0.5)
    return g, {"x": x, "h": h, "k": k, "y": y, "r": r}


def contract_data(n: int = 6, seed: int = 0) -> tuple[Array, Array]:
    """Inputs of 10 features and class labels in [0, 3)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 10)), rng.integers(0, 3, n)


def latent_data(n: int = 300, seed: int = 0) -> tuple[Array, Array]:
    """10-feature points near a 3-dimensional subspace, labelled by their largest latent
    coordinate: learnable by the contract graph's classifier and its tied autoencoder."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, 3))
    X = Z @ rng.standard_normal((3, 10)) / np.sqrt(3) + 0.05 * rng.standard_normal((n, 10))
    return X, Z.argmax(axis=1)


def snapshot(g: bn.Graph) -> dict[str, Array]:
    return {key: value.copy() for key, value in g.parameters().items()}


def assert_same_parameters(g: bn.Graph, before: dict[str, Array]) -> None:
    now = g.parameters()
    assert list(now) == list(before)
    for key, value in now.items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def numpy_contract_forward(p: dict[str, Array], X: Array) -> dict[str, Array]:
    """The contract graph in NumPy, samples as rows."""
    H = np.tanh(X @ p["h.W"].T + p["h.b"])
    K = np.maximum(np.concatenate([X, H], axis=1) @ p["k.W"].T + p["k.b"], 0.0)
    Y = ref.activation("softmax", (K @ p["y.W"].T + p["y.b"]).T).T
    R = H @ p["h.W"] + p["r.b"]  # the decoder applies h.Wᵀ: R = H·(h.Wᵀ)ᵀ
    return {"y": Y, "r": R}


# --- the contract graph -----------------------------------------------------------------------


def test_contract_graph_shapes_and_keys() -> None:
    """Parameter keys exactly as in the issue, in declaration order, with the note's shapes;
    the gradients keyed alike; forward returns the outputs by name, in declaration order."""
    g, nodes = contract_graph()
    X, _ = contract_data()

    shapes = {key: value.shape for key, value in g.parameters().items()}
    assert shapes == {
        "h.W": (8, 10), "h.b": (8,), "k.W": (6, 18), "k.b": (6,),
        "y.W": (3, 6), "y.b": (3,), "r.b": (10,),
    }
    assert list(shapes) == ["h.W", "h.b", "k.W", "k.b", "y.W", "y.b", "r.b"]
    assert {key: value.shape for key, value in g.gradients().items()} == shapes
    assert nodes["k"].W.shape == (6, 18) and nodes["r"].W.shape == (10, 8)
    assert [(n.name, n.units) for n in nodes.values()] == [
        ("x", 10), ("h", 8), ("k", 6), ("y", 3), ("r", 10)
    ]
    outs = g.forward({"x": X})
    assert list(outs) == ["y", "r"] == g.outputs
    assert outs["y"].shape == (6, 3) and outs["r"].shape == (6, 10)
    assert g.inputs == {"x": 10}
    assert [(name, sources, n_in, units) for name, sources, n_in, units, _ in g.nodes] == [
        ("h", ["x"], 10, 8), ("k", ["x", "h"], 18, 6), ("y", ["k"], 6, 3), ("r", ["h"], 8, 10)
    ]


def test_contract_graph_forward_matches_numpy() -> None:
    """forward equals the graph computed in NumPy from the same parameters, value by value,
    after every parameter has been given random values (nonzero biases included)."""
    g, _ = contract_graph()
    rng = np.random.default_rng(1)
    for view in g.parameters().values():
        view[...] = rng.uniform(-0.5, 0.5, view.shape)
    X, _ = contract_data(seed=2)
    want = numpy_contract_forward(g.parameters(), X)
    got = g.forward({"x": X})
    for name in ("y", "r"):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-14, err_msg=name)
    np.testing.assert_allclose(got["y"].sum(axis=1), 1.0, rtol=1e-12)


def test_large_batch_is_the_weighted_mean_of_its_parts() -> None:
    """J and the gradients are batch means, so those of 1000 samples equal the sample-weighted
    mean of those of its parts (1, 7, 292, 1 and 699 samples); forward on the large batch
    matches NumPy. Large products go through other BLAS paths than the small checks."""
    g, _ = contract_graph(seed=2)
    rng = np.random.default_rng(13)
    X, labels = rng.standard_normal((1000, 10)), rng.integers(0, 3, 1000)
    outs = g.forward({"x": X})
    want = numpy_contract_forward(g.parameters(), X)
    for name in outs:
        np.testing.assert_allclose(outs[name], want[name], rtol=1e-11, atol=1e-13)
    J = g.backward({"x": X}, {"y": labels})
    full = {key: value.copy() for key, value in g.gradients().items()}
    J_parts = 0.0
    summed = {key: np.zeros_like(value) for key, value in full.items()}
    for part in np.array_split(np.arange(1000), [1, 8, 300, 301]):
        J_parts += g.backward({"x": X[part]}, {"y": labels[part]}) * len(part)
        for key, value in g.gradients().items():
            summed[key] += value * len(part)
    assert J == pytest.approx(J_parts / 1000, rel=1e-12)
    for key, value in full.items():
        np.testing.assert_allclose(value, summed[key] / 1000, rtol=1e-10, atol=1e-14, err_msg=key)


def test_tied_decoder_is_a_transposed_view() -> None:
    """r.W is h.Wᵀ and a view of it: writing h.W changes r.W and what r computes; writing
    through r.W changes h.W; r.b is r's own."""
    g, nodes = contract_graph()
    h, r = nodes["h"], nodes["r"]
    X, _ = contract_data()

    np.testing.assert_array_equal(r.W, h.W.T)
    assert np.shares_memory(r.W, g.parameters()["h.W"])
    assert not np.shares_memory(r.b, h.b)
    assert np.shares_memory(r.b, g.parameters()["r.b"])

    before = g.forward({"x": X})["r"]
    g.parameters()["h.W"][2, 7] += 0.5
    assert r.W[7, 2] == g.parameters()["h.W"][2, 7]
    after = g.forward({"x": X})["r"]
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, numpy_contract_forward(g.parameters(), X)["r"], rtol=1e-12)

    r.W[0, 1] = 3.25
    assert g.parameters()["h.W"][1, 0] == 3.25
    r.b[...] = 1.5
    assert np.all(g.parameters()["r.b"] == 1.5) and not np.any(h.b == 1.5)


def test_J_is_the_weighted_sum_of_the_output_losses() -> None:
    """backward returns J = Σ weight_i·J_i, with output_losses the unweighted J_i, each the
    batch mean of its loss on forward's outputs (the reconstruction's target being x)."""
    g, _ = contract_graph()
    X, labels = contract_data()
    J = g.backward({"x": X}, {"y": labels})
    losses = g.output_losses
    assert list(losses) == ["y", "r"]
    assert J == pytest.approx(1.0 * losses["y"] + 0.5 * losses["r"], rel=1e-14)
    outs = g.forward({"x": X})
    assert losses["y"] == pytest.approx(
        ref.loss_value(SCE, outs["y"].T, ref.one_hot(labels, 3)), rel=1e-12
    )
    assert losses["r"] == pytest.approx(ref.loss_value("mse", outs["r"].T, X.T), rel=1e-12)
    assert losses["y"] > 0.1 and losses["r"] > 0.1  # neither term vanishes, so both count


def test_output_weight_scales_its_gradient() -> None:
    """Doubling every output's weight doubles J and every gradient, and leaves J_i alone."""
    X, labels = contract_data()
    grads, results = [], []
    for scale in (1.0, 2.0):
        g = bn.Graph(seed=0)
        x = g.input("x", 10)
        h = g.dense(x, 8, activation="tanh", name="h")
        y = g.dense(h, 3, activation="softmax", name="y")
        r = g.dense(h, 10, name="r", share=h, transpose=True)
        g.output(y, SCE, weight=1.0 * scale)
        g.output(r, "mse", target=x, weight=0.5 * scale)
        results.append((g.backward({"x": X}, {"y": labels}), g.output_losses))
        grads.append({key: value.copy() for key, value in g.gradients().items()})
    assert results[1][0] == pytest.approx(2 * results[0][0], rel=1e-14)
    assert results[1][1] == pytest.approx(results[0][1], rel=1e-14)
    for key in grads[0]:
        np.testing.assert_allclose(grads[1][key], 2 * grads[0][key], rtol=1e-13, err_msg=key)


def test_nodes_run_in_data_flow_order() -> None:
    """A node may read one declared after it; forward runs them in an order where each follows
    what it reads, and the result does not depend on the declaration order."""
    X = np.random.default_rng(3).standard_normal((4, 3))
    results = []
    for late_first in (True, False):
        g = bn.Graph(seed=0)
        x = g.input("x", 3)
        if late_first:
            y = g.dense("h", 2, activation="sigmoid", name="y")
            h = g.dense(x, 4, activation="tanh", name="h")
        else:
            h = g.dense(x, 4, activation="tanh", name="h")
            y = g.dense(h, 2, activation="sigmoid", name="y")
        g.output(y, "mse")
        assert [node[0] for node in g.nodes] == ["h", "y"]
        params = g.parameters()
        params["h.W"][...] = np.arange(12).reshape(4, 3) / 10
        params["y.W"][...] = np.arange(8).reshape(2, 4) / 10 - 0.4
        results.append(g.forward(X)["y"])
    np.testing.assert_array_equal(results[0], results[1])


# --- tied weights against untied copies -------------------------------------------------------


def tied_and_untied(transpose: bool) -> tuple[bn.Graph, bn.Graph]:
    """x → a(3 tanh) → b → …, with b sharing a's W (transposed: a decoder from x(4) to 3 units and
    back, with its own bias; plain: x(3) and a second 3-unit step using a.W and a.b), once tied
    and once with b's own parameters; the untied copy starts from the tied graph's values."""
    graphs = []
    for tied in (True, False):
        g = bn.Graph(seed=4)
        x = g.input("x", 4 if transpose else 3)
        a = g.dense(x, 3, activation="tanh", name="a")
        share = a if tied else None
        if transpose:
            b = g.dense(a, 4, activation="sigmoid", name="b", share=share, transpose=tied)
            g.output(b, BCE, target=x, weight=0.8)
        else:
            b = g.dense(a, 3, activation="tanh", name="b", share=share)
            c = g.dense(b, 2, activation="softmax", name="c")
            g.output(c, SCE)
        g.output(a, "mse", weight=0.3)  # a cost on the shared node's own output too
        graphs.append(g)
    tied_g, untied_g = graphs
    rng = np.random.default_rng(5)
    for view in tied_g.parameters().values():
        view[...] = rng.uniform(-0.8, 0.8, view.shape)
    for key, view in untied_g.parameters().items():
        if key in tied_g.parameters():
            view[...] = tied_g.parameters()[key]
    W = tied_g.parameters()["a.W"]
    untied_g.parameters()["b.W"][...] = W.T if transpose else W
    if not transpose:
        untied_g.parameters()["b.b"][...] = tied_g.parameters()["a.b"]
    return tied_g, untied_g


@pytest.mark.parametrize("transpose", [False, True], ids=["plain", "transposed"])
def test_gradient_of_a_shared_weight_is_the_sum_over_its_uses(transpose: bool) -> None:
    """Tying b to a gives the same J as the untied graph with copied weights, and the gradient of
    the tied a.W is the sum of the untied a.W's and b.W's (b.Wᵀ's when transposed); a.b likewise
    when b shares it, and b.b stays b's own when b shares transposed."""
    tied, untied = tied_and_untied(transpose)
    owned = ["a.W", "a.b", "b.b"] if transpose else ["a.W", "a.b", "c.W", "c.b"]
    assert list(tied.parameters()) == owned
    rng = np.random.default_rng(6)
    X = rng.uniform(0.05, 0.95, (5, 4 if transpose else 3))
    targets: dict[str, Array] = {"a": rng.uniform(-1, 1, (5, 3))}
    if not transpose:
        targets["c"] = rng.integers(0, 2, 5)

    J_tied, J_untied = tied.backward(X, targets), untied.backward(X, targets)

    assert J_tied == pytest.approx(J_untied, rel=1e-14)
    gt, gu = tied.gradients(), untied.gradients()
    uses_of_W = gu["a.W"] + (gu["b.W"].T if transpose else gu["b.W"])
    np.testing.assert_allclose(gt["a.W"], uses_of_W, rtol=1e-12, atol=1e-15)
    assert np.abs(gu["b.W"]).max() > 1e-3 and np.abs(gu["a.W"]).max() > 1e-3  # both uses count
    if transpose:
        np.testing.assert_allclose(gt["a.b"], gu["a.b"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(gt["b.b"], gu["b.b"], rtol=1e-12, atol=1e-15)
    else:
        np.testing.assert_allclose(gt["a.b"], gu["a.b"] + gu["b.b"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(gt["c.W"], gu["c.W"], rtol=1e-12, atol=1e-15)


def test_plain_share_views_the_same_parameters() -> None:
    """A node sharing plainly applies the very W and b of the node it shares: its handle's W and
    b are those views, and it owns no parameters."""
    g = bn.Graph(seed=0)
    x = g.input("x", 3)
    a = g.dense(x, 3, activation="tanh", name="a")
    b = g.dense(a, 3, activation="tanh", name="b", share=a)
    g.output(b, "mse", target=x)
    assert list(g.parameters()) == ["a.W", "a.b"]
    assert np.shares_memory(b.W, a.W) and np.shares_memory(b.b, a.b)
    np.testing.assert_array_equal(b.W, a.W)
    X = np.random.default_rng(0).standard_normal((4, 3))
    W, bias = a.W, a.b
    np.testing.assert_allclose(
        g.forward(X)["b"], np.tanh(np.tanh(X @ W.T + bias) @ W.T + bias), rtol=1e-12
    )


# --- Sequential is a Graph chain --------------------------------------------------------------

CHAINS = [
    (("tanh", "sigmoid"), (8, 1), BCE),
    (("relu", "tanh", "softmax"), (5, 4, 3), SCE),
    (("identity",), (2,), "mse"),
    (("sigmoid", "relu", "identity"), (6, 3, 2), "mse"),
]


@pytest.mark.parametrize(("activations", "units", "loss"), CHAINS)
def test_sequential_equals_the_graph_chain(
    activations: tuple[str, ...], units: tuple[int, ...], loss: str
) -> None:
    """The same seed gives a Sequential and the equivalent Graph chain (nodes named "0", "1", …)
    bit-identical initial weights, forward outputs, J and gradients, train_step results, and
    fit histories and final weights."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((11, 4))
    T = (rng.integers(0, units[-1], 11) if loss == SCE
         else rng.integers(0, 2, (11, units[-1])).astype(float) if loss == BCE
         else rng.standard_normal((11, units[-1])))
    net = bn.Sequential(
        [bn.Dense(u, activation=a) for u, a in zip(units, activations)], input_dim=4, seed=21
    )
    g = bn.Graph(seed=21)
    node: bn.Node = g.input("x", 4)
    for k, (u, a) in enumerate(zip(units, activations)):
        node = g.dense(node, u, activation=a, name=str(k))
    g.output(node, loss)
    last = str(len(units) - 1)

    def same(a: dict[str, Array], b: dict[str, Array]) -> None:
        assert list(a) == list(b)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)

    same(net.parameters(), g.parameters())
    np.testing.assert_array_equal(net.forward(X), g.forward(X)[last])
    assert net.backward(X, T, loss=loss) == g.backward(X, {last: T})
    same(net.gradients(), g.gradients())
    assert net.train_step(X, T, loss, bn.SGD(lr=0.2)) == g.train_step(X, {last: T}, bn.SGD(lr=0.2))
    same(net.parameters(), g.parameters())
    h_net = net.fit(X, T, loss, bn.SGD(lr=0.1), epochs=4, batch_size=3)
    h_g = g.fit(X, {last: T}, bn.SGD(lr=0.1), epochs=4, batch_size=3)
    assert h_net.loss == h_g.loss
    same(net.parameters(), g.parameters())


# --- training ---------------------------------------------------------------------------------


def test_fit_learns_the_two_headed_graph() -> None:
    """The contract graph learns to classify points near a 3-dimensional subspace and, through
    the tied decoder, to reconstruct them: both costs fall by far."""
    X, labels = latent_data()
    g, _ = contract_graph(seed=0)
    g.backward({"x": X}, {"y": labels})
    before = g.output_losses

    history = g.fit({"x": X}, {"y": labels}, bn.SGD(lr=0.1), epochs=100, batch_size=16)

    g.backward({"x": X}, {"y": labels})
    after = g.output_losses
    assert g.history is history and history.epochs == 100
    assert history.loss[-1] < 0.2 * history.loss[0]
    assert after["y"] < 0.05 * before["y"]
    assert after["r"] < 0.15 * before["r"]
    assert np.mean(g.forward({"x": X})["y"].argmax(axis=1) == labels) > 0.97


def test_fit_learns_a_tied_autoencoder_without_targets() -> None:
    """An autoencoder whose only output takes its target from the input trains with
    targets=None, and its reconstruction error falls a lot."""
    X, _ = latent_data(seed=1)
    g = bn.Graph(seed=2)
    x = g.input("x", 10)
    h = g.dense(x, 3, activation="identity", name="code")
    g.output(g.dense(h, 10, name="recon", share=h, transpose=True), "mse", target=x)
    first = g.backward({"x": X})
    history = g.fit({"x": X}, None, bn.SGD(lr=0.05), epochs=60, batch_size=10)
    assert history.loss[-1] < 0.05 * history.loss[0]
    assert g.backward({"x": X}) < 0.05 * first


def test_fit_is_deterministic_for_equal_seeds() -> None:
    """Two graphs of the same seed fit alike, bit for bit; another graph seed gives other
    initial weights, and another shuffling seed another history."""
    X, labels = latent_data(n=60)
    runs = []
    for graph_seed, fit_seed in ((3, None), (3, None), (4, None), (3, 9)):
        g, _ = contract_graph(seed=graph_seed)
        initial = snapshot(g)
        history = g.fit({"x": X}, {"y": labels}, bn.SGD(lr=0.1), epochs=5, batch_size=8,
                        seed=fit_seed)
        runs.append((initial, history.loss, snapshot(g)))
    (i0, l0, p0), (i1, l1, p1), (i2, l2, _), (i3, l3, _) = runs
    assert l0 == l1
    for key in p0:
        np.testing.assert_array_equal(i0[key], i1[key])
        np.testing.assert_array_equal(p0[key], p1[key])
    assert not np.array_equal(i0["h.W"], i2["h.W"]) and l2 != l0
    for key in i0:
        np.testing.assert_array_equal(i0[key], i3[key])
    assert l3 != l0


def test_fit_without_shuffling_is_a_loop_of_train_steps() -> None:
    """fit(shuffle=False) takes consecutive batches, the last one smaller, and records each
    epoch's batch losses weighted by batch size: a train_step loop does the same."""
    X, labels = latent_data(n=10)
    a, _ = contract_graph(seed=1)
    b, _ = contract_graph(seed=1)
    history = a.fit({"x": X}, {"y": labels}, bn.SGD(lr=0.1), epochs=2, batch_size=4,
                    shuffle=False)
    expected = []
    for _ in range(2):
        total = 0.0
        for first in range(0, 10, 4):
            part = slice(first, first + 4)
            total += b.train_step({"x": X[part]}, {"y": labels[part]}, bn.SGD(lr=0.1)) * len(
                X[part]
            )
        expected.append(total / 10)
    assert history.loss == pytest.approx(expected, rel=1e-12)
    for key, value in a.parameters().items():
        np.testing.assert_allclose(value, b.parameters()[key], rtol=1e-12, atol=1e-14)


def test_train_step_with_shared_weights_is_backward_then_update() -> None:
    """On a graph with tied weights, train_step(SGD(lr)) returns the J of backward before the
    step and leaves θ − lr·∇J, the gradient of the tied block summed over its uses."""
    X, labels = contract_data(n=8)
    stepped, _ = contract_graph(seed=5)
    manual, _ = contract_graph(seed=5)

    J_manual = manual.backward({"x": X}, {"y": labels})
    expected = {
        key: value - 0.3 * manual.gradients()[key] for key, value in manual.parameters().items()
    }
    J_step = stepped.train_step({"x": X}, {"y": labels}, bn.SGD(lr=0.3))

    assert J_step == J_manual
    for key, value in stepped.parameters().items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-14, atol=1e-16, err_msg=key)
        assert not np.array_equal(value, manual.parameters()[key]), key  # each block moved


def test_train_step_without_shared_weights_is_backward_then_update() -> None:
    """A graph without sharing (two inputs, fan-out, an output read by another node) folds the
    SGD update into its backward products; the result is still θ − lr·∇J."""
    rng = np.random.default_rng(7)
    graphs = []
    for _ in range(2):
        g = bn.Graph(seed=6)
        u, v = g.input("u", 3), g.input("v", 2)
        h = g.dense([u, v], 4, activation="tanh", name="h")
        p = g.dense(h, 2, activation="softmax", name="p")
        q = g.dense([h, p, v], 2, activation="sigmoid", name="q")
        g.output(p, SCE, weight=0.7)
        g.output(q, BCE, weight=1.4)
        graphs.append(g)
    stepped, manual = graphs
    inputs = {"u": rng.standard_normal((6, 3)), "v": rng.standard_normal((6, 2))}
    targets = {"p": rng.integers(0, 2, 6), "q": rng.integers(0, 2, (6, 2)).astype(float)}

    J_manual = manual.backward(inputs, targets)
    expected = {
        key: value - 0.5 * manual.gradients()[key] for key, value in manual.parameters().items()
    }
    J_step = stepped.train_step(inputs, targets, bn.SGD(lr=0.5))

    assert J_step == pytest.approx(J_manual, rel=1e-14)
    for key, value in stepped.parameters().items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-12, atol=1e-14, err_msg=key)
        assert not np.array_equal(value, manual.parameters()[key]), key


def test_float32_graph_is_close_to_float64() -> None:
    """The contract graph in float32, given the float64 graph's weights rounded to float32,
    computes the same outputs, J and gradients to single precision, in float32."""
    g64, _ = contract_graph("float64", seed=0)
    g32, _ = contract_graph("float32", seed=0)
    for key, view in g64.parameters().items():
        view[...] = view.astype(np.float32)
        g32.parameters()[key][...] = view
    X, labels = contract_data(n=8)
    X = X.astype(np.float32)

    outs32, outs64 = g32.forward({"x": X}), g64.forward({"x": X.astype(np.float64)})
    for name in outs64:
        assert outs32[name].dtype == np.float32
        np.testing.assert_allclose(outs32[name], outs64[name], rtol=1e-4, atol=1e-5)
    J32 = g32.backward({"x": X}, {"y": labels})
    J64 = g64.backward({"x": X.astype(np.float64)}, {"y": labels})
    assert J32 == pytest.approx(J64, rel=1e-5)
    for key, grad in g32.gradients().items():
        assert grad.dtype == np.float32
        g = g64.gradients()[key]
        assert np.abs(grad - g).max() <= 1e-4 * np.abs(g).max(), key


# --- what the calls accept --------------------------------------------------------------------


def two_input_graph(seed: int = 0) -> bn.Graph:
    """u(3), v(2) → h = tanh([u; v]) → y softmax (labels) and r reconstructing u."""
    g = bn.Graph(seed=seed)
    u, v = g.input("u", 3), g.input("v", 2)
    h = g.dense([u, v], 4, activation="tanh", name="h")
    g.output(g.dense(h, 3, activation="softmax", name="y"), SCE)
    g.output(g.dense(h, 3, activation="identity", name="r"), "mse", target=u, weight=0.5)
    return g


def canonical_data() -> tuple[dict[str, Array], dict[str, Array]]:
    rng = np.random.default_rng(11)
    # Multiples of 1/8: float32 holds them exactly, so every variant has the same values.
    U = np.round(8 * rng.standard_normal((5, 3))) / 8
    V = np.round(8 * rng.standard_normal((5, 2))) / 8
    return {"u": U, "v": V}, {"y": np.array([0, 2, 1, 1, 0])}


def converted_variants(inputs: dict[str, Array]) -> dict[str, dict[str, Any]]:
    """The same values as lists, as other dtypes, and in layouts BLAS cannot read directly or
    reads in place (strided rows)."""
    U, V = inputs["u"], inputs["v"]
    wide = np.zeros((5, 7))
    wide[:, 2:5] = U
    spaced = np.zeros((10, 3))
    spaced[::2] = U
    # Layouts read in place (rows evenly spaced: column_slice, every_other_row, sequence_step)
    # or converted once (lists, Fortran order, negative strides, other dtypes).
    return {
        "lists": {"u": U.tolist(), "v": V.tolist()},
        "fortran": {"u": np.asfortranarray(U), "v": np.asfortranarray(V)},
        "reversed_rows": {"u": U[::-1].copy()[::-1], "v": V[::-1].copy()[::-1]},
        "column_slice": {"u": wide[:, 2:5], "v": V},
        "every_other_row": {"u": spaced[::2], "v": V},
        "sequence_step": {"u": np.stack([np.zeros_like(U), U, np.ones_like(U)], axis=1)[:, 1, :],
                          "v": V},
        "float32": {"u": U.astype(np.float32), "v": V.astype(np.float32)},
        "int": {"u": np.array([[1, 2, 3]] * 5), "v": np.array([[0, -1]] * 5)},
        "read_only": {"u": _read_only(U), "v": _read_only(V)},
    }


def _read_only(a: Array) -> Array:
    b = a.copy()
    b.flags.writeable = False
    return b


@pytest.mark.parametrize("variant", list(converted_variants(canonical_data()[0])))
def test_inputs_of_any_layout_and_dtype_are_converted(variant: str) -> None:
    """Lists, other dtypes and non-contiguous arrays give the results of the canonical float64
    array of the same values, in forward, backward and fit; the caller's arrays are untouched."""
    inputs, targets = canonical_data()
    given = converted_variants(inputs)[variant]
    if variant == "int":
        inputs = {key: np.asarray(value, dtype=np.float64) for key, value in given.items()}
    copies = {key: np.array(value, copy=True) for key, value in given.items()}
    a, b = two_input_graph(), two_input_graph()

    want, got = a.forward(inputs), b.forward(given)
    for name in want:
        assert got[name].dtype == np.float64
        np.testing.assert_allclose(got[name], want[name], rtol=1e-14, atol=1e-15)
    assert b.backward(given, targets) == pytest.approx(a.backward(inputs, targets), rel=1e-14)
    for key, grad in a.gradients().items():
        np.testing.assert_allclose(b.gradients()[key], grad, rtol=1e-12, atol=1e-15)
    ha = a.fit(inputs, targets, bn.SGD(lr=0.1), epochs=3, batch_size=2)
    hb = b.fit(given, targets, bn.SGD(lr=0.1), epochs=3, batch_size=2)
    assert hb.loss == pytest.approx(ha.loss, rel=1e-12)
    for key, value in given.items():
        np.testing.assert_array_equal(np.asarray(value), copies[key])


@pytest.mark.parametrize(
    "labels",
    [
        [0, 2, 1, 1, 0],
        np.array([0, 2, 1, 1, 0], dtype=np.int32),
        np.array([0, 2, 1, 1, 0])[::-1][::-1],
        np.eye(3)[[0, 2, 1, 1, 0]].tolist(),
        np.eye(3, dtype=np.float32)[[0, 2, 1, 1, 0]],
    ],
    ids=["list", "int32", "view", "one_hot_list", "one_hot_float32"],
)
def test_targets_of_any_form_are_converted(labels: Any) -> None:
    """Class labels as a list or int32, and one-hot rows as lists or float32, give the J of
    int64 labels."""
    inputs, targets = canonical_data()
    a, b = two_input_graph(), two_input_graph()
    J = a.backward(inputs, targets)
    assert b.backward(inputs, {"y": labels}) == pytest.approx(J, rel=1e-14)


def test_node_handles_are_accepted_as_keys_and_references() -> None:
    """Node handles work wherever names do: input and target keys, what a node reads, share,
    output and target, giving the results of the names."""
    rng = np.random.default_rng(12)
    X = rng.standard_normal((4, 3))
    T = rng.standard_normal((4, 2))
    results = []
    for use_handles in (True, False):
        g = bn.Graph(seed=1)
        x = g.input("x", 3)
        h = g.dense(x if use_handles else "x", 2, activation="tanh", name="h")
        r = g.dense(h if use_handles else "h", 3, name="r", share=h if use_handles else "h",
                    transpose=True)
        g.output(h if use_handles else "h", "mse")
        g.output(r if use_handles else "r", "mse", target=x if use_handles else "x")
        keys = (x, h) if use_handles else ("x", "h")
        outs = g.forward({keys[0]: X})
        J = g.backward({keys[0]: X}, {keys[1]: T})
        results.append((outs, J, {key: value.copy() for key, value in g.gradients().items()}))
    (outs_h, J_h, grads_h), (outs_n, J_n, grads_n) = results
    assert J_h == J_n
    for name in outs_n:
        np.testing.assert_array_equal(outs_h[name], outs_n[name])
    for key in grads_n:
        np.testing.assert_array_equal(grads_h[key], grads_n[key])


def test_a_single_input_takes_a_bare_array() -> None:
    """With one input, the array alone will do, as in Sequential."""
    g, _ = contract_graph()
    X, labels = contract_data()
    np.testing.assert_array_equal(g.forward(X)["y"], g.forward({"x": X})["y"])
    assert g.backward(X, {"y": labels}) == g.backward({"x": X}, {"y": labels})


def test_forward_returns_fresh_arrays() -> None:
    """The outputs belong to the caller: a later call does not overwrite them."""
    g, _ = contract_graph()
    X, labels = contract_data()
    first = g.forward({"x": X})
    kept = {name: out.copy() for name, out in first.items()}
    second = g.forward({"x": 2 * X})
    g.backward({"x": -X}, {"y": labels})
    for name, out in first.items():
        np.testing.assert_array_equal(out, kept[name])
        assert not np.shares_memory(out, second[name])
        assert not np.allclose(out, second[name])


def test_parameter_views_outlive_the_graph() -> None:
    """Views of the parameters keep the graph's buffers alive after the graph is dropped."""
    g, _ = contract_graph(seed=3)
    params, values = g.parameters(), snapshot(g)
    del g
    gc.collect()
    for key, view in params.items():
        np.testing.assert_array_equal(view, values[key])


def test_step_node_computes_forward_but_cannot_train() -> None:
    """A step unit works forward (y = 1 where z ≥ 0) and is refused by backward, named."""
    g = bn.Graph(seed=0)
    x = g.input("x", 2)
    p = g.dense(x, 1, activation="step", name="perceptron")
    g.output(p, "mse")
    p.W[...] = [[1.0, -1.0]]
    X = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 1.0]])
    np.testing.assert_array_equal(g.forward(X)["perceptron"], [[1.0], [0.0], [1.0]])
    assert_rejected(g, lambda: g.backward(X, {"perceptron": np.ones((3, 1))}),
                    "'perceptron' uses activation 'step', which has no gradient")


# --- built graphs are frozen ------------------------------------------------------------------

FIRST_USES: dict[str, Callable[[bn.Graph], object]] = {
    "build": lambda g: g.build(),
    "forward": lambda g: g.forward(contract_data()[0]),
    "backward": lambda g: g.backward(contract_data()[0], {"y": contract_data()[1]}),
    "parameters": lambda g: g.parameters(),
    "nodes": lambda g: g.nodes,
}

CHANGES: dict[str, Callable[[bn.Graph, dict[str, bn.Node]], object]] = {
    "input": lambda g, n: g.input("z", 2),
    "dense": lambda g, n: g.dense(n["h"], 2, name="extra"),
    "output": lambda g, n: g.output(n["k"], "mse"),
}


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("first_use", FIRST_USES)
def test_a_built_graph_cannot_change(first_use: str, change: str) -> None:
    """After its first use the graph is built; any later declaration is a ValueError that
    says so, and the graph goes on computing exactly what it did."""
    g, nodes = contract_graph()
    X, labels = contract_data()
    FIRST_USES[first_use](g)
    before = snapshot(g)
    J = g.backward({"x": X}, {"y": labels})
    with pytest.raises(ValueError, match="the graph is built .* and cannot change"):
        CHANGES[change](g, nodes)
    assert_same_parameters(g, before)
    assert g.outputs == ["y", "r"] and g.inputs == {"x": 10}
    assert g.backward({"x": X}, {"y": labels}) == J


# --- errors: declaring ------------------------------------------------------------------------


def declared(build: Callable[[bn.Graph], None]) -> bn.Graph:
    g = bn.Graph(seed=0)
    build(g)
    return g


def _cycle(g: bn.Graph) -> None:
    g.input("x", 3)
    g.dense(["x", "c"], 2, name="a")
    g.dense("a", 2, name="b")
    g.dense("b", 2, name="c")
    g.dense("c", 1, name="y")
    g.output("y", "mse")


def _self_loop(g: bn.Graph) -> None:
    g.input("x", 3)
    g.dense(["x", "a"], 2, name="a")
    g.output("a", "mse")


def _unknown_source(g: bn.Graph) -> None:
    g.dense(g.input("x", 3), 2, name="h")
    g.output(g.dense(["h", "hh"], 2, name="y"), "mse")


def _unknown_share(g: bn.Graph) -> None:
    h = g.dense(g.input("x", 3), 2, name="h")
    g.output(g.dense(h, 2, name="k", share="hh"), "mse")


def _share_an_input(g: bn.Graph) -> None:
    x = g.input("x", 3)
    g.output(g.dense(x, 3, name="k", share=x), "mse")


def _unknown_output(g: bn.Graph) -> None:
    g.output(g.dense(g.input("x", 3), 2, name="h"), "mse")
    g.output("hh", "mse")


def _output_an_input(g: bn.Graph) -> None:
    x = g.input("x", 3)
    g.output(g.dense(x, 2, name="h"), "mse")
    g.output(x, "mse")


def _unknown_target(g: bn.Graph) -> None:
    g.output(g.dense(g.input("x", 3), 3, name="h"), "mse", target="xx")


def _target_a_node(g: bn.Graph) -> None:
    h = g.dense(g.input("x", 3), 3, name="h")
    g.output(g.dense(h, 3, name="k"), "mse", target=h)


def _target_width(g: bn.Graph) -> None:
    x = g.input("x", 3)
    g.output(g.dense(x, 2, name="h"), "mse", target=x)


def _share_shape(g: bn.Graph) -> None:
    x = g.input("x", 3)
    h = g.dense(x, 2, name="h")
    g.output(h, "mse")
    g.output(g.dense(x, 4, name="k", share=h), "mse")


def _share_transposed_shape(g: bn.Graph) -> None:
    x = g.input("x", 3)
    h = g.dense(x, 2, name="h")
    g.output(g.dense(h, 2, name="r", share=h, transpose=True), "mse")


def _share_itself(g: bn.Graph) -> None:
    g.output(g.dense(g.input("x", 3), 3, name="h", share="h"), "mse")


def _share_cycle(g: bn.Graph) -> None:
    x = g.input("x", 3)
    a = g.dense(x, 3, name="a", share="b")
    g.output(g.dense(a, 3, name="b", share=a), "mse")


def _feeds_no_output(g: bn.Graph) -> None:
    x = g.input("x", 3)
    g.dense(x, 2, name="lonely")
    g.output(g.dense(x, 2, name="h"), "mse")


def _feeds_only_a_dead_end(g: bn.Graph) -> None:
    x = g.input("x", 3)
    d = g.dense(x, 2, name="deep")
    g.dense(d, 2, name="end")
    g.output(g.dense(x, 2, name="h"), "mse")


def _unused_input(g: bn.Graph) -> None:
    x = g.input("x", 3)
    g.input("spare", 2)
    g.output(g.dense(x, 2, name="h"), "mse")


def _cross_entropy_on_identity(g: bn.Graph) -> None:
    g.output(g.dense(g.input("x", 3), 2, name="logits"), BCE)


def _no_outputs(g: bn.Graph) -> None:
    g.dense(g.input("x", 3), 2, name="h")


def _no_nodes(g: bn.Graph) -> None:
    g.input("x", 3)


BUILD_ERRORS = {
    "cycle": (_cycle, "the nodes form a cycle, "),
    "self_loop": (_self_loop, "the nodes form a cycle, a -> a"),
    "unknown_source": (
        _unknown_source, "node 'y' reads 'hh', which is neither an input nor a node"
    ),
    "unknown_share": (_unknown_share, "node 'k' shares the weights of 'hh', which is not a node"),
    "share_an_input": (_share_an_input, "node 'k' shares the weights of 'x', which is not a node"),
    "unknown_output": (_unknown_output, "output 'hh' names no node"),
    "output_an_input": (_output_an_input, "output 'x' is an input, not a node"),
    "unknown_target": (
        _unknown_target, "output 'h' takes its target from 'xx', which is not an input"
    ),
    "target_a_node": (
        _target_a_node, "output 'k' takes its target from 'h', which is not an input"
    ),
    "target_width": (
        _target_width, "output 'h' has 2 units but its target input 'x' has 3 features"
    ),
    "share_shape": (
        _share_shape,
        "node 'k' shares the weights of 'h': it needs W of shape (4, 3), but h.W is (2, 3)",
    ),
    "share_transposed_shape": (
        _share_transposed_shape,
        "node 'r' shares the weights of 'h' transposed: it needs W of shape (2, 2), "
        "but h.Wᵀ is (3, 2)",
    ),
    "share_itself": (_share_itself, "node 'h' shares its own weights"),
    "share_cycle": (_share_cycle, "is part of a cycle of shares"),
    "feeds_no_output": (_feeds_no_output, "node 'lonely' feeds no output"),
    "feeds_only_a_dead_end": (_feeds_only_a_dead_end, "node 'end' feeds no output"),
    "unused_input": (_unused_input, "input 'spare' is not used by any node"),
    "cross_entropy_on_identity": (
        _cross_entropy_on_identity,
        "output 'logits': loss 'binary_cross_entropy' takes log y and needs outputs in (0, 1)",
    ),
    "no_outputs": (_no_outputs, "needs at least one output"),
    "no_nodes": (_no_nodes, "needs at least one node"),
}


@pytest.mark.parametrize("first_use", ["build", "forward", "parameters"])
@pytest.mark.parametrize("case", BUILD_ERRORS)
def test_invalid_graph_is_refused_when_built(case: str, first_use: str) -> None:
    """Whatever first builds the graph raises a ValueError naming the problem and the
    offending names."""
    declare, message = BUILD_ERRORS[case]
    g = declared(declare)
    calls: dict[str, Callable[[], object]] = {
        "build": g.build,
        "forward": lambda: g.forward({name: np.zeros((2, dim)) for name, dim in g.inputs.items()}),
        "parameters": g.parameters,
    }
    with pytest.raises(ValueError, match=re.escape(message)):
        calls[first_use]()


@pytest.mark.parametrize("length", [1, 2, 3, 4])
def test_cycle_lists_its_nodes(length: int) -> None:
    """A loop of any length is named node by node in data-flow order, closing on its first node;
    nodes outside the loop (the input, the output y, a node before the loop) are not listed."""
    g = bn.Graph()
    x = g.input("x", 2)
    before = g.dense(x, 2, name="before")
    loop = [f"c{i}" for i in range(length)]
    for i, name in enumerate(loop):
        reads: list[Any] = [loop[i - 1]] if i > 0 else [before, loop[-1]]
        g.dense(reads, 2, name=name)
    g.output(g.dense(loop[-1], 1, name="y"), "mse")
    with pytest.raises(ValueError, match="the nodes form a cycle, ") as info:
        g.build()
    listed = str(info.value).split("cycle, ")[1].split(";")[0].split(" -> ")
    assert listed[0] == listed[-1] and sorted(listed[:-1]) == loop
    start = loop.index(listed[0])
    assert listed[:-1] == loop[start:] + loop[:start]  # each node reads the one before it


# The graph is typed Any: the calls pass wrong types on purpose.
Declare = Callable[[Any, bn.Node, bn.Node], object]
DECLARE_ERRORS: dict[str, tuple[Declare, type[Exception], str]] = {
    "duplicate_input": (lambda g, x, h: g.input("x", 2), ValueError, "duplicate name 'x'"),
    "node_named_like_input": (
        lambda g, x, h: g.dense(x, 2, name="x"), ValueError, "duplicate name 'x'"
    ),
    "duplicate_node": (lambda g, x, h: g.dense(x, 2, name="h"), ValueError, "duplicate name 'h'"),
    "input_named_like_node": (lambda g, x, h: g.input("h", 2), ValueError, "duplicate name 'h'"),
    "unknown_activation": (
        lambda g, x, h: g.dense(x, 2, activation="swish"),
        ValueError,
        f"unknown activation 'swish'; valid: {', '.join(bn.ACTIVATIONS)}",
    ),
    "unknown_loss": (
        lambda g, x, h: g.output("z", "hinge"),
        ValueError,
        f"unknown loss 'hinge'; valid losses: {', '.join(bn.LOSSES)}",
    ),
    "transpose_without_share": (
        lambda g, x, h: g.dense(h, 3, name="r", transpose=True),
        ValueError,
        "transpose=True needs share=",
    ),
    "output_twice": (
        lambda g, x, h: g.output("h", "mse"), ValueError, "node 'h' is an output already"
    ),
    "weight_zero": (lambda g, x, h: g.output("z", "mse", weight=0.0), ValueError,
                    "output 'z': weight must be positive and finite, got 0.0"),
    "weight_negative": (lambda g, x, h: g.output("z", "mse", weight=-1),
                        ValueError, "output 'z': weight must be positive and finite, got -1"),
    "weight_nan": (lambda g, x, h: g.output("z", "mse", weight=float("nan")),
                   ValueError, "output 'z': weight must be positive and finite, got nan"),
    "weight_inf": (lambda g, x, h: g.output("z", "mse", weight=float("inf")),
                   ValueError, "output 'z': weight must be positive and finite, got inf"),
    "no_sources": (lambda g, x, h: g.dense([], 2), ValueError, "dense needs at least one input"),
    "zero_units": (lambda g, x, h: g.dense(x, 0), ValueError, "units must be at least 1, got 0"),
    "zero_dim": (
        lambda g, x, h: g.input("w", 0), ValueError, "input 'w' dim must be at least 1, got 0"
    ),
    "name_not_str": (
        lambda g, x, h: g.input(3, 2), TypeError, "a name must be a non-empty string, got 3"
    ),
    "empty_name": (
        lambda g, x, h: g.dense(x, 2, name=""), TypeError, "a name must be a non-empty string"
    ),
    "dim_not_int": (
        lambda g, x, h: g.input("w", 2.5), TypeError, "input 'w' dim must be an integer, got float"
    ),
    "units_not_int": (
        lambda g, x, h: g.dense(x, "2"), TypeError, "units must be an integer, got str"
    ),
    "source_not_a_name": (lambda g, x, h: g.dense([x, 4], 2), TypeError,
                          "an input of dense must be a Node or a non-empty name, got 4"),
    "source_alone_not_a_name": (lambda g, x, h: g.dense(4, 2), TypeError,
                                "an input of dense must be a Node or a non-empty name, got 4"),
    "share_not_a_name": (lambda g, x, h: g.dense(x, 2, share=1.5), TypeError,
                         "share must be a Node or a non-empty name, got 1.5"),
    "output_not_a_name": (lambda g, x, h: g.output(None, "mse"), TypeError,
                          "output must be a Node or a non-empty name, got None"),
    "target_not_a_name": (lambda g, x, h: g.output("z", "mse", target=0),
                          TypeError, "target must be a Node or a non-empty name, got 0"),
}


@pytest.mark.parametrize("case", DECLARE_ERRORS)
def test_invalid_declaration_is_refused_at_once(case: str) -> None:
    """Declarations wrong in themselves are refused when made, naming the culprit; the graph
    is left as it was and, completed, still builds."""
    g = bn.Graph(seed=0)
    x = g.input("x", 3)
    h = g.dense(x, 2, activation="tanh", name="h")
    g.output(h, "mse")
    g.dense(h, 3, activation="sigmoid", name="z")  # its output is declared last
    call, exception, message = DECLARE_ERRORS[case]
    with pytest.raises(exception, match=re.escape(message)):
        call(g, x, h)
    assert g.inputs == {"x": 3} and g.outputs == ["h"]
    g.output("z", BCE)
    assert list(g.build().parameters()) == ["h.W", "h.b", "z.W", "z.b"]


@pytest.mark.parametrize(("dtype", "seed", "exception", "message"), [
    ("int32", 0, ValueError, "dtype must be one of ('float32', 'float64'), got 'int32'"),
    ("float64", -1, ValueError, "seed must be at least 0, got -1"),
    ("float64", 1.5, TypeError, "seed must be an integer, got float"),
])
def test_bad_graph_arguments(
    dtype: str, seed: Any, exception: type[Exception], message: str
) -> None:
    with pytest.raises(exception, match=re.escape(message)):
        bn.Graph(dtype=dtype, seed=seed)


# --- errors: calling --------------------------------------------------------------------------


def assert_rejected(
    g: bn.Graph,
    call: Callable[[], object],
    message: str | tuple[str, ...],
    exception: type[Exception] = ValueError,
) -> None:
    """``call`` raises with ``message`` (a literal fragment, or several, in any order) in its
    message and leaves every parameter and the history as they were."""
    fragments = (message,) if isinstance(message, str) else message
    pattern = "(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments)
    before, history = snapshot(g), g.history
    with pytest.raises(exception, match=pattern):
        call()
    assert_same_parameters(g, before)
    assert g.history is history


def _with(inputs: dict[str, Array], name: str, value: Any) -> dict[str, Any]:
    changed: dict[str, Any] = dict(inputs)
    changed[name] = value
    return changed


def _nan_at(a: Array, index: tuple[int, int]) -> Array:
    b = a.copy()
    b[index] = np.nan
    return b


INPUTS, TARGETS = canonical_data()
# (inputs, targets, message) that forward (inputs only), backward, train_step and fit refuse.
INPUT_ERRORS: dict[str, tuple[Any, str | tuple[str, ...]]] = {
    "missing_input": ({"u": INPUTS["u"]}, "missing input array for 'v'"),
    "unknown_input": (
        _with(INPUTS, "w", INPUTS["v"]), "unknown input 'w'; the inputs are ['u', 'v']"
    ),
    "sample_counts": (
        _with(INPUTS, "v", INPUTS["v"][:4]), "input 'v' has 4 samples, input 'u' has 5"
    ),
    "nan": (
        _with(INPUTS, "v", _nan_at(INPUTS["v"], (2, 1))),
        ("input 'v'", "contain NaN or Inf (sample 2, feature 1)"),
    ),
    "inf_in_target_input": (
        _with(INPUTS, "u", np.where(np.arange(15).reshape(5, 3) == 7, np.inf, INPUTS["u"])),
        ("input 'u'", "contain NaN or Inf (sample 2, feature 1)"),
    ),
    "feature_count": (
        _with(INPUTS, "v", np.zeros((5, 3))),
        "input 'v' has 3 features per sample, the network expects 2",
    ),
    "one_dimensional": (
        _with(INPUTS, "v", np.zeros(5)), "input 'v' must be 2-D (n_samples, n_features)"
    ),
    "not_numeric": (_with(INPUTS, "v", [["a", "b"]] * 5), "input 'v' must be numeric"),
    "empty": ({"u": np.zeros((0, 3)), "v": np.zeros((0, 2))}, "empty batch"),
    "bare_array": (INPUTS["u"], "the graph has inputs ['u', 'v']: pass a dict of arrays by name"),
}

TARGET_ERRORS: dict[str, tuple[Any, str]] = {
    "no_targets": (None, "output 'y' has no targets: pass targets['y']"),
    "missing_targets": ({}, "output 'y' has no targets: pass targets['y']"),
    "targets_for_a_target_from_input": (
        {"y": TARGETS["y"], "r": np.zeros((5, 3))},
        "output 'r' takes its targets from input 'u'; do not pass any",
    ),
    "targets_for_a_non_output": (
        {"y": TARGETS["y"], "h": np.zeros((5, 4))},
        "targets for 'h', which is not an output; outputs: ['y', 'r']",
    ),
    "targets_for_an_unknown_name": (
        {"y": TARGETS["y"], "yy": TARGETS["y"]}, "targets for 'yy', which is not an output"
    ),
    "label_out_of_range": (
        {"y": np.array([0, 1, 3, 0, 1])},
        f"output 'y': targets for loss '{SCE}': class label 3 of sample 2 is outside [0, 3)",
    ),
    "target_shape": (
        {"y": np.zeros((5, 2))},
        f"output 'y': targets for loss '{SCE}': expected shape (5, 3), got (5, 2)",
    ),
    "target_samples": (
        {"y": np.array([0, 1, 2, 0])},
        f"output 'y': targets for loss '{SCE}': 4 labels for 5 samples",
    ),
    "target_nan": (
        {"y": np.full((5, 3), np.nan)}, f"output 'y': targets for loss '{SCE}' contain NaN or Inf"
    ),
}

CALLS: dict[str, Callable[[bn.Graph, Any, Any], object]] = {
    "forward": lambda g, X, T: g.forward(X),
    "backward": lambda g, X, T: g.backward(X, T),
    "train_step": lambda g, X, T: g.train_step(X, T, bn.SGD(lr=0.5)),
    "fit": lambda g, X, T: g.fit(X, T, bn.SGD(lr=0.5), epochs=2, batch_size=1),
}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("case", INPUT_ERRORS)
def test_bad_inputs_are_refused(case: str, call: str) -> None:
    """Every call refuses bad input arrays with a ValueError naming the input, before any
    change to the parameters."""
    g = two_input_graph()
    inputs, message = INPUT_ERRORS[case]
    assert_rejected(g, lambda: CALLS[call](g, inputs, TARGETS), message)


@pytest.mark.parametrize("call", ["backward", "train_step", "fit"])
@pytest.mark.parametrize("case", TARGET_ERRORS)
def test_bad_targets_are_refused(case: str, call: str) -> None:
    """Training calls refuse missing, surplus and malformed targets, naming the output."""
    g = two_input_graph()
    targets, message = TARGET_ERRORS[case]
    assert_rejected(g, lambda: CALLS[call](g, INPUTS, targets), message)


@pytest.mark.parametrize("call", ["backward", "train_step", "fit"])
def test_targets_must_be_a_mapping(call: str) -> None:
    """Targets as a list (the order of the outputs is not the user's to know) are a type error
    that says what to pass, not a complaint from dict()."""
    g = two_input_graph()
    assert_rejected(
        g, lambda: CALLS[call](g, INPUTS, [TARGETS["y"]]), "targets", TypeError
    )


@pytest.mark.parametrize("call", CALLS)
def test_key_of_wrong_type(call: str) -> None:
    g = two_input_graph()
    assert_rejected(
        g,
        lambda: CALLS[call](g, {1: INPUTS["u"], "v": INPUTS["v"]}, TARGETS),
        "an input key must be a Node or a non-empty name, got 1",
        TypeError,
    )


@pytest.mark.parametrize("call", ["backward", "train_step", "fit"])
@pytest.mark.parametrize(
    ("loss", "activation", "bad", "message"),
    [
        (BCE, "sigmoid", 1.5, "value 1.500000 (sample 2) is outside [0, 1]"),
        (SCE, "softmax", -0.5, "value -0.500000 (sample 2) is outside [0, ∞)"),
    ],
    ids=["bce", "sce"],
)
def test_targets_taken_from_an_input_are_checked_naming_the_output(
    call: str, loss: str, activation: str, bad: float, message: str
) -> None:
    """An input that is the target of a cross-entropy output must hold values that loss takes;
    in a graph of several outputs the message says which output (as for passed targets)."""
    g = bn.Graph(seed=0)
    x, u = g.input("x", 3), g.input("u", 2)
    h = g.dense([x, u], 3, activation=activation, name="recon")
    g.output(h, loss, target=x)
    g.output(g.dense(h, 2, activation="softmax", name="y"), SCE)
    X = np.full((4, 3), 0.25)
    X[2, 1] = bad
    inputs, targets = {"x": X, "u": np.zeros((4, 2))}, {"y": np.array([0, 1, 0, 1])}
    assert_rejected(g, lambda: CALLS[call](g, inputs, targets), ("output 'recon'", message))


def test_fit_checks_every_sample_before_the_first_step() -> None:
    """A NaN in the last sample of an input stops fit before any step, even with one-sample
    batches; so does a bad label in the last sample."""
    g = two_input_graph()
    bad_v = _nan_at(INPUTS["v"], (4, 0))
    assert_rejected(
        g,
        lambda: g.fit(_with(INPUTS, "v", bad_v), TARGETS, bn.SGD(lr=0.5), epochs=3, batch_size=1),
        "(sample 4, feature 0)",
    )
    assert_rejected(
        g,
        lambda: g.fit(INPUTS, {"y": np.array([0, 1, 2, 0, 7])}, bn.SGD(lr=0.5), batch_size=1),
        "class label 7 of sample 4",
    )
    assert g.history is None


def test_graph_works_after_refused_calls() -> None:
    """After a run of refused calls the graph computes exactly what a fresh one does."""
    g, fresh = two_input_graph(), two_input_graph()
    for inputs, _ in INPUT_ERRORS.values():
        with pytest.raises(ValueError):
            g.train_step(inputs, TARGETS, bn.SGD(lr=0.5))
    for targets, _ in TARGET_ERRORS.values():
        with pytest.raises(ValueError):
            g.fit(INPUTS, targets, bn.SGD(lr=0.5))
    assert g.backward(INPUTS, TARGETS) == fresh.backward(INPUTS, TARGETS)
    for key, grad in fresh.gradients().items():
        np.testing.assert_array_equal(g.gradients()[key], grad, err_msg=key)


def test_weights_of_an_input_are_refused() -> None:
    """Only dense nodes have W and b."""
    g, nodes = contract_graph()
    with pytest.raises(ValueError, match="'x' is an input; only dense nodes have weights"):
        nodes["x"].W  # noqa: B018
    with pytest.raises(ValueError, match="'x' is an input; only dense nodes have a bias"):
        nodes["x"].b  # noqa: B018


def test_float32_graph_refuses_values_beyond_its_range() -> None:
    """A finite float64 input too large for a float32 graph is named as out of range."""
    g, _ = contract_graph("float32")
    X, labels = contract_data()
    X[1, 1] = 1e300
    assert_rejected(g, lambda: g.backward({"x": X}, {"y": labels}),
                    "X has values outside the range of float32")
