"""Any loop-free network: named inputs, dense nodes over one or several of them, tied weights,
and several weighted costs. The note: "we can design arbitrary structures as long as no loop
exists"."""

from __future__ import annotations

import math
import numbers
import os
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Union

if TYPE_CHECKING:
    from typing_extensions import Unpack

import numpy as np
import numpy.typing as npt

from .. import _core
from .._convert import as_count
from ..history import History
from .model import CoreGraph, FitOptions, Model, ModelFileError


class Node:
    """A handle on one input or dense node of a :class:`Graph`, returned by
    :meth:`Graph.input` and :meth:`Graph.dense`; pass it wherever a node's name is expected.

    Attributes
    ----------
    name : str
    units : int
        Features of an input; units of a dense node.

    Examples
    --------
    >>> import blasnet as bn
    >>> g = bn.Graph()
    >>> h = g.dense(g.input("x", 3), 2, name="h")
    >>> g.output(h, "mse")
    >>> h, h.name, h.units
    (Node('h', units=2), 'h', 2)
    >>> h.W.shape, h.b.shape
    ((2, 3), (2,))
    """

    __slots__ = ("_graph", "name", "units")

    def __init__(self, graph: Graph, name: str, units: int) -> None:
        self._graph = graph
        self.name = name
        self.units = units

    @property
    def W(self) -> np.ndarray[Any, Any]:
        """The weights this dense node applies, (units, n_in): a writable view, of another
        node's ``W`` when it shares one (transposed when it shares transposed)."""
        return self._graph.weight_of(self.name)

    @property
    def b(self) -> np.ndarray[Any, Any]:
        """The bias this dense node adds, (units,): a writable view, shared like ``W``."""
        return self._graph.bias_of(self.name)

    def __repr__(self) -> str:
        return f"Node({self.name!r}, units={self.units})"


NodeRef = Union[Node, str]

# Held while a graph is built, so that threads making their first predictions at once build it
# once; reentrant, as building a graph over another's buffers builds that one first.
_BUILDING = threading.RLock()


class GraphNode(NamedTuple):
    """A dense node of a built graph, as :attr:`Graph.nodes` lists them.

    Examples
    --------
    >>> import blasnet as bn
    >>> g = bn.Graph()
    >>> g.output(g.dense(g.input("x", 3), 2, activation="tanh", name="h"), "mse")
    >>> g.nodes
    [GraphNode(name='h', reads=['x'], n_in=3, units=2, activation='tanh')]
    """

    name: str
    reads: list[str]
    n_in: int
    units: int
    activation: str


def _name_of(ref: Any, what: str) -> str:
    if isinstance(ref, Node):
        return ref.name
    if isinstance(ref, str) and ref:
        return ref
    raise TypeError(f"{what} must be a Node or a non-empty name, got {ref!r}")


