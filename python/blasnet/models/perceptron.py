"""Rosenblatt's perceptron, the first model of the note: y = sgn(wᵀx + b) and its learning rule."""

from __future__ import annotations

import json
import math
import numbers
import os
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _core
from .._convert import as_count, as_dtype, as_samples, as_seed
from .._paths import checked_path
from ..history import History
from .graph import Graph
from .model import ModelFileError, saved_bytes


class Perceptron:
    """Step units ``y = 1 if wᵀx + b ≥ 0 else 0`` trained by Rosenblatt's learning rule.

    The note's §1 cuts the cake with a line: cherries (0) below, chocolate (1) above. Its
    perceptron ``y = sgn(wᵀx + b)`` cannot be trained by gradients (the derivative of sgn is
    0 or infinite), so it learns by mistakes instead: sample by sample, a unit whose output
    ``y`` misses the target ``t`` moves by ``w ← w + lr·(t − y)·x``, ``b ← b + lr·(t − y)``.
    On linearly separable data this stops after finitely many mistakes (Novikoff's bound
    (R/γ)²); on overlapping classes it never does.

    Parameters
    ----------
    n_features : int
        Number of features of each sample.
    n_outputs : int
        Number of step units. Each is its own binary perceptron with its own targets; they
        only share the inputs (several one-vs-rest classifiers trained at once).
    lr : float
        The rule's step size, positive. Starting from zero weights it only scales w and b,
        never changing a prediction: any lr makes the same mistakes.
    dtype : {"float32", "float64"}
        Precision of W, b and every computation.
    seed : int
        Default seed of the order in which :meth:`fit` visits the samples. Weights do not use
        it: they start at zero, as in Rosenblatt's rule.

    Attributes
    ----------
    history : History or None
        The record of the last :meth:`fit`: ``loss`` is the fraction of predictions the rule
        got wrong in each epoch (of samples, with one output), ``seconds`` its wall time.

    Notes
    -----
    The unit's threshold is the library's ``step`` activation: ``z = 0`` gives 1. Arrays pass to
    the C++ core without a copy when they are C-contiguous and of the perceptron's dtype;
    anything else is converted once per call.

    Examples
    --------
    >>> import numpy as np
    >>> import blasnet as bn
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    >>> p = bn.Perceptron(n_features=2)
    >>> history = p.fit(X, [0, 0, 0, 1], shuffle=False)  # AND is linearly separable
    >>> p.converged, p.predict(X).tolist()
    (True, [0, 0, 0, 1])
    >>> p.W.tolist(), p.b.tolist()
    ([[2.0, 1.0]], [-3.0])
    """

    #: The model file's kind.
    kind = "perceptron"

    def __init__(
        self,
        n_features: int,
        n_outputs: int = 1,
        lr: float = 1.0,
        dtype: npt.DTypeLike = "float64",
        seed: int = 0,
    ) -> None:
        self._dtype = as_dtype(dtype)
        self._lr = _as_rate(lr, self._dtype)
        self._seed = as_seed(seed)
        core = _core.PerceptronF32 if self._dtype == np.float32 else _core.PerceptronF64
        self._core = core(as_count(n_features, "n_features"), as_count(n_outputs, "n_outputs"))
        self._n_features = int(self._core.n_features)
        self._n_outputs = int(self._core.n_outputs)
        self.history: History | None = None
        #: Always None: the rule needs no optimizer. (Models that :func:`blasnet.load` returns
        #: all have this attribute.)
        self.optimizer: _core.Optimizer | None = None

    @property
    def n_features(self) -> int:
        """Features per sample."""
        return self._n_features

    @property
    def n_outputs(self) -> int:
        """Step units."""
        return self._n_outputs

    @property
    def dtype(self) -> np.dtype[Any]:
        """The floating-point dtype of W, b and the computations."""
        return self._dtype

    @property
    def lr(self) -> float:
        """The rule's step size."""
        return self._lr

    @property
    def W(self) -> np.ndarray[Any, Any]:
        """Weights, shape (n_outputs, n_features): row i is unit i's w. A writable view: what
        is written there is what :meth:`predict` and :meth:`fit` use."""
        return self._core.weight_buffer().reshape(self._n_outputs, self._n_features)

    @property
    def b(self) -> np.ndarray[Any, Any]:
        """Biases, shape (n_outputs,); a writable view, as :attr:`W`."""
        return self._core.bias_buffer()

    @property
    def converged(self) -> bool:
        """Whether the last :meth:`fit` ended with an epoch without a single mistake: every
        training sample is then classified correctly. False before any fit."""
        return self.history is not None and self.history.epochs > 0 and self.history.loss[-1] == 0

    def __repr__(self) -> str:
        return (
            f"Perceptron(n_features={self._n_features}, n_outputs={self._n_outputs}, "
            f"lr={self._lr}, dtype={self._dtype.name})"
        )

    def fit(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        epochs: int = 100,
        shuffle: bool = True,
        seed: int | None = None,
    ) -> History:
        """Rosenblatt's rule, sample by sample, until an epoch without mistakes or ``epochs``.

        For each sample x (in order, or shuffled anew each epoch) and each unit whose
        prediction y misses its target t: ``w ← w + lr·(t − y)·x``, ``b ← b + lr·(t − y)``.
        Training continues from the current W and b (zero for a new perceptron). An update
        that would make a weight NaN or infinite raises NonFiniteError before it is written:
        the weights are those of the update before.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            Targets 0 or 1 (or False and True); 1-D only with one output.
        epochs : int
            Most passes over the data; training stops earlier after an epoch without mistakes.
        shuffle : bool
            Visit the samples in a new random order each epoch.
        seed : int, optional
            Seed of that order; defaults to the perceptron's ``seed``. The same seed gives the
            same mistakes and weights on every run.

        Returns
        -------
        History
            ``loss[k]`` is the fraction of predictions the rule got wrong during epoch k
            (mistakes / (n_samples·n_outputs)); also kept as ``self.history``. Ctrl-C stops
            training after the current epoch and is re-raised as KeyboardInterrupt, with
            ``self.history`` holding the epochs that completed.

        Examples
        --------
        >>> import blasnet as bn
        >>> X, y = bn.datasets.cake(n_samples=100, spread=0.3, seed=0)
        >>> p = bn.Perceptron(n_features=2)
        >>> h = p.fit(X, y)
        >>> p.converged, h.loss[-1], h.epochs < 100
        (True, 0.0, True)
        """
        X_ = as_samples(X, self._dtype)
        T_ = self._targets(y, X_.shape[0])
        epochs_ = as_count(epochs, "epochs")
        shuffle_seed = self._seed if seed is None else as_seed(seed)
        started = time.perf_counter()
        mistakes, interrupted = self._core.fit(
            X_, T_, self._lr, epochs_, bool(shuffle), shuffle_seed
        )
        predictions = max(X_.shape[0] * self._n_outputs, 1)
        self.history = History(
            loss=[m / predictions for m in mistakes],
            stopped="interrupted" if interrupted else "completed",
            seconds=time.perf_counter() - started,
        )
        if interrupted:
            raise KeyboardInterrupt
        return self.history

    def predict(self, X: npt.ArrayLike) -> np.ndarray[Any, Any]:
        """The units' outputs, eq. (1) then the step: 1 where ``W·x + b ≥ 0``, else 0.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of int64, shape (n_samples,) with one output, else (n_samples, n_outputs)

        Examples
        --------
        >>> import blasnet as bn
        >>> p = bn.Perceptron(n_features=2)
        >>> p.W[:] = [1.0, 1.0]  # the note's knife, w = (1, 1), b = 0
        >>> p.predict([[-1.0, -0.5], [0.5, 0.5], [1.0, -1.0]]).tolist()  # z = 0 is chocolate
        [0, 1, 1]
        """
        labels = self._predict(X).astype(np.int64)
        return labels.reshape(-1) if self._n_outputs == 1 else labels

    def error_rate(self, X: npt.ArrayLike, y: npt.ArrayLike) -> float:
        """Fraction of wrong predictions on (X, y): of samples with one output, of
        (sample, unit) pairs with several.

        Examples
        --------
        >>> import blasnet as bn
        >>> p = bn.Perceptron(n_features=1)  # w = 0, b = 0: everything is class 1
        >>> p.error_rate([[1.0], [2.0], [3.0], [4.0]], [0, 1, 1, 1])
        0.25
        """
        predicted = self._predict(X)
        if predicted.shape[0] == 0:
            raise ValueError("error_rate: X has no samples")
        targets = self._targets(y, predicted.shape[0])
        return float(np.mean(predicted != targets))

    def to_graph(self) -> Graph:
        """The perceptron as a :class:`~blasnet.Graph` that predicts the same, with copies of
        W and b: input ``"x"``, one dense node ``"perceptron"`` of activation ``step``. Its
        output carries the loss ``mse`` only because a graph's output needs one; step units are
        never trained by gradients.

        Examples
        --------
        >>> import numpy as np
        >>> import blasnet as bn
        >>> p = bn.Perceptron(n_features=2)
        >>> p.W[:], p.b[:] = [1.0, 1.0], -1.5  # AND
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
        >>> p.to_graph().predict(X)["perceptron"].ravel().tolist()
        [0.0, 0.0, 0.0, 1.0]
        """
        g = Graph(dtype=self._dtype, seed=self._seed)
        node = g.dense(g.input("x", self._n_features), self._n_outputs, activation="step",
                       name="perceptron")
        g.output(node, "mse")
        for key, value in g.parameters().items():
            value[:] = self.parameters()[key]
        return g

    def parameters(self) -> dict[str, np.ndarray[Any, Any]]:
        """W and b as writable views, keyed as in the model file and :meth:`to_graph`.

        Examples
        --------
        >>> import blasnet as bn
        >>> {key: value.shape for key, value in bn.Perceptron(3, n_outputs=2).parameters().items()}
        {'perceptron.W': (2, 3), 'perceptron.b': (2,)}
        """
        return {"perceptron.W": self.W, "perceptron.b": self.b}

    def save(
        self, path: str | os.PathLike[str], optimizer: _core.Optimizer | None = None
    ) -> None:
        """Writes the perceptron to a model file, as :meth:`to_graph` describes it, with the
        kind ``"perceptron"`` and ``lr`` in the header. Atomic, as :meth:`Sequential.save`;
        :func:`blasnet.load` reads it back as a Perceptron, bit for bit, and ``blasnet::load``
        in C++ as a graph to predict with. ``optimizer`` must be None (it is there so that any
        loaded model can be saved again the same way).

        Examples
        --------
        >>> import os, tempfile
        >>> import blasnet as bn
        >>> p = bn.Perceptron(n_features=2, lr=0.5)
        >>> p.W[:], p.b[:] = [1.0, 1.0], -1.5
        >>> path = os.path.join(tempfile.mkdtemp(), "and.safetensors")
        >>> p.save(path)
        >>> again = bn.load(path)
        >>> again, again.W.tolist(), again.b.tolist()
        (Perceptron(n_features=2, n_outputs=1, lr=0.5, dtype=float64), [[1.0, 1.0]], [-1.5])
        """
        if optimizer is not None:
            raise ValueError("a perceptron learns by its own rule and saves no optimizer, got "
                             f"{optimizer!r}")
        extra = json.dumps({"seed": self._seed, "lr": self._lr})
        _core.save_graph(self.to_graph().core, checked_path(path), self.kind, None, extra)

    @classmethod
    def from_loaded(cls, loaded: dict[str, Any], label: str) -> Perceptron:
        """The perceptron of a model file the core read and checked (``_core.load_model``'s
        dict): its graph must be what :meth:`to_graph` makes, and its arguments rebuild one no
        larger than that graph. ModelFileError naming ``label`` otherwise.

        Examples
        --------
        >>> import os, tempfile
        >>> import blasnet as bn
        >>> from blasnet import _core
        >>> path = os.path.join(tempfile.mkdtemp(), "p.safetensors")
        >>> bn.Perceptron(n_features=2, lr=0.5).save(path)
        >>> bn.Perceptron.from_loaded(_core.load_model(path), path).lr
        0.5
        """
        g = Graph.around(loaded["core"], loaded["dtype"], 0)
        nodes = g.nodes
        if (len(g.inputs) != 1 or len(nodes) != 1 or nodes[0].name != "perceptron"
                or nodes[0].activation != "step"
                or g.parameters().keys() != {"perceptron.W", "perceptron.b"}):
            raise ModelFileError(f"{label}: a perceptron is one node 'perceptron' of step units "
                                 f"over one input, not {nodes}")
        arguments = json.loads(loaded["extra"])
        unknown = sorted(set(arguments) - {"seed", "lr"})
        if unknown:
            raise ModelFileError(f"{label}: its perceptron arguments hold unknown keys {unknown}")
        # Its sizes are the verified graph's, so the perceptron is no larger than that graph.
        try:
            p = cls(nodes[0].n_in, nodes[0].units, lr=arguments.get("lr", 1.0), dtype=g.dtype,
                    seed=arguments.get("seed", 0))
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{label}: its perceptron arguments do not rebuild one: "
                                 f"{error}") from error
        for key, value in p.parameters().items():
            value[:] = g.parameters()[key]
        return p

    def to_bytes(self, optimizer: None = None) -> bytes:
        """The model file :meth:`save` writes, as bytes (what pickling a perceptron stores).

        Examples
        --------
        >>> import pickle
        >>> import blasnet as bn
        >>> p = bn.Perceptron(n_features=2, lr=0.5)
        >>> p.b[:] = -1.0
        >>> pickle.loads(pickle.dumps(p)).b.tolist()
        [-1.0]
        """
        return saved_bytes(self.save, optimizer)

    @classmethod
    def from_bytes(cls, data: bytes) -> Perceptron:
        """The perceptron of :meth:`to_bytes`' bytes, checked as a model file is.

        Examples
        --------
        >>> import blasnet as bn
        >>> bn.Perceptron.from_bytes(bn.Perceptron(n_features=3).to_bytes()).n_features
        3
        """
        return cls.from_loaded(_core.load_model_bytes(bytes(data)), "model bytes")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self).from_bytes, (self.to_bytes(),))

    def to_onnx(self, path: str | os.PathLike[str], opset: int | None = None) -> None:
        """Writes :meth:`to_graph` as ONNX (see :meth:`Graph.to_onnx`): input ``"x"``, output
        ``"perceptron"`` of 0.0 and 1.0 in the perceptron's dtype.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import onnxruntime as ort
        >>> import blasnet as bn
        >>> p = bn.Perceptron(n_features=2)
        >>> p.W[:], p.b[:] = [1.0, 1.0], -1.5
        >>> path = os.path.join(tempfile.mkdtemp(), "and.onnx")
        >>> p.to_onnx(path)
        >>> X = np.array([[0, 0], [1, 1]], dtype=float)
        >>> ort.InferenceSession(path).run(None, {"x": X})[0].ravel().tolist()
        [0.0, 1.0]
        """
        self.to_graph().to_onnx(path, opset=opset)

    def _predict(self, X: npt.ArrayLike) -> np.ndarray[Any, Any]:
        """(n_samples, n_outputs) of 0.0 and 1.0 in the perceptron's dtype."""
        return self._core.predict(as_samples(X, self._dtype))

    def _targets(self, y: npt.ArrayLike, n_samples: int) -> np.ndarray[Any, Any]:
        """y as the core reads it: C-contiguous (n_samples, n_outputs) of 0.0 and 1.0."""
        array = np.asarray(y)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"y must hold 0/1 labels, got an array of dtype {array.dtype}")
        if array.ndim == 1:
            if self._n_outputs != 1:
                raise ValueError(
                    f"y has shape {array.shape} but the perceptron has {self._n_outputs} "
                    f"outputs: give labels of shape (n_samples, {self._n_outputs})"
                )
            array = array.reshape(-1, 1)
        elif array.ndim != 2 or array.shape[1] != self._n_outputs:
            raise ValueError(
                f"y must have shape (n_samples,) or (n_samples, {self._n_outputs}), "
                f"got {array.shape}"
            )
        if array.shape[0] != n_samples:
            raise ValueError(f"y has {array.shape[0]} samples but X has {n_samples}")
        wrong = np.flatnonzero((array != 0) & (array != 1))
        if wrong.size:
            sample, unit = divmod(int(wrong[0]), self._n_outputs)
            where = f"sample {sample}" + (f", output {unit}" if self._n_outputs > 1 else "")
            value = array.flat[wrong[0]].item()
            raise ValueError(
                f"y must hold only 0 and 1 (or False and True), got {value!r} at {where}"
            )
        return np.ascontiguousarray(array, dtype=self._dtype)


def _as_rate(value: Any, dtype: np.dtype[Any]) -> float:
    """A learning rate: a real number, positive, finite in ``dtype``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"lr must be a real number, got {type(value).__name__}")
    rate = float(value)
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"lr must be positive and finite, got {rate}")
    if rate > float(np.finfo(dtype).max) or dtype.type(rate) == 0:
        raise ValueError(f"lr {rate} is outside the range of {dtype.name}")
    return rate
