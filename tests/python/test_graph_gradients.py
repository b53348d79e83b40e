"""Central-difference checks of bn.Graph's and bn.RNN's backpropagation, in double precision.

Every entry of every parameter is perturbed through the writable ``parameters()`` views and
J = Σ_i weight_i·J_i is re-evaluated by ``backward``; the slope (J(θ + h) − J(θ − h)) / 2h must
match what ``gradients()`` reports. A shared block is one set of entries, so its slope is the
derivative through every use, and the check covers "the gradient of a shared W is the sum over
its uses" without assuming it. Tolerances are those of test_gradients.py: h = 1e-5, and

    |analytic − numeric| / max(|analytic|, |numeric|, 1e-3) < 1e-6.

The graphs are the issue's contract graph, a few hand-made corner cases, and random DAGs from a
seeded generator (fan-out, multi-input nodes, plain, transposed and chained sharing, outputs
that feed other nodes, targets taken from inputs); the RNN is checked unrolled over several
lengths with a head on the last step or on every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from blasnet import reference as ref

import blasnet as bn

Array = np.ndarray[Any, Any]

STEP = 1e-5
RTOL = 1e-6
FLOOR = 1e-3
# relu's kink must be farther than a perturbation moves a pre-activation: 100 times that.
RELU_MARGIN = 1e-3
SCE = "softmax_cross_entropy"
BCE = "binary_cross_entropy"


# --- a graph as data --------------------------------------------------------------------------


@dataclass
class NodeDecl:
    name: str
    sources: tuple[str, ...]
    units: int
    activation: str
    share: str | None = None
    transpose: bool = False


@dataclass
class OutputDecl:
    node: str
    loss: str
    weight: float
    target: str | None = None
    # How to draw the targets passed to backward (unused when target names an input).
    kind: str = "real"


@dataclass
class GraphDecl:
    inputs: list[tuple[str, int]]
    nodes: list[NodeDecl]
    outputs: list[OutputDecl]
    n_samples: int = 5
    # Inputs whose values must lie in (0, 1): the targets of a cross-entropy output.
    unit_inputs: set[str] = field(default_factory=set)

    def node(self, name: str) -> NodeDecl:
        return next(d for d in self.nodes if d.name == name)

    def width(self, name: str) -> int:
        for input_name, dim in self.inputs:
            if input_name == name:
                return dim
        return self.node(name).units


def build(decl: GraphDecl, seed: int = 0) -> bn.Graph:
    """The declared graph, through the public declaring calls."""
    g = bn.Graph(dtype="float64", seed=seed)
    for name, dim in decl.inputs:
        g.input(name, dim)
    for d in decl.nodes:
        g.dense(list(d.sources), d.units, d.activation, name=d.name, share=d.share,
                transpose=d.transpose)
    for o in decl.outputs:
        g.output(o.node, loss=o.loss, weight=o.weight, target=o.target)
    return g


def effective_parameters(
    decl: GraphDecl, params: dict[str, Array], name: str
) -> tuple[Array, Array]:
    """The W and b node ``name`` applies, resolved from the declaration (not from the package):
    W follows the shares, transposing at each transposed one; b follows plain shares only."""
    transposed, owner = False, name
    while decl.node(owner).share is not None:
        transposed ^= decl.node(owner).transpose
        owner = str(decl.node(owner).share)
    W = params[f"{owner}.W"].T if transposed else params[f"{owner}.W"]
    bias_owner = name
    while decl.node(bias_owner).share is not None and not decl.node(bias_owner).transpose:
        bias_owner = str(decl.node(bias_owner).share)
    return W, params[f"{bias_owner}.b"]


def reference_forward(
    decl: GraphDecl, params: dict[str, Array], inputs: dict[str, Array]
) -> tuple[dict[str, Array], dict[str, Array]]:
    """Z and Y of every node in NumPy (samples as rows), nodes in an order where each follows
    what it reads: Z = [x_1, …, x_k]·Wᵀ + b, Y = f(Z)."""
    values: dict[str, Array] = dict(inputs)
    Z_of: dict[str, Array] = {}
    pending = list(decl.nodes)
    while pending:
        ready = [d for d in pending if all(s in values for s in d.sources)]
        assert ready, "the declaration has a cycle"
        for d in ready:
            W, b = effective_parameters(decl, params, d.name)
            X = np.concatenate([values[s] for s in d.sources], axis=1)
            Z_of[d.name] = X @ W.T + b
            values[d.name] = ref.activation(d.activation, Z_of[d.name].T).T
            pending.remove(d)
    return Z_of, values


def reference_J(
    decl: GraphDecl, params: dict[str, Array], inputs: dict[str, Array], targets: dict[str, Array]
) -> float:
    """Σ_i weight_i·J_i in NumPy."""
    _, values = reference_forward(decl, params, inputs)
    J = 0.0
    for o in decl.outputs:
        T = inputs[o.target] if o.target is not None else targets[o.node]
        if T.ndim == 1:
            T = np.eye(decl.node(o.node).units)[T]
        J += o.weight * ref.loss_value(o.loss, values[o.node].T, T.T)
    return J


def make_targets(kind: str, rng: np.random.Generator, n: int, units: int) -> Array:
    if kind == "real":
        return rng.uniform(-1.0, 1.0, (n, units))
    if kind == "soft":
        return rng.uniform(0.0, 1.0, (n, units))
    if kind == "binary":
        return rng.integers(0, 2, (n, units)).astype(np.float64)
    if kind == "labels":
        return rng.integers(0, units, n)
    if kind == "one_hot":
        return np.eye(units)[rng.integers(0, units, n)]
    if kind == "probabilities":
        return rng.dirichlet(np.ones(units), n)
    raise ValueError(kind)


def draw(
    decl: GraphDecl, params: dict[str, Array], rng: np.random.Generator
) -> tuple[dict[str, Array], dict[str, Array]]:
    """Random weights and nonzero biases written into ``params``; inputs (standard normal, or in
    (0.05, 0.95) for cross-entropy targets) and targets. Drawn again until every relu unit is
    active for some sample (a dead path has all-zero gradients, which check nothing) and no relu
    pre-activation lies within RELU_MARGIN of its kink."""
    relus = [d.name for d in decl.nodes if d.activation == "relu"]
    for _ in range(100):
        for view in params.values():
            view[...] = rng.uniform(-0.8, 0.8, view.shape)
        inputs = {
            name: rng.uniform(0.05, 0.95, (decl.n_samples, dim))
            if name in decl.unit_inputs
            else rng.standard_normal((decl.n_samples, dim))
            for name, dim in decl.inputs
        }
        Z_of, _ = reference_forward(decl, params, inputs)
        off_kinks = all(np.abs(Z_of[name]).min() > RELU_MARGIN for name in relus)
        alive = all(np.all((Z_of[name] > 0).any(axis=0)) for name in relus)
        if off_kinks and alive:
            break
    else:
        raise AssertionError("no draw keeps the relu units alive and off their kinks")
    targets = {
        o.node: make_targets(o.kind, rng, decl.n_samples, decl.node(o.node).units)
        for o in decl.outputs
        if o.target is None
    }
    return inputs, targets


# --- the check --------------------------------------------------------------------------------


def relative_error(analytic: Array, numeric: Array) -> float:
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), FLOOR)
    return float(np.max(np.abs(analytic - numeric) / scale))


def numeric_gradients(params: dict[str, Array], J: Any) -> dict[str, Array]:
    """(J(θ + h) − J(θ − h)) / 2h for every entry of every parameter view, restoring θ."""
    slopes = {}
    for key, view in params.items():
        slope = np.empty_like(view)
        for index in np.ndindex(view.shape):
            saved = float(view[index])
            view[index] = saved + STEP
            above = J()
            view[index] = saved - STEP
            below = J()
            view[index] = saved
            slope[index] = (above - below) / (2 * STEP)
        slopes[key] = slope
    return slopes


def assert_gradients_match(
    params: dict[str, Array], gradients: dict[str, Array], J: Any
) -> None:
    """gradients() (read right after the backward that J() repeats) against the slopes of J."""
    analytic = {key: value.copy() for key, value in gradients.items()}
    before = {key: value.copy() for key, value in params.items()}
    numeric = numeric_gradients(params, J)
    assert list(analytic) == list(numeric)
    for key in analytic:
        assert np.any(analytic[key] != 0), f"{key}: an all-zero gradient checks nothing"
        error = relative_error(analytic[key], numeric[key])
        assert error < RTOL, f"{key}: relative error {error:.2e}"
    for key, value in params.items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def check_graph(decl: GraphDecl, data_seed: int) -> None:
    """Builds ``decl``, gives it random weights and nonzero biases, and checks J against NumPy
    and the gradients against central differences."""
    rng = np.random.default_rng(data_seed)
    g = build(decl, seed=data_seed)
    params = g.parameters()
    inputs, targets = draw(decl, params, rng)

    J = g.backward(inputs, targets)

    assert J == pytest.approx(reference_J(decl, params, inputs, targets), rel=1e-12)
    assert_gradients_match(params, g.gradients(), lambda: g.backward(inputs, targets))


# --- (a) the contract graph and hand-made corner cases ----------------------------------------

CONTRACT = GraphDecl(
    inputs=[("x", 10)],
    nodes=[
        NodeDecl("h", ("x",), 8, "tanh"),
        NodeDecl("k", ("x", "h"), 6, "relu"),
        NodeDecl("y", ("k",), 3, "softmax"),
        NodeDecl("r", ("h",), 10, "identity", share="h", transpose=True),
    ],
    outputs=[
        OutputDecl("y", SCE, 1.0, kind="one_hot"),
        OutputDecl("r", "mse", 0.5, target="x"),
    ],
)


def test_contract_graph_gradients() -> None:
    """The issue's graph: a two-input-block relu node, a softmax head and a decoder tied to h
    by h.Wᵀ, with a reconstruction cost weighted ½."""
    g = build(CONTRACT)
    assert list(g.parameters()) == ["h.W", "h.b", "k.W", "k.b", "y.W", "y.b", "r.b"]
    check_graph(CONTRACT, data_seed=1)


def test_contract_graph_gradients_for_one_sample() -> None:
    """A batch of one sample: no mean to take, and the arrays' one row has no stride."""
    decl = GraphDecl(CONTRACT.inputs, CONTRACT.nodes, CONTRACT.outputs, n_samples=1)
    check_graph(decl, data_seed=4)


