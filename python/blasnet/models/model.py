"""The one model layer: a network held as the core's graph (GraphSpec → GraphPlan → Graph over
one flat parameter arena), and what every model does with it — convert and check the data of
a call, train it with the core's one loop, evaluate it, hand out its parameters, save and
export it. :class:`~blasnet.Graph` and :class:`~blasnet.Sequential` present it as a graph of
named inputs and outputs and as a stack of layers; an :class:`~blasnet.RNN` unrolls graphs.

The arrays of a call are converted once, here (:func:`blasnet._convert.as_samples`), into the
layout the core reads in place; the core verifies that layout and never asks for a retry."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypedDict, Union

import numpy as np
import numpy.typing as npt

from .. import _core, services
from .._convert import as_count, as_dtype, as_sample_weight, as_samples, as_seed, as_targets
from .._paths import checked_path
from .._views import named_views
from ..history import History
from ..training import (
    Callback,
    EarlyStopping,
    class_weight_samples,
    combine_weights,
    early_stopping_args,
    hold_out,
    run,
)

ModelFileError = _core.ModelFileError

#: The core graph a model runs on, of its dtype.
CoreGraph = Union[_core.GraphF64, _core.GraphF32]


class FitOptions(TypedDict, total=False):
    """The keyword arguments every model's ``fit`` takes after the positional ones, as
    :meth:`Sequential.fit` documents them: declared once, here, and checked by :meth:`Model._fit`.

    Examples
    --------
    >>> from blasnet.models import FitOptions
    >>> sorted(FitOptions.__annotations__)[:3]
    ['callbacks', 'class_weight', 'comm']
    """

    validation_data: tuple[Any, Any] | None
    validation_fraction: float | None
    early_stopping: EarlyStopping | bool | None
    schedule: _core.Schedule | None
    sample_weight: npt.ArrayLike | None
    class_weight: Mapping[Any, float] | str | None
    callbacks: Sequence[Callback]
    verbose: bool
    comm: Any


class Model:
    """A network whose passes run in the C++ core: the base of every model class.

    Subclasses give their calls' data to the methods here as lists — one array per input of
    the core graph, one target per output (None for an output whose targets are an input) —
    and say how the graph is built (:attr:`core`) and what their model file records
    besides the graph (:meth:`_extra`).

    Examples
    --------
    >>> import blasnet as bn
    >>> from blasnet.models import Model
    >>> net = bn.Sequential([bn.Dense(2)], input_dim=3)
    >>> isinstance(net, Model), isinstance(bn.Graph(), Model), net.kind
    (True, True, 'sequential')
    """

    #: The model file's kind, and the class :func:`blasnet.load` rebuilds for it.
    kind: ClassVar[str]

    def __init__(self, dtype: npt.DTypeLike, seed: int) -> None:
        self._dtype = as_dtype(dtype)
        self._seed = as_seed(seed)
        self._partial_passes = 0
        self.history: History | None = None
        #: The optimizer a loaded file held (see :func:`blasnet.load`), else None.
        self.optimizer: _core.Optimizer | None = None

    # --- what subclasses provide ---------------------------------------------------------

    @property
    def core(self) -> CoreGraph:
        """The C++ graph the model runs on (``blasnet._core.GraphF64`` or ``GraphF32``), built
        on first use: its plan (``nodes``, ``outputs``, ``parameter_info()``) and buffers."""
        raise NotImplementedError

    def _extra(self) -> dict[str, Any]:
        """What the model file's ``extra`` records besides the graph."""
        return {"seed": self._seed}

    # --- description -----------------------------------------------------------------------

    @property
    def dtype(self) -> np.dtype[Any]:
        """The floating-point dtype of the parameters and of every computation."""
        return self._dtype

    @property
    def seed(self) -> int:
        """The seed of the initial weights; also the default of ``fit``'s ``seed``."""
        return self._seed

    @property
    def planned_nodes(self) -> list[Any]:
        """The dense nodes as the core planned them, in forward order: records with ``name``,
        ``reads``, ``n_in``, ``units``, ``activation``, ``dropout``, and the flat-buffer
        offsets of the W and b each applies (``weight_offset``, ``bias_offset``; its own or
        those it shares, W transposed when ``transposed``), as :meth:`parameter_info` lays
        them out."""
        return list(self.core.nodes)

    def parameter_info(self) -> list[Any]:
        """Where each parameter lives in the flat buffer: records with ``name``, ``offset``,
        ``shape``, in the order :meth:`parameters` lists them.

        Examples
        --------
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(2), bn.Dense(1)], input_dim=3)
        >>> [(p.name, p.offset, p.shape) for p in net.parameter_info()]
        [('0.W', 0, (2, 3)), ('0.b', 6, (2,)), ('1.W', 8, (1, 2)), ('1.b', 10, (1,))]
        """
        return list(self.core.parameter_info())

    # --- computing -----------------------------------------------------------------------
    # The arrays of a call (forward, predict, evaluate, backward, train_step, fit) go to the
    # core as they are: it reads in place what it can (python/bindings/arrays.hpp, the one
    # definition of that layout) and has the rest converted once by blasnet._convert, whose
    # errors name what is wrong.

    def _forward(self, inputs: list[Any], training: bool) -> list[np.ndarray[Any, Any]]:
        return list(self.core.forward(inputs, bool(training)))

    def _predict(self, inputs: list[Any]) -> list[np.ndarray[Any, Any]]:
        return list(self.core.predict(inputs))

    def _converted(
        self, core: Any, inputs: list[Any], targets: list[Any], loss: str | None
    ) -> tuple[list[np.ndarray[Any, Any]], list[Any]]:
        """The data as the core would convert them, for what fit does with the rows in Python
        (class weights, a validation split)."""
        X = [as_samples(a, self._dtype, label) for a, label in zip(inputs, core.input_labels)]
        T = [
            None if spec.target is not None
            else as_targets(t, loss or spec.loss, spec.units, self._dtype, label)
            for t, spec, label in zip(targets, core.outputs, core.target_labels)
        ]
        return X, T

    # --- training ------------------------------------------------------------------------

    def _fit(
        self,
        inputs: Sequence[Any],
        targets: Sequence[Any],
        optimizer: _core.Optimizer,
        epochs: int,
        batch_size: int,
        shuffle: bool,
        seed: int | None,
        options: FitOptions,
        loss: str | None = None,
        validation: Callable[[Any], tuple[Sequence[Any], Sequence[Any]]] | None = None,
    ) -> History:
        """The one fit of every model: ``validation`` turns ``validation_data`` into input and
        target lists; with ``comm``, the same run as one rank of a data-parallel job."""
        unknown = sorted(set(options) - set(FitOptions.__annotations__))
        if unknown:
            raise TypeError(f"fit() got an unexpected keyword argument {unknown[0]!r}")
        comm = options.get("comm")

        def train(collective: Any) -> History:
            """The run, on one process or as one rank of the job over comm."""
            core = self.core
            X, T = list(inputs), list(targets)
            shuffle_seed = self._seed if seed is None else as_seed(seed)
            class_weight = options.get("class_weight")
            validation_fraction = options.get("validation_fraction")
            weights: Any = options.get("sample_weight")
            if class_weight is not None or validation_fraction is not None:
                X, T = self._converted(core, X, T, loss)
                weights = combine_weights(
                    as_sample_weight(weights, X[0].shape[0], self._dtype),
                    None if class_weight is None
                    else self._class_weights(core, T, loss, class_weight),
                    dtype=self._dtype,
                )
            validation_data = options.get("validation_data")
            X_val: Any = None
            T_val: Any = None
            if validation_data is not None and validation_fraction is not None:
                raise ValueError("give validation_data or validation_fraction, not both")
            if validation_data is not None:
                if not (isinstance(validation_data, tuple) and len(validation_data) == 2):
                    raise TypeError("validation_data must be a tuple (inputs, targets)")
                X_val, T_val = (validation(validation_data) if validation is not None
                                else validation_data)
            elif validation_fraction is not None:
                X, T, weights, X_val, T_val = hold_out(X, T, weights, validation_fraction,
                                                       shuffle_seed)
            epochs_ = as_count(epochs, "epochs")
            batch_size_ = as_count(batch_size, "batch_size")
            stopping = early_stopping_args(options.get("early_stopping"))
            schedule = options.get("schedule")
            shard = None if collective is None else (collective.rank, collective.size)

            def core_fit(on_epoch: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
                if collective is not None:
                    collective.start(core.parameter_buffer(), optimizer)
                return core.fit(
                    X, T, optimizer, epochs_, batch_size_, bool(shuffle), shuffle_seed, weights,
                    X_val, T_val, schedule=schedule, on_epoch=on_epoch, loss=loss, shard=shard,
                    hook=collective, **stopping,
                )

            verbose = bool(options.get("verbose", False))
            if collective is not None:
                verbose = verbose and collective.rank == 0
            return run(core_fit, self._keep_history, epochs_, options.get("callbacks", ()),
                       verbose)

        if comm is None:
            return train(None)
        result: History = services.data_parallel(comm, train)
        return result

    def _partial_fit(
        self,
        inputs: Sequence[Any],
        targets: Sequence[Any],
        optimizer: _core.Optimizer,
        batch_size: int,
        shuffle: bool,
        seed: int | None,
        sample_weight: npt.ArrayLike | None,
        loss: str | None = None,
    ) -> History:
        """One epoch of :meth:`_fit`; each call without a seed draws a new order."""
        self._partial_passes += 1
        base = self._seed if seed is None else as_seed(seed)
        return self._fit(
            inputs, targets, optimizer, 1, batch_size, shuffle,
            (base + self._partial_passes) % 2**64 if seed is None else base,
            {"sample_weight": sample_weight}, loss,
        )

    def _keep_history(self, history: History) -> None:
        self.history = history

    def _class_weights(
        self, core: Any, T: list[Any], loss: str | None, class_weight: Mapping[Any, float] | str
    ) -> np.ndarray[Any, Any]:
        scored = [
            (targets, loss or spec.loss)
            for targets, spec in zip(T, core.outputs)
            if targets is not None and (loss or spec.loss) != "mse"
        ]
        if len(scored) != 1:
            raise ValueError(
                "class_weight needs exactly one classification output with targets of its own; "
                f"this model has {len(scored)}"
            )
        [(targets, loss_name)] = scored
        return class_weight_samples(targets, loss_name, class_weight)

    # --- parameters ------------------------------------------------------------------------

    def parameters(self) -> dict[str, np.ndarray[Any, Any]]:
        """Writable views of every parameter, keyed ``"<node>.W"`` (units, n_in) and
        ``"<node>.b"`` (units,), for the nodes that own them. Writing to them changes the
        model; no copy is made.

        Examples
        --------
        >>> import blasnet as bn
        >>> {k: v.shape for k, v in bn.Sequential([bn.Dense(2)], input_dim=3).parameters().items()}
        {'0.W': (2, 3), '0.b': (2,)}
        """
        core = self.core
        return named_views(core.parameter_buffer(), core.parameter_info())

    def gradients(self) -> dict[str, np.ndarray[Any, Any]]:
        """dJ/dW and dJ/db of the last backward pass, with the keys and shapes of
        :meth:`parameters`; views, refreshed in place by every backward pass (a shared block
        holds the sum over its uses).

        Examples
        --------
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(1)], input_dim=1)
        >>> net.parameters()["0.W"][:] = 1.0
        >>> net.backward([[2.0]], [[0.0]], "mse")  # ½(2 − 0)²
        2.0
        >>> net.gradients()["0.W"].tolist()  # (y − t)·x
        [[4.0]]
        """
        core = self.core
        return named_views(core.gradient_buffer(), core.parameter_info())

    # --- files -----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str], optimizer: _core.Optimizer | None = None) -> None:
        """Writes the model to a model file (safetensors: the weights under their parameter
        keys, the architecture and, if given, the optimizer's rule and state in the header).

        Atomic: a temporary file in the same folder is written, flushed to disk and renamed
        over ``path``; on any failure ``path`` is left as it was. Raises ModelFileError (a
        ValueError) naming the problem. :func:`blasnet.load` reads the file back, bit for bit,
        and so does ``blasnet::load`` in C++.

        Examples
        --------
        >>> import os, tempfile
        >>> import blasnet as bn
        >>> path = os.path.join(tempfile.mkdtemp(), "net.safetensors")
        >>> bn.Sequential([bn.Dense(2)], input_dim=3).save(path)
        >>> bn.load(path).kind
        'sequential'
        """
        extra = json.dumps(self._extra())
        _core.save_graph(self.core, checked_path(path), self.kind, optimizer, extra)

    def to_bytes(self, optimizer: _core.Optimizer | None = None) -> bytes:
        """The model file :meth:`save` writes, as bytes (what pickling a model stores).

        Examples
        --------
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(2)], input_dim=3)
        >>> again = bn.Sequential.from_bytes(net.to_bytes())
        >>> bool((again.parameters()["0.W"] == net.parameters()["0.W"]).all())
        True
        """
        return saved_bytes(self.save, optimizer)

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        """The model of :meth:`to_bytes`' bytes, checked as :func:`blasnet.load` checks a
        file; ModelFileError if they hold another kind of model.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.Graph()
        >>> g.output(g.dense(g.input("x", 2), 1, name="y"), "mse")
        >>> bn.Graph.from_bytes(g.to_bytes()).outputs
        ['y']
        >>> bn.Sequential.from_bytes(g.to_bytes())
        Traceback (most recent call last):
        ...
        blasnet._core.ModelFileError: model bytes holds a 'graph', not a 'sequential'
        """
        loaded = _core.load_model_bytes(bytes(data))
        return cls.from_loaded(loaded, "model bytes")

    @classmethod
    def from_loaded(cls, loaded: dict[str, Any], label: str) -> Model:
        """The model around a core graph the core read and checked from a model file
        (``_core.load_model``'s dict); what the Python kinds read from its ``extra`` is checked
        here before it can size anything. ModelFileError naming ``label`` otherwise.

        Examples
        --------
        >>> import os, tempfile
        >>> import blasnet as bn
        >>> from blasnet import _core
        >>> path = os.path.join(tempfile.mkdtemp(), "net.safetensors")
        >>> bn.Sequential([bn.Dense(2)], input_dim=3).save(path)
        >>> bn.Sequential.from_loaded(_core.load_model(path), path).input_dim
        3
        """
        if loaded["kind"] != cls.kind:
            raise ModelFileError(f"{label} holds a {loaded['kind']!r}, not a {cls.kind!r}")
        extra = json.loads(loaded["extra"])
        try:
            seed = as_seed(extra.get("seed", 0))
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{label}: its extra seed: {error}") from error
        model = cls._rebuilt(loaded, np.dtype(loaded["dtype"]), seed, extra, label)
        model.optimizer = loaded["optimizer"]
        return model

    @classmethod
    def _rebuilt(
        cls, loaded: dict[str, Any], dtype: np.dtype[Any], seed: int, extra: dict[str, Any],
        label: str,
    ) -> Model:
        raise NotImplementedError

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling, copying and joblib go through the model file: one serialization path.
        return (type(self).from_bytes, (self.to_bytes(self.optimizer),))

    def to_onnx(self, path: str | os.PathLike[str], opset: int | None = None) -> None:
        """Writes the model to an ONNX file, to serve it from onnxruntime or any ONNX runtime;
        needs the onnx package (``pip install 'blasnet[onnx]'``). See
        :func:`blasnet.onnx_export.export`.

        Examples
        --------
        >>> import os, tempfile
        >>> import onnx
        >>> import blasnet as bn
        >>> path = os.path.join(tempfile.mkdtemp(), "net.onnx")
        >>> bn.Sequential([bn.Dense(2)], input_dim=3).to_onnx(path)
        >>> [i.name for i in onnx.load(path).graph.input]
        ['X']
        """
        services.export_onnx(self, path, opset)


def saved_bytes(
    save: Callable[[str, _core.Optimizer | None], None], optimizer: _core.Optimizer | None
) -> bytes:
    """The bytes of the model file ``save(path, optimizer)`` writes.

    Examples
    --------
    >>> import blasnet as bn
    >>> from blasnet.models.model import saved_bytes
    >>> saved_bytes(bn.Sequential([bn.Dense(2)], input_dim=3).save, None)[8:9]
    b'{'
    """
    with tempfile.TemporaryDirectory(prefix="blasnet-") as folder:
        path = os.path.join(folder, "model.safetensors")
        save(path, optimizer)
        with open(path, "rb") as file:
            return file.read()

