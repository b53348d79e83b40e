"""Reading model files: the models' ``save`` methods write them (see model_file.hpp for the
format: safetensors, with the architecture and the optimizer in the header's metadata)."""

from __future__ import annotations

import inspect
import json
import os
from typing import Any, Union

import numpy as np

from . import _core
from ._convert import as_seed, checked_classes
from ._paths import checked_path
from .graph import Graph
from .perceptron import Perceptron
from .rnn import RNN
from .sequential import Sequential

ModelFileError = _core.ModelFileError

Model = Union[Sequential, Graph, RNN, Perceptron]


def load(path: str | os.PathLike[str]) -> Model:
    """Reads a model file that ``save`` wrote — from Python or from C++ (``blasnet::save``) —
    checking every part of it before trusting it.

    Returns
    -------
    Sequential, Graph, RNN or Perceptron
        As saved, with its parameters bit for bit. If the file holds an optimizer, the model's
        ``optimizer`` attribute is that optimizer with its state (steps, moments), ready to
        continue training; otherwise it is None.

    Raises
    ------
    ModelFileError
        A ValueError naming the problem: a missing, truncated or corrupt file, a header that
        does not parse, tensors that do not fit the architecture, an unknown model kind, or
        arguments in the header's ``extra`` of the wrong type or range or that do not describe
        the architecture read (all checked before the model is rebuilt). No other exception
        escapes for any file's contents.

    Examples
    --------
    >>> import os, tempfile
    >>> import blasnet as bn
    >>> net, adam = bn.Sequential([bn.Dense(2)], input_dim=2), bn.Adam()
    >>> _ = net.fit([[0.0, 1.0]], [[1.0, 0.0]], loss="mse", optimizer=adam, epochs=3)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.safetensors")
    >>> net.save(path, optimizer=adam)
    >>> bn.load(path).optimizer.steps
    3
    """
    path = checked_path(path)
    loaded = _core.load_model(path)
    label = f"model file '{path}'"
    kind, dtype = loaded["kind"], np.dtype(loaded["dtype"])
    # The core has checked the graph, its tensors and that extra is a JSON object; what the
    # Python kinds read from extra is checked here, against that graph, before it can size
    # anything.
    extra = json.loads(loaded["extra"])
    try:
        seed = as_seed(extra.get("seed", 0))
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{label}: its extra seed: {error}") from error
    model: Model
    if kind == "sequential":
        model = Sequential._from_core(loaded["core"], dtype, seed)
        if "classes" in extra:
            model.classes = _classes(extra["classes"], model.output_dim, label)
    elif kind == "graph":
        model = Graph._from_core(loaded["core"], loaded["spec"], dtype, seed)
    elif kind == "rnn":
        model = _rnn(Graph._from_core(loaded["core"], loaded["spec"], dtype, seed), extra, label)
    elif kind == "perceptron":
        return _perceptron(Graph._from_core(loaded["core"], loaded["spec"], dtype, seed), extra,
                           label)
    else:
        raise ModelFileError(f"{label} holds a {kind!r}, not a model blasnet can rebuild "
                             "(sequential, graph, rnn or perceptron)")
    model.optimizer = loaded["optimizer"]
    return model


def _classes(names: Any, n_outputs: int, label: str) -> list[Any]:
    try:
        return checked_classes(names, n_outputs, label)
    except ValueError as error:
        raise ModelFileError(str(error)) from error


def _perceptron(g: Graph, arguments: dict[str, Any], label: str) -> Perceptron:
    nodes = g.nodes
    if (len(g.inputs) != 1 or len(nodes) != 1 or nodes[0][0] != "perceptron"
            or nodes[0][4] != "step" or g.parameters().keys() != {"perceptron.W", "perceptron.b"}):
        raise ModelFileError(f"{label}: a perceptron is one node 'perceptron' of step units over "
                             f"one input, not {nodes}")
    n_features = next(iter(g.inputs.values()))
    unknown = sorted(set(arguments) - {"seed", "lr"})
    if unknown:
        raise ModelFileError(f"{label}: its perceptron arguments hold unknown keys {unknown}")
    # Its sizes are the verified graph's, so the perceptron is no larger than that graph.
    try:
        p = Perceptron(n_features, nodes[0][3], lr=arguments.get("lr", 1.0), dtype=g.dtype,
                       seed=arguments.get("seed", 0))
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{label}: its perceptron arguments do not rebuild one: "
                             f"{error}") from error
    for key, value in p.parameters().items():
        value[:] = g.parameters()[key]
    return p


def _rnn(one_step: Graph, arguments: dict[str, Any], label: str) -> RNN:
    # Checked and compared with the verified graph before anything is allocated: the RNN then
    # takes that graph's parameters as they are.
    unknown = sorted(set(arguments) - set(_RNN_ARGUMENTS))
    if unknown:
        raise ModelFileError(f"{label}: its RNN arguments hold unknown keys {unknown}")
    missing = [key for key in _RNN_ARGUMENTS[:3] if key not in arguments]
    if missing:
        raise ModelFileError(f"{label}: its RNN arguments lack {', '.join(map(repr, missing))}")
    try:
        return RNN._around(one_step, arguments)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{label}: its RNN arguments do not rebuild one: {error}") from error


_RNN_ARGUMENTS = tuple(inspect.signature(RNN.__init__).parameters)[1:]