@pytest.mark.parametrize("kind", ["one_hot", "labels", "probabilities"])
def test_contract_graph_gradients_with_every_kind_of_class_target(kind: str) -> None:
    """The contract graph with integer labels and soft targets for the softmax head."""
    decl = GraphDecl(
        CONTRACT.inputs,
        CONTRACT.nodes,
        [OutputDecl("y", SCE, 1.3, kind=kind), OutputDecl("r", "mse", 0.5, target="x")],
    )
    check_graph(decl, data_seed=2)


CORNER_CASES = {
    # One node reads the same node twice: both blocks send it a gradient.
    "repeated_source": GraphDecl(
        [("x", 3)],
        [NodeDecl("h", ("x",), 2, "tanh"), NodeDecl("y", ("h", "x", "h"), 2, "sigmoid")],
        [OutputDecl("y", BCE, 1.0, kind="binary")],
    ),
    # An output whose node also feeds another output (dZ = f'·ΣdY + weight·dZ_loss), through
    # softmax's Jacobian.
    "softmax_output_with_a_reader": GraphDecl(
        [("x", 3)],
        [NodeDecl("p", ("x",), 3, "softmax"), NodeDecl("y", ("p", "x"), 2, "tanh")],
        [OutputDecl("p", SCE, 0.7, kind="probabilities"), OutputDecl("y", "mse", 1.9)],
    ),
    # A chain of plain shares, each step applying the first node's W and b again.
    "recurrent_chain": GraphDecl(
        [("x", 3)],
        [
            NodeDecl("a", ("x",), 3, "tanh"),
            NodeDecl("b", ("a",), 3, "tanh", share="a"),
            NodeDecl("c", ("b",), 3, "sigmoid", share="b"),
        ],
        [OutputDecl("c", "mse", 1.0, target="x")],
    ),
    # Plain shares of a transposed share and of its owner: d shares t, which applies e.Wᵀ, so d
    # applies e.Wᵀ with t's own bias; u applies e.W with e.b.
    "share_of_a_transposed_share": GraphDecl(
        [("x", 4)],
        [
            NodeDecl("e", ("x",), 2, "tanh"),
            NodeDecl("t", ("e",), 4, "sigmoid", share="e", transpose=True),
            NodeDecl("u", ("t",), 2, "tanh", share="e"),
            NodeDecl("d", ("u",), 4, "identity", share="t"),
        ],
        [OutputDecl("t", BCE, 0.4, target="x"), OutputDecl("d", "mse", 1.0, target="x")],
        unit_inputs={"x"},
    ),
    # A transposed share of a transposed share is the original W again.
    "double_transpose": GraphDecl(
        [("x", 3)],
        [
            NodeDecl("e", ("x",), 2, "tanh"),
            NodeDecl("t", ("e",), 3, "tanh", share="e", transpose=True),
            NodeDecl("tt", ("t",), 2, "softmax", share="t", transpose=True),
        ],
        [OutputDecl("tt", SCE, 1.0, kind="labels")],
    ),
    # A node sharing the W of a node declared after it, which reads it.
    "share_declared_later": GraphDecl(
        [("x", 3)],
        [NodeDecl("a", ("x",), 3, "tanh", share="b"), NodeDecl("b", ("a",), 3, "sigmoid")],
        [OutputDecl("b", BCE, 1.0, target="x")],
        unit_inputs={"x"},
    ),
    # Two inputs, one of them only a target.
    "target_only_input": GraphDecl(
        [("x", 3), ("t", 2)],
        [NodeDecl("y", ("x",), 2, "sigmoid")],
        [OutputDecl("y", BCE, 2.5, target="t")],
        unit_inputs={"t"},
    ),
}


