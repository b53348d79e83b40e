"""Any loop-free network: named inputs, dense nodes over one or several of them, tied weights,
and several weighted costs. The note: "we can design arbitrary structures as long as no loop
exists"."""

from __future__ import annotations

import json
import math
import numbers
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._convert import as_count, as_dtype, as_samples, as_seed, as_targets
from ._paths import checked_path
from ._views import named_views
from .history import History
from .training import (
    Callback,
    EarlyStopping,
    as_sample_weight,
    class_weight_samples,
    combine_weights,
    early_stopping_args,
    hold_out,
    run,
)


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
        return self._graph._weight_of(self.name)

    @property
    def b(self) -> np.ndarray[Any, Any]:
        """The bias this dense node adds, (units,): a writable view, shared like ``W``."""
        return self._graph._bias_of(self.name)

    def __repr__(self) -> str:
        return f"Node({self.name!r}, units={self.units})"


NodeRef = Union[Node, str]

# Held while a graph is built, so that threads making their first predictions at once build it
# once; reentrant, as building a graph over another's buffers builds that one first.
_BUILDING = threading.RLock()


@dataclass(frozen=True)
class _DenseDecl:
    name: str
    inputs: tuple[str, ...]
    units: int
    activation: str
    share: str
    transpose: bool
    dropout: float


@dataclass(frozen=True)
class _OutputDecl:
    node: str
    loss: str
    weight: float
    target: str


def _name_of(ref: Any, what: str) -> str:
    if isinstance(ref, Node):
        return ref.name
    if isinstance(ref, str) and ref:
        return ref
    raise TypeError(f"{what} must be a Node or a non-empty name, got {ref!r}")


