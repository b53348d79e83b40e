"""Reading model files: the models' ``save`` methods write them (see model_file.hpp for the
format: safetensors, with the architecture and the optimizer in the header's metadata)."""

from __future__ import annotations

import os
from typing import Any, Union

from . import _core
from ._paths import checked_path
from .models import Graph, Perceptron, RNN, Sequential

__all__ = ["KINDS", "Model", "ModelFileError", "load"]

ModelFileError = _core.ModelFileError

Model = Union[Sequential, Graph, RNN, Perceptron]

#: The class that rebuilds each kind of model file.
KINDS: dict[str, Any] = {cls.kind: cls for cls in (Sequential, Graph, RNN, Perceptron)}


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
    kind = loaded["kind"]
    if kind not in KINDS:
        raise ModelFileError(f"model file '{path}' holds a {kind!r}, not a model blasnet can "
                             "rebuild (sequential, graph, rnn or perceptron)")
    model: Model = KINDS[kind].from_loaded(loaded, f"model file '{path}'")
    return model