@pytest.mark.parametrize("case", CORNER_CASES)
def test_corner_case_gradients(case: str) -> None:
    """Repeated sources, outputs with readers, chained, transposed-of-transposed and forward
    sharing, an input that is only a target."""
    check_graph(CORNER_CASES[case], data_seed=3)


# --- (b) random DAGs --------------------------------------------------------------------------

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax")
RANDOM_SEEDS = range(20)


def random_graph(seed: int) -> GraphDecl:
    """A random DAG: 1–2 inputs of 2–3 features; 3–7 dense nodes of 2–3 units, each reading
    1–3 earlier inputs or nodes, one of them the previous node if nobody reads it yet (so the
    last node is the only sink), and an input nobody reads is added to some node; about half
    of the nodes share an earlier node's W, plainly or transposed, their units chosen so that
    the shapes fit (a transposed share may need up to 6); the last node and 0–2 more are
    outputs with random weights and losses fit for their activation, some taking their target
    from an input of the same width."""
    rng = np.random.default_rng(seed)
    inputs = [(f"x{i}", int(rng.integers(2, 4))) for i in range(int(rng.integers(1, 3)))]
    n_nodes = int(rng.integers(3, 8))

    # The shape of the data flow first.
    sources: list[list[str]] = []
    unread: list[str] = []
    for k in range(n_nodes):
        pool = [name for name, _ in inputs] + [f"n{j}" for j in range(k)]
        count = min(int(rng.integers(1, 4)), len(pool))
        chosen = [str(s) for s in rng.choice(pool, count, replace=False)]
        if unread and not set(chosen) & set(unread):
            chosen[int(rng.integers(len(chosen)))] = unread[int(rng.integers(len(unread)))]
        chosen = list(dict.fromkeys(chosen))
        unread = [u for u in unread if u not in chosen] + [f"n{k}"]
        sources.append(chosen)
    for name, _ in inputs:  # no input unused
        if not any(name in s for s in sources):
            sources[int(rng.integers(n_nodes))].append(name)

    # Then widths and sharing, in order, so each node knows the shapes before it.
    decl = GraphDecl(inputs, [], [], n_samples=int(rng.integers(3, 7)))
    n_in: dict[str, int] = {}
    for k, src in enumerate(sources):
        name = f"n{k}"
        n_in[name] = sum(decl.width(s) for s in src)
        units, share, transpose = int(rng.integers(2, 4)), None, False
        # (node to share, transposed, the units that make the shapes fit)
        fits = [(d.name, False, d.units) for d in decl.nodes if n_in[d.name] == n_in[name]]
        fits += [
            (d.name, True, n_in[d.name])
            for d in decl.nodes
            if d.units == n_in[name] and n_in[d.name] <= 6
        ]
        if fits and rng.random() < 0.6:
            share, transpose, units = fits[int(rng.integers(len(fits)))]
        activation = str(rng.choice(ACTIVATIONS))
        decl.nodes.append(NodeDecl(name, tuple(src), units, activation, share, transpose))

    read = {s for d in decl.nodes for s in d.sources}
    outputs = [d.name for d in decl.nodes if d.name not in read]
    others = [d.name for d in decl.nodes if d.name in read]
    extra = int(rng.integers(0, 3))
    outputs += [str(n) for n in rng.choice(others, min(extra, len(others)), replace=False)]
    for name in outputs:
        node = decl.node(name)
        losses = {"sigmoid": ["mse", BCE], "softmax": ["mse", SCE]}.get(node.activation, ["mse"])
        loss = str(rng.choice(losses))
        same_width = [i for i, dim in inputs if dim == node.units]
        target = str(rng.choice(same_width)) if same_width and rng.random() < 0.4 else None
        kind = {"mse": "real", BCE: str(rng.choice(["binary", "soft"])),
                SCE: str(rng.choice(["one_hot", "labels", "probabilities"]))}[loss]
        if target is not None and loss != "mse":
            decl.unit_inputs.add(target)
        decl.outputs.append(OutputDecl(name, loss, float(rng.uniform(0.2, 2.0)), target, kind))
    return decl