class Graph:
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

    def __init__(self, dtype: npt.DTypeLike = "float64", seed: int = 0) -> None:
        self._dtype = as_dtype(dtype)
        self._seed = as_seed(seed)
        self._inputs: dict[str, int] = {}
        self._dense: dict[str, _DenseDecl] = {}
        self._outputs: dict[str, _OutputDecl] = {}
        self._core: Any = None
        self._buffers_of: Graph | None = None
        self._input_names: list[str] = []
        self._output_specs: list[tuple[str, int, str, float, str | None]] = []
        self._partial_passes = 0
        self.history: History | None = None
        #: The optimizer a loaded file held (see :func:`blasnet.load`), else None.
        self.optimizer: _core.Optimizer | None = None

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
        self._dense[name_] = _DenseDecl(
            name_, sources, units_, activation, shared, bool(transpose), float(dropout)
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
        self._outputs[name] = _OutputDecl(name, loss, weight_, target_)

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
            args = self._declarations()
            core = _core.GraphF32 if self._dtype == np.float32 else _core.GraphF64
            if self._buffers_of is None:
                built = core(*args, self._seed)
            else:
                built = core(*args, self._buffers_of._built())
            self._input_names = [name for name, _ in built.inputs]
            self._output_specs = list(built.outputs)
            self._core = built  # last: another thread takes a set _core for a finished build
        return self

    def _declarations(
        self,
    ) -> tuple[list[tuple[str, int]], list[tuple[Any, ...]], list[tuple[str, str, float, str]]]:
        """(inputs, nodes, outputs) as the core's graph takes them, in declaration order."""
        return (
            list(self._inputs.items()),
            [
                (d.name, list(d.inputs), d.units, d.activation, d.share, d.transpose, d.dropout)
                for d in self._dense.values()
            ],
            [(o.node, o.loss, o.weight, o.target) for o in self._outputs.values()],
        )

    @classmethod
    def _from_core(
        cls,
        core: Any,
        spec: tuple[list[Any], list[Any], list[Any]],
        dtype: np.dtype[Any],
        seed: int,
    ) -> Graph:
        """A Graph around a core graph read from a file, with its declarations."""
        g = cls(dtype, seed)
        inputs, nodes, outputs = spec
        for name, dim in inputs:
            g._inputs[name] = int(dim)
        for name, sources, units, activation, share, transpose, dropout in nodes:
            g._dense[name] = _DenseDecl(
                name, tuple(sources), int(units), activation, share, bool(transpose), dropout
            )
        for node, loss, weight, target in outputs:
            g._outputs[node] = _OutputDecl(node, loss, float(weight), target)
        g._input_names = [name for name, _ in core.inputs]
        g._output_specs = list(core.outputs)
        g._core = core
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
        self._save(path, "graph", optimizer, {"seed": self._seed})

    def _save(
        self,
        path: str | os.PathLike[str],
        kind: str,
        optimizer: _core.Optimizer | None,
        extra: dict[str, Any],
    ) -> None:
        _core.save_graph(self._built(), checked_path(path), kind, optimizer, json.dumps(extra))

    # --- describing --------------------------------------------------------------------------

    @property
    def dtype(self) -> np.dtype[Any]:
        """The graph's floating-point dtype."""
        return self._dtype

    @property
    def inputs(self) -> dict[str, int]:
        """Features per sample of each input, by name."""
        return dict(self._inputs)

    @property
    def outputs(self) -> list[str]:
        """The output nodes, in declaration order (the keys :meth:`forward` returns)."""
        return list(self._outputs)

    @property
    def nodes(self) -> list[tuple[str, list[str], int, int, str]]:
        """(name, what it reads, n_in, units, activation) of each dense node, in the order the
        forward pass runs them."""
        return list(self._built().nodes)

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
        core = self._built()
        arrays = self._input_list(inputs)
        try:
            outs = core.forward(arrays, training)
        except _core.NotCanonical:
            outs = core.forward(self._converted_inputs(arrays), training)
        return {spec[0]: out for spec, out in zip(self._output_specs, outs)}

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
        core = self._built()
        arrays = self._input_list(inputs)
        try:
            outs = core.predict(arrays)
        except _core.NotCanonical:
            outs = core.predict(self._converted_inputs(arrays))
        return {spec[0]: out for spec, out in zip(self._output_specs, outs)}

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
        core = self._built()
        arrays = self._converted_inputs(self._input_list(inputs))
        target_list = self._converted_targets(self._target_list(targets))
        weights = as_sample_weight(sample_weight, arrays[0].shape[0], self._dtype)
        return float(core.evaluate(arrays, target_list, weights))

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
        core = self._built()
        arrays, target_list = self._input_list(inputs), self._target_list(targets)
        if sample_weight is None:
            try:
                return float(core.backward(arrays, target_list))
            except _core.NotCanonical:
                pass
        X, T = self._converted_inputs(arrays), self._converted_targets(target_list)
        weights = as_sample_weight(sample_weight, X[0].shape[0], self._dtype)
        return float(core.backward(X, T, weights))

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
        core = self._built()
        arrays, target_list = self._input_list(inputs), self._target_list(targets)
        if sample_weight is None:
            try:
                return float(core.train_step(arrays, target_list, optimizer))
            except _core.NotCanonical:
                pass
        X, T = self._converted_inputs(arrays), self._converted_targets(target_list)
        weights = as_sample_weight(sample_weight, X[0].shape[0], self._dtype)
        return float(core.train_step(X, T, optimizer, weights))

    def fit(
        self,
        inputs: Mapping[Any, npt.ArrayLike] | npt.ArrayLike,
        targets: Mapping[Any, npt.ArrayLike] | None,
        optimizer: _core.Optimizer,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        *,
        validation_data: tuple[Any, Any] | None = None,
        validation_fraction: float | None = None,
        early_stopping: EarlyStopping | bool | None = None,
        schedule: _core.Schedule | None = None,
        sample_weight: npt.ArrayLike | None = None,
        class_weight: Mapping[Any, float] | str | None = None,
        callbacks: Sequence[Callback] = (),
        verbose: bool = False,
        comm: Any = None,
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
        if comm is not None:
            from . import distributed

            return distributed.fit(
                self, inputs, targets, optimizer, comm=comm, epochs=epochs,
                batch_size=batch_size, shuffle=shuffle, seed=seed,
                validation_data=validation_data, validation_fraction=validation_fraction,
                early_stopping=early_stopping, schedule=schedule, sample_weight=sample_weight,
                class_weight=class_weight, callbacks=callbacks, verbose=verbose,
            )
        core = self._built()
        X = self._converted_inputs(self._input_list(inputs))
        T = self._converted_targets(self._target_list(targets))
        n = X[0].shape[0]
        shuffle_seed = self._seed if seed is None else as_seed(seed)
        weights = combine_weights(
            as_sample_weight(sample_weight, n, self._dtype),
            None if class_weight is None else self._class_weights(T, class_weight),
            dtype=self._dtype,
        )
        X_val: list[Any] | None = None
        T_val: list[Any] | None = None
        if validation_data is not None and validation_fraction is not None:
            raise ValueError("give validation_data or validation_fraction, not both")
        if validation_data is not None:
            if not (isinstance(validation_data, tuple) and len(validation_data) == 2):
                raise TypeError("validation_data must be a tuple (inputs, targets)")
            X_val = self._converted_inputs(self._input_list(validation_data[0]))
            T_val = self._converted_targets(self._target_list(validation_data[1]))
        elif validation_fraction is not None:
            X, T, weights, X_val, T_val = hold_out(X, T, weights, validation_fraction, shuffle_seed)
        epochs_ = as_count(epochs, "epochs")
        batch_size_ = as_count(batch_size, "batch_size")
        stopping = early_stopping_args(early_stopping)

        def core_fit(on_epoch: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
            return core.fit(  # type: ignore[no-any-return]
                X, T, optimizer, epochs_, batch_size_, bool(shuffle), shuffle_seed, weights,
                X_val, T_val, schedule=schedule, on_epoch=on_epoch, **stopping,
            )

        return run(core_fit, self._keep_history, epochs_, callbacks, verbose)

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
        self._partial_passes += 1
        base = self._seed if seed is None else as_seed(seed)
        return self.fit(
            inputs, targets, optimizer, epochs=1, batch_size=batch_size, shuffle=shuffle,
            seed=(base + self._partial_passes) % 2**64 if seed is None else base,
            sample_weight=sample_weight,
        )

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
        core = self._built()
        return named_views(core.parameter_buffer(), core.parameter_info())

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
        core = self._built()
        return named_views(core.gradient_buffer(), core.parameter_info())

    @property
    def output_losses(self) -> dict[str, float]:
        """J_i of each output in the last backward or training step, before weighting."""
        core = self._built()
        return {spec[0]: loss for spec, loss in zip(self._output_specs, core.output_losses())}

    # --- internals ---------------------------------------------------------------------------

    def _keep_history(self, history: History) -> None:
        self.history = history

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

    def _built(self) -> Any:
        self.build()
        return self._core

    def _input_list(self, inputs: Any) -> list[Any]:
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
        names = [spec[0] for spec in self._output_specs]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValueError(f"targets for {unknown[0]!r}, which is not an output; outputs: {names}")
        out: list[Any] = []
        for name, _, _, _, from_input in self._output_specs:
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

    def _class_weights(
        self, T: list[Any], class_weight: Mapping[Any, float] | str
    ) -> np.ndarray[Any, Any]:
        scored = [
            (targets, spec[2])
            for targets, spec in zip(T, self._output_specs)
            if targets is not None and spec[2] != "mse"
        ]
        if len(scored) != 1:
            raise ValueError(
                "class_weight needs exactly one classification output with targets of its own; "
                f"this graph has {len(scored)}"
            )
        return class_weight_samples(scored[0][0], scored[0][1], class_weight)

    def _converted_inputs(self, arrays: list[Any]) -> list[np.ndarray[Any, Any]]:
        return [
            as_samples(array, self._dtype, f"input '{name}'")
            for name, array in zip(self._input_names, arrays)
        ]

    def _converted_targets(self, targets: list[Any]) -> list[Any]:
        return [
            None
            if from_input is not None
            else as_targets(T, loss, units, self._dtype, f"targets of '{name}'")
            for (name, units, loss, _, from_input), T in zip(self._output_specs, targets)
        ]

    def _weight_key(self, name: str) -> tuple[str, bool]:
        """The parameter key of the W dense node ``name`` applies, following its shares to the
        owner, and whether it applies it transposed (transposes along the chain cancel)."""
        transposed = False
        while self._dense[name].share:
            transposed ^= self._dense[name].transpose
            name = self._dense[name].share
        return f"{name}.W", transposed

    def _bias_key(self, name: str) -> str:
        """The parameter key of the b dense node ``name`` adds: a share's owner's, unless the
        share is transposed (then the node has a bias of its own)."""
        while self._dense[name].share and not self._dense[name].transpose:
            name = self._dense[name].share
        return f"{name}.b"

    def _weight_of(self, name: str) -> np.ndarray[Any, Any]:
        parameters = self.parameters()
        if name not in self._dense:
            raise ValueError(f"'{name}' is an input; only dense nodes have weights")
        key, transposed = self._weight_key(name)
        return parameters[key].T if transposed else parameters[key]

    def _bias_of(self, name: str) -> np.ndarray[Any, Any]:
        parameters = self.parameters()
        if name not in self._dense:
            raise ValueError(f"'{name}' is an input; only dense nodes have a bias")
        return parameters[self._bias_key(name)]

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
        from .onnx_export import export

        export(self, path, opset=opset)