class Graph(Model):
    """A feed-forward network of any loop-free shape, trained by backpropagation.

    Declare inputs, dense nodes and outputs; the graph is built — checked, ordered and given
    its weights — when it is first used, and cannot change after that.

    Parameters
    ----------
    dtype : {"float32", "float64"}
        Precision of the parameters and of every computation.
    seed : int
        Seed of the weight initialisation, parameter by parameter in declaration order
        (Glorot uniform; He uniform for relu nodes; zero biases).
    parameters_of : Graph, optional
        Build over the parameter and gradient buffers of this graph (built first), whose
        parameters the declarations must lay out alike: an RNN's unrollings share its cell's.

    Notes
    -----
    A dense node over several inputs computes ``W·[x_1; …; x_k] + b`` without building the
    concatenation: each input block is one gemm on a column block of ``W``. A node read by
    several others receives the sum of their dJ/dy; ``J = Σ_i weight_i·J_i`` over the outputs;
    and the gradient of a shared weight is the sum over its uses.

    Examples
    --------
    >>> import numpy as np
    >>> import blasnet as bn
    >>> g = bn.Graph(seed=0)
    >>> x = g.input("x", 4)
    >>> h = g.dense(x, 3, activation="tanh", name="h")
    >>> y = g.dense([x, h], 2, activation="softmax", name="y")
    >>> r = g.dense(h, 4, name="r", share="h", transpose=True)
    >>> g.output(y, loss="softmax_cross_entropy")
    >>> g.output(r, loss="mse", target="x", weight=0.5)
    >>> X = np.ones((5, 4))
    >>> {name: out.shape for name, out in g.forward({"x": X}).items()}
    {'y': (5, 2), 'r': (5, 4)}
    >>> sorted(g.parameters())
    ['h.W', 'h.b', 'r.b', 'y.W', 'y.b']
    >>> y.W.shape, r.W.shape
    ((2, 7), (4, 3))
    """

    kind = "graph"

    def __init__(
        self, dtype: npt.DTypeLike = "float64", seed: int = 0, *, parameters_of: Graph | None = None
    ) -> None:
        super().__init__(dtype, seed)
        if parameters_of is not None and not isinstance(parameters_of, Graph):
            raise TypeError(f"parameters_of must be a Graph, got {type(parameters_of).__name__}")
        self._inputs: dict[str, int] = {}
        self._dense: dict[str, Any] = {}
        self._outputs: dict[str, Any] = {}
        self._core: CoreGraph | None = None
        self._parameters_of = parameters_of
        self._input_names: list[str] = []
        self._output_names: list[str] = []
        self._target_inputs: list[str | None] = []

    # --- declaring ---------------------------------------------------------------------------

    def input(self, name: str, dim: int) -> Node:
        """Declares an input of ``dim`` features per sample.

        Examples
        --------
        >>> import blasnet as bn
        >>> bn.Graph().input("x", 3)
        Node('x', units=3)
        """
        self._check_open()
        name = self._new_name(name)
        self._inputs[name] = as_count(dim, f"input '{name}' dim")
        return Node(self, name, self._inputs[name])

    def dense(
        self,
        inputs: NodeRef | Sequence[NodeRef],
        units: int,
        activation: str = "identity",
        name: str | None = None,
        share: NodeRef | None = None,
        transpose: bool = False,
        dropout: float = 0.0,
    ) -> Node:
        """Declares a dense node ``y = f(W·[x_1; …; x_k] + b)`` over one input or node, or over
        the concatenation of several.

        Parameters
        ----------
        inputs : Node, name, or a sequence of them
            What the node reads; a name may refer to a node declared later.
        units : int
        activation : str
            One of ``blasnet.ACTIVATIONS``.
        name : str, optional
            Defaults to ``"dense_<k>"``. Parameters are keyed ``"<name>.W"`` and ``"<name>.b"``.
        share : Node or name, optional
            Use that node's ``W`` and ``b`` instead of parameters of its own (a recurrent cell
            applied at every step); the shapes must fit.
        transpose : bool
            With ``share``: use the shared ``W`` transposed (a decoder tied to its encoder),
            through the gemm's transpose flag, with a bias of this node's own.
        dropout : float
            In training passes, zero each output with this probability and scale the kept
            ones by 1/(1 − dropout) (inverted dropout); never on an output node.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> x = g.input("x", 3)
        >>> g.dense(x, 2, activation="relu", name="h")
        Node('h', units=2)
        """
        self._check_open()
        refs: list[Any] = [inputs] if isinstance(inputs, (Node, str)) else []
        if not refs:
            refs = list(inputs) if isinstance(inputs, Sequence) else [inputs]
        if not refs:
            raise ValueError("dense needs at least one input")
        sources = tuple(_name_of(ref, "an input of dense") for ref in refs)
        units_ = as_count(units, "units")
        if activation not in _core.ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; valid: {', '.join(_core.ACTIVATIONS)}"
            )
        shared = "" if share is None else _name_of(share, "share")
        if transpose and not shared:
            raise ValueError("transpose=True needs share=<the node whose W to transpose>")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real):
            raise TypeError(f"dropout must be a number, got {dropout!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        name_ = self._new_name(f"dense_{len(self._dense)}" if name is None else name)
        self._dense[name_] = _core.NodeSpec(
            name_, list(sources), units_, activation, shared, bool(transpose), float(dropout)
        )
        return Node(self, name_, units_)

    def output(
        self, node: NodeRef, loss: str, weight: float = 1.0, target: NodeRef | None = None
    ) -> None:
        """Puts a cost on a dense node: ``J = Σ_i weight_i·J_i`` over the outputs.

        Parameters
        ----------
        node : Node or name
        loss : str
            One of ``blasnet.LOSSES``.
        weight : float
            Positive factor of this cost in J.
        target : Node or name of an input, optional
            Take the targets from that input (an autoencoder's reconstruction) instead of
            from the ``targets`` of each call.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> y = g.dense(g.input("x", 3), 1, activation="sigmoid", name="y")
        >>> g.output(y, loss="binary_cross_entropy")
        """
        self._check_open()
        name = _name_of(node, "output")
        if name in self._outputs:
            raise ValueError(f"node '{name}' is an output already")
        if loss not in _core.LOSSES:
            raise ValueError(f"unknown loss {loss!r}; valid losses: {', '.join(_core.LOSSES)}")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise TypeError(f"output '{name}': weight must be a number, got {weight!r}")
        weight_ = float(weight)
        if not (math.isfinite(weight_) and weight_ > 0):
            raise ValueError(f"output '{name}': weight must be positive and finite, got {weight}")
        target_ = "" if target is None else _name_of(target, "target")
        self._outputs[name] = _core.OutputSpec(name, loss, weight_, target_)

    def build(self) -> Graph:
        """Checks the declarations, orders the nodes and creates the parameters; done
        implicitly by the first call that needs them. Returns the graph.

        Raises
        ------
        ValueError
            Naming the problem: a cycle (listing its nodes), an unknown name, a shared weight
            whose shape does not fit, a node that reaches no output, an unused input, ...

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> g.output(g.dense(g.input("x", 2), 1, name="y"), "mse")
        >>> g.build() is g, sorted(g.parameters())
        (True, ['y.W', 'y.b'])
        """
        if self._core is not None:
            return self
        with _BUILDING:
            if self._core is not None:
                return self
            self._attach(self._new_core())
        return self

    def _new_core(self) -> CoreGraph:
        owner = self._parameters_of
        if self._dtype == np.float32:
            if owner is None:
                return _core.GraphF32(self.spec, self._seed)
            if not isinstance(owner.core, _core.GraphF32):
                raise ValueError(f"parameters_of is a {owner.dtype.name} graph, this one float32")
            return _core.GraphF32(self.spec, owner.core)
        if owner is None:
            return _core.GraphF64(self.spec, self._seed)
        if not isinstance(owner.core, _core.GraphF64):
            raise ValueError(f"parameters_of is a {owner.dtype.name} graph, this one float64")
        return _core.GraphF64(self.spec, owner.core)

    def _attach(self, core: CoreGraph) -> None:
        self._input_names = [spec.name for spec in core.inputs]
        self._output_names = [spec.name for spec in core.outputs]
        # The input each output takes its targets from, or None: read once, not per call.
        self._target_inputs = [spec.target for spec in core.outputs]
        self._core = core  # last: another thread takes a set _core for a finished build

    @property
    def spec(self) -> Any:
        """The declarations as the core takes them: a ``GraphSpec`` of inputs, nodes and
        outputs, in declaration order."""
        return _core.GraphSpec(
            [_core.InputSpec(name, dim) for name, dim in self._inputs.items()],
            list(self._dense.values()),
            list(self._outputs.values()),
        )

    @classmethod
    def _rebuilt(
        cls, loaded: dict[str, Any], dtype: np.dtype[Any], seed: int, extra: dict[str, Any],
        label: str,
    ) -> Graph:
        return cls.around(loaded["core"], dtype, seed)

    @classmethod
    def around(cls, core: Any, dtype: npt.DTypeLike, seed: int) -> Graph:
        """A Graph around a built core graph (one read from a model file), declared as its
        spec says.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> g.output(g.dense(g.input("x", 3), 2, name="h"), "mse")
        >>> same = bn.Graph.around(g.core, g.dtype, g.seed)
        >>> same.inputs, same.parameters()["h.W"] is not None
        ({'x': 3}, True)
        """
        g = cls(dtype, seed)
        spec = core.spec
        for input_spec in spec.inputs:
            g._inputs[input_spec.name] = int(input_spec.dim)
        for node in spec.nodes:
            g._dense[node.name] = node
        for output in spec.outputs:
            g._outputs[output.node] = output
        g._attach(core)
        return g

    def save(self, path: str | os.PathLike[str], optimizer: _core.Optimizer | None = None) -> None:
        """Writes the graph to a model file; see :meth:`Sequential.save`.

        Examples
        --------
        >>> import os, tempfile
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> h = g.dense(g.input("x", 3), 2, activation="tanh", name="h")
        >>> g.output(g.dense(h, 3, name="r", share=h, transpose=True), "mse", target="x")
        >>> path = os.path.join(tempfile.mkdtemp(), "ae.safetensors")
        >>> g.save(path)
        >>> sorted(bn.load(path).parameters())
        ['h.W', 'h.b', 'r.b']
        """
        super().save(path, optimizer)

    # --- describing --------------------------------------------------------------------------

    @property
    def inputs(self) -> dict[str, int]:
        """Features per sample of each input, by name."""
        return dict(self._inputs)

    @property
    def outputs(self) -> list[str]:
        """The output nodes, in declaration order (the keys :meth:`forward` returns)."""
        return list(self._outputs)

    @property
    def nodes(self) -> list[GraphNode]:
        """(name, reads, n_in, units, activation) of each dense node, in the order the forward
        pass runs them."""
        return [GraphNode(n.name, list(n.reads), n.n_in, n.units, n.activation)
                for n in self.planned_nodes]

    def __repr__(self) -> str:
        inputs = ", ".join(f"{name}({dim})" for name, dim in self._inputs.items())
        nodes = "; ".join(
            f"{d.name}: [{', '.join(d.inputs)}] -> {d.units} {d.activation}"
            + (f" (shares {d.share}{'ᵀ' if d.transpose else ''})" if d.share else "")
            for d in self._dense.values()
        )
        outputs = ", ".join(f"{o.node} {o.loss}×{o.weight:g}" for o in self._outputs.values())
        return f"Graph(inputs: {inputs}; {nodes}; outputs: {outputs}; dtype={self._dtype.name})"

    # --- computing ---------------------------------------------------------------------------

    def forward(
        self, inputs: Mapping[Any, npt.ArrayLike] | npt.ArrayLike, training: bool = False
    ) -> dict[str, np.ndarray[Any, Any]]:
        """Outputs of the graph, each node's eqs. (1)-(2) in topological order.

        Parameters
        ----------
        inputs : dict of array_like (n_samples, dim), by input name or Node
            One array per input, all with the same samples; with a single input, the array
            alone will do.
        training : bool
            Drop out units as a training pass does (nodes with ``dropout``); the default
            inference pass never drops.

        Returns
        -------
        dict of ndarray (n_samples, units), by output name

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> g.output(g.dense(g.input("x", 2), 3, activation="softmax", name="y"), "mse")
        >>> round(float(g.forward({"x": [[1.0, 2.0]]})["y"].sum()), 6)
        1.0
        """
        outs = self._forward(self._input_list(inputs), training)
        return dict(zip(self._output_names, outs))

    def predict(
        self, inputs: Mapping[Any, npt.ArrayLike] | npt.ArrayLike
    ) -> dict[str, np.ndarray[Any, Any]]:
        """Outputs of the graph: :meth:`forward`'s inference pass, safe to call from many
        threads at once.

        The pass runs in C++ without the GIL and writes only into the arrays it returns and
        into memory of the calling thread, so predictions from several Python threads run in
        parallel on one graph. A prediction waits while a training call (:meth:`fit`,
        :meth:`train_step`, :meth:`backward`), :meth:`evaluate` or :meth:`forward` runs on the
        graph or on one sharing its parameters, and they wait for it; writing to
        :meth:`parameters` while predicting is the caller's to avoid.

        Parameters
        ----------
        inputs : dict of array_like (n_samples, dim), by input name or Node
            As for :meth:`forward`.

        Returns
        -------
        dict of ndarray (n_samples, units), by output name

        Examples
        --------
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> import numpy as np
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> g.output(g.dense(g.input("x", 2), 3, activation="softmax", name="y"), "mse")
        >>> batches = [{"x": np.full((4, 2), float(k))} for k in range(6)]
        >>> with ThreadPoolExecutor(3) as pool:
        ...     outputs = list(pool.map(g.predict, batches))
        >>> all(np.array_equal(o["y"], g.forward(b)["y"]) for b, o in zip(batches, outputs))
        True
        """
        outs = self._predict(self._input_list(inputs))
        return dict(zip(self._output_names, outs))

    def evaluate(
        self,
        inputs: Mapping[Any, npt.ArrayLike] | npt.ArrayLike,
        targets: Mapping[Any, npt.ArrayLike] | None = None,
        sample_weight: npt.ArrayLike | None = None,
    ) -> float:
        """``J = Σ_i weight_i·J_i`` of the data without dropout and without gradients;
        :attr:`output_losses` then holds each J_i.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> y = g.dense(g.input("x", 1), 1, name="y")
        >>> g.output(y, "mse")
        >>> y.W[:] = 3.0
        >>> g.evaluate({"x": [[1.0]]}, {"y": [[1.0]]})
        2.0
        """
        return self.core.evaluate(
            self._input_list(inputs), self._target_list(targets), sample_weight)

    def backward(
        self,
        inputs: Mapping[Any, npt.ArrayLike] | npt.ArrayLike,
        targets: Mapping[Any, npt.ArrayLike] | None = None,
        sample_weight: npt.ArrayLike | None = None,
    ) -> float:
        """Forward (a training pass) and backward on one batch: returns
        ``J = Σ_i weight_i·J_i`` and fills :meth:`gradients`.

        Parameters
        ----------
        inputs
            As for :meth:`forward`.
        targets : dict of array_like, by output name or Node
            The targets of every output that does not take them from an input: shape
            (n_samples, units), (n_samples,) for a single unit, or integer class labels with
            ``softmax_cross_entropy``.
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weights: each J_i becomes the weighted mean over the samples.

        Raises
        ------
        NonFiniteError
            When the loss or gradient is NaN or infinite.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> y = g.dense(g.input("x", 1), 1, name="y")
        >>> g.output(y, "mse", weight=2.0)
        >>> y.W[:] = 3.0
        >>> g.backward({"x": [[1.0]]}, {"y": [[1.0]]})  # 2·½(3 - 1)²
        4.0
        """
        return self.core.backward(
            self._input_list(inputs), self._target_list(targets), sample_weight)

    def train_step(
        self,
        inputs: Mapping[Any, npt.ArrayLike] | npt.ArrayLike,
        targets: Mapping[Any, npt.ArrayLike] | None,
        optimizer: _core.Optimizer,
        sample_weight: npt.ArrayLike | None = None,
    ) -> float:
        """One gradient step on one batch; returns J before the step. A NaN or infinite loss
        or gradient, or an update that would make a parameter or the optimizer's state NaN or
        infinite, raises NonFiniteError and changes neither.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> g.output(g.dense(g.input("x", 1), 1, name="y"), "mse")
        >>> first = g.train_step({"x": [[1.0]]}, {"y": [[2.0]]}, bn.SGD(lr=0.1))
        >>> g.backward({"x": [[1.0]]}, {"y": [[2.0]]}) < first
        True
        """
        return self.core.train_step(
            self._input_list(inputs), self._target_list(targets), optimizer, sample_weight)

    def fit(
        self,
        inputs: Mapping[Any, npt.ArrayLike] | npt.ArrayLike,
        targets: Mapping[Any, npt.ArrayLike] | None,
        optimizer: _core.Optimizer,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        **options: Unpack[FitOptions],
    ) -> History:
        """Minibatch training over the data, entirely in C++: the training loop of
        :meth:`Sequential.fit`, for any graph.

        Parameters
        ----------
        inputs, targets
            As for :meth:`backward`, holding every sample; checked once, up front.
        optimizer, epochs, batch_size, shuffle, seed, early_stopping, schedule, sample_weight, callbacks, verbose, comm
            As for :meth:`Sequential.fit`; ``seed`` defaults to the graph's. With ``comm``, an
            mpi4py communicator, training is data-parallel over its ranks
            (:func:`blasnet.distributed.fit`).
        validation_data : (inputs, targets), optional
            Dicts like ``inputs`` and ``targets``, evaluated after each epoch.
        validation_fraction : float, optional
            Or hold out this share of the samples, chosen at random by ``seed``.
        class_weight : dict or "balanced", optional
            Weights of the classes of the graph's one classification output.

        Returns
        -------
        History
            Also kept as ``self.history``; the losses are ``J = Σ_i weight_i·J_i`` and the
            accuracy that of the first classification output.

        Raises
        ------
        KeyboardInterrupt, NonFiniteError
            As :meth:`Sequential.fit`: the graph keeps the weights of the last completed step.

        Examples
        --------
        >>> import numpy as np
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> x = g.input("x", 1)
        >>> g.output(g.dense(x, 1, name="y"), "mse")
        >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> h = g.fit({"x": X}, {"y": 3 * X}, bn.SGD(lr=0.5), epochs=200, batch_size=5)
        >>> h.loss[-1] < 1e-6
        True
        """
        return self._fit(
            self._input_list(inputs), self._target_list(targets), optimizer, epochs, batch_size,
            shuffle, seed, options, validation=self._validation_lists,
        )

    def _validation_lists(self, data: tuple[Any, Any]) -> tuple[list[Any], list[Any]]:
        return self._input_list(data[0]), self._target_list(data[1])

    def partial_fit(
        self,
        inputs: Mapping[Any, npt.ArrayLike] | npt.ArrayLike,
        targets: Mapping[Any, npt.ArrayLike] | None,
        optimizer: _core.Optimizer,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        sample_weight: npt.ArrayLike | None = None,
    ) -> History:
        """One pass over the given data, keeping the optimizer's state: incremental training.
        Returns that epoch's History (also ``self.history``).

        Examples
        --------
        >>> import numpy as np
        >>> import blasnet as bn
        >>> g = bn.Graph(seed=0)
        >>> g.output(g.dense(g.input("x", 1), 1, name="y"), "mse")
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> sgd = bn.SGD(lr=0.1)
        >>> [round(g.partial_fit({"x": X}, {"y": 2 * X + 1}, sgd, batch_size=4).loss[0], 3)
        ...  for _ in range(3)]
        [7.734, 2.603, 0.879]
        """
        return self._partial_fit(self._input_list(inputs), self._target_list(targets), optimizer,
                                 batch_size, shuffle, seed, sample_weight)

    # --- parameters --------------------------------------------------------------------------

    def parameters(self) -> dict[str, np.ndarray[Any, Any]]:
        """Writable views of every parameter, keyed ``"<node>.W"`` (units, n_in) and
        ``"<node>.b"`` (units,), for the nodes that own them (a node that shares owns none, or
        only its bias when it shares transposed). No copy is made.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> h = g.dense(g.input("x", 2), 3, name="h")
        >>> g.output(g.dense(h, 2, name="r", share=h, transpose=True), "mse", target="x")
        >>> {k: v.shape for k, v in g.parameters().items()}
        {'h.W': (3, 2), 'h.b': (3,), 'r.b': (2,)}
        """
        return super().parameters()

    def gradients(self) -> dict[str, np.ndarray[Any, Any]]:
        """dJ/dW and dJ/db of the last :meth:`backward`, with the keys and shapes of
        :meth:`parameters`; a shared block holds the sum over its uses.

        :meth:`train_step` and :meth:`fit` with plain SGD on a graph without shared weights
        fold the update into the backward products and never form the gradient, so they
        leave these values as they were.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> y = g.dense(g.input("x", 1), 1, name="y")
        >>> g.output(y, "mse")
        >>> y.W[:] = 3.0
        >>> g.backward({"x": [[1.0]]}, {"y": [[1.0]]})  # ½(3 − 1)²
        2.0
        >>> g.gradients()  # dZ = 3 − 1: dW = dZ·x, db = dZ
        {'y.W': array([[2.]]), 'y.b': array([2.])}
        """
        return super().gradients()

    @property
    def output_losses(self) -> dict[str, float]:
        """J_i of each output in the last backward or training step, before weighting."""
        return dict(zip(self._output_names, self.core.output_losses()))

    # --- internals ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._core is not None:
            raise ValueError(
                "the graph is built (its parameters exist) and cannot change; declare every "
                "input, node and output before the first forward, backward or parameters call"
            )

    def _new_name(self, name: Any) -> str:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a name must be a non-empty string, got {name!r}")
        if name in self._inputs or name in self._dense:
            raise ValueError(f"duplicate name '{name}'")
        return name

    @property
    def core(self) -> CoreGraph:
        """The C++ graph, built on first use (see :meth:`build`)."""
        core = self._core
        if core is None:
            self.build()
            core = self._core
            assert core is not None
        return core

    def _input_list(self, inputs: Any) -> list[Any]:
        self.build()
        if not isinstance(inputs, Mapping):
            if len(self._input_names) != 1:
                raise ValueError(
                    f"the graph has inputs {self._input_names}: pass a dict of arrays by name"
                )
            return [inputs]
        given = {_name_of(key, "an input key"): value for key, value in inputs.items()}
        unknown = sorted(set(given) - set(self._input_names))
        if unknown:
            raise ValueError(f"unknown input {unknown[0]!r}; the inputs are {self._input_names}")
        missing = [name for name in self._input_names if name not in given]
        if missing:
            raise ValueError(f"missing input array for {missing[0]!r}")
        return [given[name] for name in self._input_names]

    def _target_list(self, targets: Any) -> list[Any]:
        if targets is not None and not isinstance(targets, Mapping):
            raise TypeError(
                f"targets must be a dict of arrays keyed by output name, got {type(targets).__name__}"
            )
        given = {_name_of(key, "a target key"): value for key, value in (targets or {}).items()}
        self.build()
        names = self._output_names
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValueError(f"targets for {unknown[0]!r}, which is not an output; outputs: {names}")
        out: list[Any] = []
        for name, from_input in zip(names, self._target_inputs):
            if from_input is not None:
                if name in given:
                    raise ValueError(
                        f"output '{name}' takes its targets from input '{from_input}'; "
                        "do not pass any"
                    )
                out.append(None)
            elif name not in given:
                raise ValueError(f"output '{name}' has no targets: pass targets['{name}']")
            else:
                out.append(given[name])
        return out

    def weight_of(self, node: NodeRef) -> np.ndarray[Any, Any]:
        """The W dense node ``node`` applies, (units, n_in): a writable view of its own or of
        the one it shares (transposed when it shares transposed), as the core planned it.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> h = g.dense(g.input("x", 3), 2, name="h")
        >>> g.output(g.dense(h, 3, name="r", share=h, transpose=True), "mse", target="x")
        >>> g.weight_of("r").shape, bool((g.weight_of("r") == g.weight_of("h").T).all())
        ((3, 2), True)
        """
        planned = self._planned(node, "weights")
        view = self._parameter_at(planned.weight_offset)
        return view.T if planned.transposed else view

    def bias_of(self, node: NodeRef) -> np.ndarray[Any, Any]:
        """The b dense node ``node`` adds, (units,): a writable view, shared like ``W``.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> h = g.dense(g.input("x", 3), 2, name="h")
        >>> g.output(g.dense(h, 3, name="r", share=h, transpose=True), "mse", target="x")
        >>> g.bias_of("h").shape, g.bias_of("r").shape  # a transposed share has its own b
        ((2,), (3,))
        """
        return self._parameter_at(self._planned(node, "a bias").bias_offset)

    def _planned(self, node: NodeRef, what: str) -> Any:
        name = _name_of(node, "node")
        for planned in self.planned_nodes:
            if planned.name == name:
                return planned
        if name in self._inputs:
            raise ValueError(f"'{name}' is an input; only dense nodes have {what}")
        raise ValueError(f"no dense node '{name}'")

    def _parameter_at(self, offset: int) -> np.ndarray[Any, Any]:
        parameters = self.parameters()
        for info in self.parameter_info():
            if info.offset == offset:
                return parameters[info.name]
        raise AssertionError(f"no parameter at offset {offset}")

    def to_onnx(self, path: str | os.PathLike[str], opset: int | None = None) -> None:
        """Writes the graph to an ONNX file, its inputs and outputs named as here, with a
        dynamic batch; a shared ``W`` is stored once. Needs the onnx package
        (``pip install 'blasnet[onnx]'``). See :func:`blasnet.onnx_export.export`.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import onnxruntime as ort
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> h = g.dense(g.input("x", 3), 2, activation="tanh", name="h")
        >>> g.output(g.dense(h, 3, name="r", share=h, transpose=True), "mse", target="x")
        >>> path = os.path.join(tempfile.mkdtemp(), "ae.onnx")
        >>> g.to_onnx(path)
        >>> X = np.ones((4, 3))
        >>> session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        >>> [output.name for output in session.get_outputs()]
        ['r']
        >>> bool(np.allclose(session.run(["r"], {"x": X})[0], g.predict(X)["r"], rtol=1e-12))
        True
        """
        super().to_onnx(path, opset)