def describe(decl: GraphDecl) -> str:
    nodes = "; ".join(
        f"{d.name}[{','.join(d.sources)}]->{d.units} {d.activation}"
        + (f" shares {d.share}{'ᵀ' if d.transpose else ''}" if d.share else "")
        for d in decl.nodes
    )
    outs = ", ".join(f"{o.node} {o.loss}×{o.weight:.2f}" + (f" on {o.target}" if o.target else "")
                     for o in decl.outputs)
    return f"{decl.inputs}; {nodes}; outputs {outs}"


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_dag_gradients(seed: int) -> None:
    """Random DAGs: J equals the NumPy reference and every gradient its central difference."""
    decl = random_graph(seed)
    try:
        check_graph(decl, data_seed=100 + seed)
    except AssertionError as error:
        raise AssertionError(f"{describe(decl)}\n{error}") from error


def _features(decl: GraphDecl) -> Iterator[str]:
    readers: dict[str, int] = {}
    for d in decl.nodes:
        for s in set(d.sources):
            readers[s] = readers.get(s, 0) + 1
        if len(d.sources) > 1:
            yield "multi-input node"
        if d.share and d.transpose:
            yield "transposed share"
        if d.share and not d.transpose:
            yield "plain share"
        if d.share and decl.node(d.share).share:
            yield "share of a share"
    if any(count > 1 for name, count in readers.items() if name.startswith("n")):
        yield "node fan-out"
    if any(count > 1 for name, count in readers.items() if name.startswith("x")):
        yield "input fan-out"
    read = {s for d in decl.nodes for s in d.sources}
    for o in decl.outputs:
        yield o.loss
        if o.node in read:
            yield "output with a reader"
        if o.target is not None:
            yield "target from an input"
        if o.kind == "labels":
            yield "labels"
    if len(decl.outputs) > 1:
        yield "several outputs"
    if len(decl.inputs) > 1:
        yield "two inputs"
    for d in decl.nodes:
        yield d.activation


