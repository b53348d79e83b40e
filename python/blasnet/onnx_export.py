"""ONNX export: a :class:`~blasnet.Sequential` or :class:`~blasnet.Graph` as an ONNX model, to
serve it from onnxruntime or any other ONNX runtime.

Each dense node, eqs. (1)-(2) ``y = f(W·[x_1; …; x_k] + b)``, becomes one ``Gemm`` per input
block, each adding the previous block's product as its ``C`` (the first adds ``b``), followed
by the activation. Samples are rows, as in :meth:`Sequential.predict`, so a block's product is
``x_k·W_kᵀ``: ``Gemm`` with ``transB=1``, and ``transB=0`` for a node that uses a shared ``W``
transposed. Every parameter is one initializer named by its key in ``parameters()``: a shared
``W`` is stored once, and the column blocks of a multi-input node are ``Slice`` nodes of it
(constant inputs, which runtimes fold when they load the model). Dropout is the identity at
inference and leaves no trace.

The ``onnx`` package is needed (``pip install 'blasnet[onnx]'``); importing blasnet does not
import it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from . import _core, services
from ._paths import checked_path
from .models import RNN, Graph, Perceptron, Sequential

Model = Union[Sequential, Graph, RNN, Perceptron]

__all__ = ["ACTIVATIONS", "DEFAULT_OPSET", "OnnxExportError", "export", "to_proto"]

#: The opset written by default: every onnxruntime since 1.13 runs it.
DEFAULT_OPSET = 17
#: The oldest opset written: Softmax normalises over one axis only from opset 13 on.
MIN_OPSET = 13

#: Names of a Sequential's input and output in the ONNX model (the note's X and Y).
SEQUENTIAL_INPUT = "X"
SEQUENTIAL_OUTPUT = "Y"

# A protobuf message cannot exceed 2 GiB; larger models would need external data files.
_PROTOBUF_LIMIT = 2**31 - 1


class OnnxExportError(ValueError):
    """The model cannot be written as ONNX: the message names what stands in the way.

    Examples
    --------
    >>> import numpy as np
    >>> import blasnet as bn
    >>> from blasnet.onnx_export import OnnxExportError, to_proto
    >>> net = bn.Sequential([bn.Dense(1)], input_dim=2)
    >>> net.parameters()["0.b"][:] = np.nan
    >>> try:
    ...     to_proto(net)
    ... except OnnxExportError as error:
    ...     print(error)
    parameter '0.b' holds NaN or infinite values; a model with them would serve NaN
    """


@dataclass(frozen=True)
class _Dense:
    """One dense node, as the exporter sees it: ``name`` is also its output tensor."""

    name: str
    sources: tuple[tuple[str, int], ...]  # (tensor, features) of each input block
    units: int
    activation: str
    weight: str  # the parameter key of the W it applies
    transposed: bool  # applies that W transposed
    bias: str  # the parameter key of the b it adds


@dataclass(frozen=True)
class _Plan:
    """What the ONNX graph holds: inputs, dense nodes in forward order, outputs."""

    kind: str
    inputs: tuple[tuple[str, int], ...]
    nodes: tuple[_Dense, ...]
    outputs: tuple[tuple[str, int], ...]
    parameters: dict[str, np.ndarray[Any, Any]]
    dtype: np.dtype[Any]
    metadata: dict[str, str]


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError as error:
        raise ImportError(
            "ONNX export needs the onnx package: pip install 'blasnet[onnx]'"
        ) from error
    return onnx


def to_proto(model: Model, opset: int | None = None) -> Any:
    """The model as an ``onnx.ModelProto``, checked by ``onnx.checker`` (full check).

    Parameters
    ----------
    model : Sequential, Graph or Perceptron
        A Perceptron is written as :meth:`Perceptron.to_graph` describes it. An RNN, whose
        graph depends on the sequence length, raises OnnxExportError.
    opset : int, optional
        The ONNX opset to target, from 13 up to what the installed onnx knows; default 17.

    Returns
    -------
    onnx.ModelProto
        Inputs and outputs of shape (batch, features) with a dynamic batch and the model's
        dtype. A Sequential reads ``"X"`` and writes ``"Y"``; a Graph's inputs and outputs
        keep their names. Each parameter is an initializer named by its key. A classifier's
        ``classes`` are kept as the JSON list ``metadata_props["classes"]``.

    Raises
    ------
    ImportError
        Without the onnx package.
    OnnxExportError
        A ValueError naming what cannot be exported: a model without a static graph (an
        RNN: export ``rnn.unroll(n_steps)``), a NaN or infinite parameter, an activation
        without an ONNX form, an opset out of range.

    Examples
    --------
    >>> import blasnet as bn
    >>> from blasnet.onnx_export import to_proto
    >>> net = bn.Sequential([bn.Dense(4, activation="tanh"), bn.Dense(2, activation="softmax")],
    ...                     input_dim=3)
    >>> proto = to_proto(net)
    >>> [node.op_type for node in proto.graph.node]
    ['Gemm', 'Tanh', 'Gemm', 'Softmax']
    >>> sorted(init.name for init in proto.graph.initializer)
    ['0.W', '0.b', '1.W', '1.b']
    """
    onnx = _import_onnx()
    opset_ = _checked_opset(opset, onnx)
    plan = _plan(model)
    model_proto = _Builder(onnx, plan).model(opset_)
    if model_proto.ByteSize() > _PROTOBUF_LIMIT:
        raise OnnxExportError(
            f"the {plan.kind}'s parameters take {model_proto.ByteSize()} bytes, more than the "
            "2 GiB a single ONNX file can hold"
        )
    try:
        onnx.checker.check_model(model_proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise OnnxExportError(f"the exported {plan.kind} fails onnx.checker: {error}") from error
    return model_proto


def export(model: Model, path: str | os.PathLike[str], opset: int | None = None) -> None:
    """Writes the model to an ONNX file; what :meth:`Sequential.to_onnx` and
    :meth:`Graph.to_onnx` call.

    The model is built and checked (see :func:`to_proto`) before anything is written; the
    file is then written by the code that saves model files (see :meth:`Sequential.save`):
    atomically, flushed to disk and renamed over ``path``, leaving no temporary file behind
    even if killed midway. On any error ``path`` is left as it was and ModelFileError (a
    ValueError) names the problem.

    Parameters
    ----------
    model : Sequential, Graph or Perceptron
    path : str or path-like
    opset : int, optional
        As for :func:`to_proto`.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> import blasnet as bn
    >>> from blasnet.onnx_export import export
    >>> net = bn.Sequential([bn.Dense(3, activation="relu"), bn.Dense(1)], input_dim=2)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.onnx")
    >>> export(net, path)
    >>> X = np.array([[0.5, -1.0], [2.0, 0.25]])
    >>> (Y,) = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"X": X})
    >>> bool(np.allclose(Y, net.predict(X), rtol=1e-12, atol=0))
    True
    """
    proto = to_proto(model, opset)
    _core.write_atomically(checked_path(path), proto.SerializeToString())


# --- reading the model ---------------------------------------------------------------------


def _plan(model: Any) -> _Plan:
    if isinstance(model, Sequential):
        plan = _sequential_plan(model)
    elif isinstance(model, Graph):
        plan = _graph_plan(model)
    elif isinstance(model, Perceptron):
        plan = _graph_plan(model.to_graph())
    elif isinstance(model, RNN):
        raise OnnxExportError(
            "an RNN has no static graph: its unrolling depends on the sequence length; export "
            "rnn.unroll(n_steps), a Graph with inputs h0, x1, ..., x<n>, for sequences of "
            "n_steps"
        )
    else:
        raise TypeError(
            f"ONNX export takes a blasnet Sequential, Graph or Perceptron, got {type(model).__name__}"
        )
    for node in plan.nodes:
        if node.activation not in ACTIVATIONS:
            raise OnnxExportError(
                f"node '{node.name}': activation {node.activation!r} has no ONNX form here; "
                f"exportable: {', '.join(ACTIVATIONS)}"
            )
    for key in sorted({key for node in plan.nodes for key in (node.weight, node.bias)}):
        if not np.isfinite(plan.parameters[key]).all():
            raise OnnxExportError(
                f"parameter '{key}' holds NaN or infinite values; a model with them would "
                "serve NaN"
            )
    return plan


def _sequential_plan(net: Sequential) -> _Plan:
    layers = net.layers
    # A hidden layer's tensor is named by the layer, unless a layer is called "X" or "Y".
    taken = {SEQUENTIAL_INPUT, SEQUENTIAL_OUTPUT}
    nodes = []
    source = (SEQUENTIAL_INPUT, net.input_dim)
    for index, (name, _, n_out, activation) in enumerate(layers):
        tensor = SEQUENTIAL_OUTPUT if index == len(layers) - 1 else _unused(name, taken)
        nodes.append(_Dense(tensor, (source,), n_out, activation, f"{name}.W", False, f"{name}.b"))
        source = (tensor, n_out)
    return _Plan(
        kind="Sequential",
        inputs=((SEQUENTIAL_INPUT, net.input_dim),),
        nodes=tuple(nodes),
        outputs=((SEQUENTIAL_OUTPUT, net.output_dim),),
        parameters=net.parameters(),
        dtype=net.dtype,
        # A classifier's class names, one per column of Y, for the server to map them back.
        metadata={} if net.classes is None else {"classes": json.dumps(list(net.classes))},
    )


def _unused(base: str, taken: set[str]) -> str:
    """``base``, or ``base_1``, ``base_2``, ... if it is taken; marked as taken."""
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def _graph_plan(graph: Graph) -> _Plan:
    parameters = graph.parameters()  # builds the graph, checking it
    # The core's plan says the forward order, the widths, and where the W and b each node
    # applies live (a sharing node's are its owner's): the key of the block at that offset.
    key_at = {info.offset: info.name for info in graph.parameter_info()}
    width = dict(graph.inputs)
    nodes = []
    for node in graph.planned_nodes:
        sources = tuple((source, width[source]) for source in node.reads)
        nodes.append(_Dense(node.name, sources, node.units, node.activation,
                            key_at[node.weight_offset], node.transposed, key_at[node.bias_offset]))
        width[node.name] = node.units
    return _Plan(
        kind="Graph",
        inputs=tuple(graph.inputs.items()),
        nodes=tuple(nodes),
        outputs=tuple((name, width[name]) for name in graph.outputs),
        parameters=parameters,
        dtype=graph.dtype,
        metadata={},
    )


# --- writing the graph ---------------------------------------------------------------------


#: The activations with an ONNX form: all of blasnet's (``blasnet.ACTIVATIONS``).
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax", "step")

_POINTWISE = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}


def _activation(builder: _Builder, activation: str, z: str, y: str) -> None:
    """y = f(z) for every activation but identity, whose last Gemm writes y itself."""
    if activation == "softmax":
        # Over the features of each sample: one row here, one column of the note's Z.
        builder.node("Softmax", [z], y, axis=1)
    elif activation == "step":
        # activations.cpp: y = 1 if z ≥ 0, else 0 (so 1 at 0, and 0 for NaN, as ≥ is false).
        at_least_zero = builder.tensor(f"{y}:z>=0")
        builder.node("GreaterOrEqual", [z, builder.zero()], at_least_zero)
        builder.node("Cast", [at_least_zero], y, to=builder.elem_type)
    else:
        builder.node(_POINTWISE[activation], [z], y)


class _Builder:
    """Accumulates the ONNX graph of one plan, giving every tensor a name of its own."""

    def __init__(self, onnx: Any, plan: _Plan) -> None:
        self.onnx = onnx
        self.plan = plan
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(plan.dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        # The model's own input and output names come first and are kept as they are.
        self.taken = {name for name, _ in plan.inputs} | {node.name for node in plan.nodes}
        self.parameter_tensors: dict[str, str] = {}
        self.slices: dict[tuple[str, int, int, int], str] = {}
        self.indices: dict[int, str] = {}
        self.zero_tensor = ""

    def tensor(self, base: str) -> str:
        """A tensor name not used yet, ``base`` itself if possible."""
        return _unused(base, self.taken)

    def node(self, op: str, inputs: Sequence[str], output: str, **attributes: Any) -> None:
        self.nodes.append(
            self.onnx.helper.make_node(
                op, list(inputs), [output], name=f"{output}/{op}", **attributes
            )
        )

    def initializer(self, base: str, array: np.ndarray[Any, Any]) -> str:
        name = self.tensor(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def parameter(self, key: str) -> str:
        """The initializer of a parameter, made on first use: a shared W is stored once."""
        if key not in self.parameter_tensors:
            array = np.ascontiguousarray(self.plan.parameters[key], dtype=self.plan.dtype)
            self.parameter_tensors[key] = self.initializer(key, array)
        return self.parameter_tensors[key]

    def zero(self) -> str:
        if not self.zero_tensor:
            self.zero_tensor = self.initializer("zero", np.zeros((), dtype=self.plan.dtype))
        return self.zero_tensor

    def index(self, value: int) -> str:
        """A one-element int64 initializer holding ``value``, made once per value."""
        if value not in self.indices:
            self.indices[value] = self.initializer(f"int64:{value}", np.array([value], np.int64))
        return self.indices[value]

    def block(self, weight: str, start: int, stop: int, axis: int) -> str:
        """Rows or columns [start, stop) of a weight, sliced once however often it is used."""
        key = (weight, start, stop, axis)
        if key not in self.slices:
            bounds = [self.index(start), self.index(stop), self.index(axis)]
            self.slices[key] = self.tensor(f"{weight}[{start}:{stop}]")
            self.node("Slice", [weight, *bounds], self.slices[key])
        return self.slices[key]

    def dense(self, spec: _Dense) -> None:
        # Z = Σ_k x_k·W_kᵀ + b, block after block, each Gemm adding the running sum as its C.
        W = self.parameter(spec.weight)
        y = spec.name
        running = self.parameter(spec.bias)
        offset = 0
        for k, (source, features) in enumerate(spec.sources):
            if len(spec.sources) == 1:
                block = W
            else:
                # Columns of W are rows of a W that is applied transposed.
                block = self.block(W, offset, offset + features, 0 if spec.transposed else 1)
            offset += features
            last = k == len(spec.sources) - 1
            product = y if last and spec.activation == "identity" else self.tensor(f"{y}:z{k}")
            self.node(
                "Gemm", [source, block, running], product,
                transB=0 if spec.transposed else 1,
            )
            running = product
        if spec.activation != "identity":
            _activation(self, spec.activation, running, y)

    def model(self, opset: int) -> Any:
        helper = self.onnx.helper
        for spec in self.plan.nodes:
            self.dense(spec)
        inputs = [
            helper.make_tensor_value_info(name, self.elem_type, ["batch", dim])
            for name, dim in self.plan.inputs
        ]
        outputs = [
            helper.make_tensor_value_info(name, self.elem_type, ["batch", dim])
            for name, dim in self.plan.outputs
        ]
        graph = helper.make_graph(
            self.nodes, f"blasnet.{self.plan.kind}", inputs, outputs, self.initializers
        )
        opsets = [helper.make_opsetid("", opset)]
        proto = helper.make_model(
            graph,
            opset_imports=opsets,
            ir_version=helper.find_min_ir_version_for(opsets),
            producer_name="blasnet",
            producer_version=_core.__version__,
        )
        helper.set_model_props(proto, self.plan.metadata)
        proto.doc_string = (
            f"A blasnet {self.plan.kind} in {self.plan.dtype.name}: "
            + ", ".join(f"{spec.name} {spec.activation}" for spec in self.plan.nodes)
        )
        return proto


def _checked_opset(opset: Any, onnx: Any) -> int:
    if opset is None:
        return DEFAULT_OPSET
    newest = int(onnx.defs.onnx_opset_version())
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an integer, got {opset!r}")
    if not MIN_OPSET <= int(opset) <= newest:
        raise OnnxExportError(
            f"opset must be in [{MIN_OPSET}, {newest}] (the installed onnx knows up to "
            f"{newest}), got {opset}"
        )
    return int(opset)


services.register("onnx", export)
