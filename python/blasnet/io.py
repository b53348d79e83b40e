"""Reading model files: the models' ``save`` methods write them (see model_file.hpp for the
format: safetensors, with the architecture and the optimizer in the header's metadata)."""

from __future__ import annotations

import json
import os
from typing import Any, Union

import numpy as np

from . import _core
from ._convert import checked_classes
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
        does not parse, tensors that do not fit the architecture, an unknown model kind.

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
    loaded = _core.load_model(checked_path(path))
    kind, dtype = loaded["kind"], np.dtype(loaded["dtype"])
    extra = json.loads(loaded["extra"])
    seed = int(extra.get("seed", 0))
    model: Model
    if kind == "sequential":
        model = Sequential._from_core(loaded["core"], dtype, seed)
        if "classes" in extra:
            model.classes = _classes(extra["classes"], model.output_dim, path)
    elif kind == "graph":
        model = Graph._from_core(loaded["core"], loaded["spec"], dtype, seed)
    elif kind == "rnn":
        model = _rnn(loaded["core"], extra, path)
    elif kind == "perceptron":
        return _perceptron(Graph._from_core(loaded["core"], loaded["spec"], dtype, seed), extra,
                           path)
    else:
        raise ModelFileError(f"model file '{os.fspath(path)}' holds a {kind!r}, not a model "
                             "blasnet can rebuild (sequential, graph, rnn or perceptron)")
    model.optimizer = loaded["optimizer"]
    return model


def _classes(names: Any, n_outputs: int, path: str | os.PathLike[str]) -> list[Any]:
    try:
        return checked_classes(names, n_outputs, f"model file '{os.fspath(path)}'")
    except ValueError as error:
        raise ModelFileError(str(error)) from error


def _perceptron(g: Graph, arguments: dict[str, Any], path: str | os.PathLike[str]) -> Perceptron:
    nodes = g.nodes
    if (len(g.inputs) != 1 or len(nodes) != 1 or nodes[0][0] != "perceptron"
            or nodes[0][4] != "step" or g.parameters().keys() != {"perceptron.W", "perceptron.b"}):
        raise ModelFileError(f"model file '{os.fspath(path)}': a perceptron is one node "
                             f"'perceptron' of step units over one input, not {nodes}")
    n_features = next(iter(g.inputs.values()))
    try:
        p = Perceptron(n_features, nodes[0][3], lr=arguments.get("lr", 1.0), dtype=g.dtype,
                       seed=int(arguments.get("seed", 0)))
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"model file '{os.fspath(path)}': its perceptron arguments do not "
                             f"rebuild one: {error}") from error
    for key, value in p.parameters().items():
        value[:] = g.parameters()[key]
    return p


def _rnn(core: Any, arguments: dict[str, Any], path: str | os.PathLike[str]) -> RNN:
    try:
        rnn = RNN(**arguments)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"model file '{os.fspath(path)}': its RNN arguments do not "
                             f"rebuild one: {error}") from error
    owner = rnn.unroll(1)._built()
    if owner.parameter_info() != core.parameter_info():
        raise ModelFileError(f"model file '{os.fspath(path)}': its graph is not the one-step "
                             "unrolling of the RNN its arguments describe")
    owner.parameter_buffer()[:] = core.parameter_buffer()
    return rnn