def test_random_dags_cover_what_they_claim() -> None:
    """The generator's graphs are valid (every node reaches an output, every input is used,
    sizes as documented) and, over the seeds, include every structure the checks are meant to
    exercise, several times each."""
    counts: dict[str, int] = {}
    for seed in RANDOM_SEEDS:
        decl = random_graph(seed)
        assert 1 <= len(decl.inputs) <= 2 and 3 <= len(decl.nodes) <= 7
        assert 1 <= len(decl.outputs) <= 3
        assert all(1 <= len(d.sources) <= 4 for d in decl.nodes)
        build(decl).build()  # raises on a node feeding no output or an unused input
        for feature in set(_features(decl)):
            counts[feature] = counts.get(feature, 0) + 1
    wanted = [
        "multi-input node", "transposed share", "plain share", "share of a share", "node fan-out",
        "input fan-out", "output with a reader", "target from an input", "labels",
        "several outputs", "two inputs", "mse", BCE, SCE, *ACTIVATIONS,
    ]
    for feature in wanted:
        least = 1 if feature == "share of a share" else 2
        assert counts.get(feature, 0) >= least, f"{feature}: {counts}"


# --- (c) the RNN, unrolled --------------------------------------------------------------------

# (output activation, loss, kind of targets)
RNN_CASES = [
    ("identity", "mse", "real"),
    ("sigmoid", BCE, "binary"),
    ("softmax", SCE, "one_hot"),
    ("softmax", SCE, "labels"),
]


def rnn_targets(kind: str, rng: np.random.Generator, n: int, steps: int, head: str) -> Array:
    if head == "last":
        return make_targets(kind, rng, n, 3)
    per_step = [make_targets(kind, rng, n, 3) for _ in range(steps)]
    return np.stack(per_step, axis=1)


@pytest.mark.parametrize("head", ["last", "every"])
@pytest.mark.parametrize("steps", [1, 2, 4])
@pytest.mark.parametrize(("output", "loss", "kind"), RNN_CASES)
def test_rnn_gradients(head: str, steps: int, output: str, loss: str, kind: str) -> None:
    """Backpropagation through time: the cell's gradient summed over the steps, the head's over
    the steps it predicts at, equal the slopes of J."""
    rng = np.random.default_rng(steps)
    rnn = bn.RNN(n_features=2, hidden=3, n_outputs=3, output_activation=output, loss=loss,
                 head=head, seed=1)
    params = rnn.parameters()
    for view in params.values():
        view[...] = rng.uniform(-0.8, 0.8, view.shape)
    X = rng.standard_normal((4, steps, 2))
    T = rnn_targets(kind, rng, 4, steps, head)

    rnn.backward(X, T)

    assert list(params) == ["cell.W", "cell.b", "head.W", "head.b"]
    assert_gradients_match(params, rnn.gradients(), lambda: rnn.backward(X, T))


@pytest.mark.parametrize("head", ["last", "every"])
def test_rnn_gradients_with_initial_state(head: str) -> None:
    """A nonzero h0 enters the first step: the gradients still match, and differ from those
    with h0 = 0."""
    rng = np.random.default_rng(5)
    rnn = bn.RNN(n_features=2, hidden=3, n_outputs=3, output_activation="sigmoid", loss=BCE,
                 head=head, seed=2)
    params = rnn.parameters()
    for view in params.values():
        view[...] = rng.uniform(-0.8, 0.8, view.shape)
    X = rng.standard_normal((5, 3, 2))
    h0 = rng.uniform(-0.9, 0.9, (5, 3))
    T = rnn_targets("soft", rng, 5, 3, head)

    rnn.backward(X, T)
    without_h0 = {key: value.copy() for key, value in rnn.gradients().items()}
    rnn.backward(X, T, h0=h0)

    assert not np.allclose(rnn.gradients()["cell.W"], without_h0["cell.W"])
    assert_gradients_match(params, rnn.gradients(), lambda: rnn.backward(X, T, h0=h0))
