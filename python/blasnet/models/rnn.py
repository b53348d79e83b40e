"""Elman recurrent networks as the note sees them: "equivalent to a feed-forward neural network
after being unrolled along time", trained by backpropagation through the unrolled graph."""

from __future__ import annotations

import inspect
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from typing_extensions import Unpack

from .. import _core
from .._convert import as_count, as_samples, converted
from ..history import History
from .graph import Graph
from .model import CoreGraph, FitOptions, Model, ModelFileError

_HEADS = ("last", "every")


class RNN(Model):
    """An Elman network ``h_t = f(W·[x_t; h_{t−1}] + b)`` with a dense output head
    ``y = g(V·h + c)`` on the last step or on every step.

    Each sequence length is unrolled onto a :class:`Graph` whose steps share the cell's ``W``
    and ``b`` (and the head's), so backpropagation through time is the graph's ordinary
    backward pass, and the gradient of the cell is the sum over the steps. Every unrolled
    length views the same parameter buffers.

    Parameters
    ----------
    n_features : int
        Features of each step's input x_t.
    hidden : int
        Units of the state h_t.
    n_outputs : int
        Units of the head.
    activation : str
        The cell's f (default tanh).
    output_activation : str
        The head's g (default identity).
    loss : str
        The cost on the head; on every step it is the mean of the steps' costs.
    head : {"last", "every"}
        Predict from the last state only, or from every state.
    dtype, seed
        As for :class:`Graph`.

    Notes
    -----
    Parameters are ``"cell.W"`` (hidden, n_features + hidden): the columns of ``[x_t; h_{t−1}]``
    in that order; ``"cell.b"``; ``"head.W"`` (n_outputs, hidden); ``"head.b"``.

    Examples
    --------
    >>> import numpy as np
    >>> import blasnet as bn
    >>> rnn = bn.RNN(n_features=2, hidden=4, n_outputs=1, seed=0)
    >>> rnn.forward(np.zeros((3, 5, 2))).shape
    (3, 1)
    >>> {k: v.shape for k, v in rnn.parameters().items()}
    {'cell.W': (4, 6), 'cell.b': (4,), 'head.W': (1, 4), 'head.b': (1,)}
    """

    kind = "rnn"

    def __init__(
        self,
        n_features: int,
        hidden: int,
        n_outputs: int,
        activation: str = "tanh",
        output_activation: str = "identity",
        loss: str = "mse",
        head: str = "last",
        dtype: npt.DTypeLike = "float64",
        seed: int = 0,
    ) -> None:
        self._configure(n_features, hidden, n_outputs, activation, output_activation, loss, head,
                        dtype, seed)
        # The one-step graph owns the buffers; building it checks the activations and loss.
        self.unroll(1)

    def _configure(
        self,
        n_features: int,
        hidden: int,
        n_outputs: int,
        activation: str = "tanh",
        output_activation: str = "identity",
        loss: str = "mse",
        head: str = "last",
        dtype: npt.DTypeLike = "float64",
        seed: int = 0,
    ) -> None:
        """The arguments of ``__init__``, checked and kept; nothing is allocated."""
        Model.__init__(self, dtype, seed)
        self._n_features = as_count(n_features, "n_features")
        self._hidden = as_count(hidden, "hidden")
        self._n_outputs = as_count(n_outputs, "n_outputs")
        if not isinstance(head, str) or head not in _HEADS:
            raise ValueError(f"head must be one of {_HEADS}, got {head!r}")
        for name, value in (("activation", activation), ("output_activation", output_activation),
                            ("loss", loss)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, got {type(value).__name__}")
        self._activation = activation
        self._output_activation = output_activation
        self._loss = loss
        self._head = head
        self._graphs: dict[int, Graph] = {}

    @classmethod
    def _rebuilt(
        cls, loaded: dict[str, Any], dtype: np.dtype[Any], seed: int, extra: dict[str, Any],
        label: str,
    ) -> RNN:
        """The RNN of the ``__init__`` arguments in ``extra`` whose parameters are those of the
        graph read (which must be exactly its one-step unrolling): the arguments are checked
        and compared before anything is allocated, so that no argument can make the RNN larger
        than the graph already in memory."""
        unknown = sorted(set(extra) - set(_ARGUMENTS))
        if unknown:
            raise ModelFileError(f"{label}: its RNN arguments hold unknown keys {unknown}")
        missing = [key for key in _ARGUMENTS[:3] if key not in extra]
        if missing:
            raise ModelFileError(f"{label}: its RNN arguments lack {', '.join(map(repr, missing))}")
        one_step = Graph.around(loaded["core"], dtype, seed)
        try:
            rnn = cls.__new__(cls)
            rnn._configure(**extra)
            if rnn.dtype != one_step.dtype:
                raise ValueError(f"its dtype is {one_step.dtype.name}, not {rnn.dtype.name}")
            if not rnn._declare(1).spec.declares_same(one_step.spec):
                raise ValueError("its graph is not the one-step unrolling of the RNN its "
                                 "arguments describe")
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{label}: its RNN arguments do not rebuild one: {error}") from error
        rnn._graphs[1] = one_step
        return rnn

    @property
    def core(self) -> CoreGraph:
        """The C++ graph of the one-step unrolling, whose buffers every length shares."""
        return self.unroll(1).core

    def _extra(self) -> dict[str, Any]:
        return self._arguments()

    @property
    def head(self) -> str:
        """"last" or "every"."""
        return self._head

    def unroll(self, n_steps: int) -> Graph:
        """The network unrolled over ``n_steps``: a :class:`Graph` with inputs ``"x1"`` …
        ``"x<n>"`` and ``"h0"``, cell nodes ``"cell"``, ``"cell@2"``, … sharing ``"cell"``'s
        weights, and head nodes likewise; built once per length and kept.

        Examples
        --------
        >>> import blasnet as bn
        >>> g = bn.RNN(n_features=1, hidden=2, n_outputs=1).unroll(3)
        >>> [name for name, *_ in g.nodes]
        ['cell', 'cell@2', 'cell@3', 'head']
        """
        steps = as_count(n_steps, "n_steps")
        if steps not in self._graphs:
            self._graphs[steps] = self._declare(steps).build()
        return self._graphs[steps]

    def _declare(self, steps: int) -> Graph:
        """The unrolling over ``steps`` as declarations, not yet built."""
        g = Graph(self._dtype, self._seed, parameters_of=self._graphs.get(1))
        state = g.input("h0", self._hidden)
        xs = [g.input(f"x{t}", self._n_features) for t in range(1, steps + 1)]
        states = []
        for t, x in enumerate(xs, start=1):
            state = g.dense(
                [x, state],
                self._hidden,
                self._activation,
                name=_step_name("cell", t),
                share=None if t == 1 else "cell",
            )
            states.append(state)
        heads = states if self._head == "every" else states[-1:]
        for t, h in enumerate(heads, start=1):
            y = g.dense(
                h,
                self._n_outputs,
                self._output_activation,
                name=_step_name("head", t),
                share=None if t == 1 else "head",
            )
            g.output(y, self._loss, weight=1.0 / len(heads))
        return g

    def forward(self, X: npt.ArrayLike, h0: npt.ArrayLike | None = None) -> np.ndarray[Any, Any]:
        """Outputs of the head.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_steps, n_features)
        h0 : array_like of shape (n_samples, hidden), optional
            The state before the first step; zeros by default.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs) for the last step, or
        (n_samples, n_steps, n_outputs) for every step

        Examples
        --------
        With h_t = x_t + h_{t−1} and y = h, the network sums its sequence:

        >>> import numpy as np
        >>> import blasnet as bn
        >>> rnn = bn.RNN(n_features=1, hidden=1, n_outputs=1, activation="identity")
        >>> p = rnn.parameters()
        >>> p["cell.W"][:], p["cell.b"][:], p["head.W"][:], p["head.b"][:] = [[1.0, 1.0]], 0, 1, 0
        >>> X = np.array([[[1.0], [2.0], [3.0]]])  # one sequence of three steps
        >>> rnn.forward(X)
        array([[6.]])
        """
        X_ = self._sequences(X)
        outs = self.unroll(X_.shape[1]).forward(self._inputs(X_, h0))
        if self._head == "last":
            return next(iter(outs.values()))
        return np.stack(list(outs.values()), axis=1)

    def predict(self, X: npt.ArrayLike, h0: npt.ArrayLike | None = None) -> np.ndarray[Any, Any]:
        """Outputs of the head, as :meth:`forward` gives them, safe to call from many threads
        at once: see :meth:`Graph.predict`. Every unrolled length shares one lock, so a
        prediction of any length waits for training on any other.

        Examples
        --------
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> import numpy as np
        >>> import blasnet as bn
        >>> rnn = bn.RNN(n_features=2, hidden=4, n_outputs=1, seed=0)
        >>> sequences = [np.full((3, steps, 2), 0.5) for steps in (1, 2, 3, 4)]
        >>> with ThreadPoolExecutor(4) as pool:
        ...     outputs = list(pool.map(rnn.predict, sequences))
        >>> all(np.array_equal(y, rnn.forward(x)) for x, y in zip(sequences, outputs))
        True
        """
        X_ = self._sequences(X)
        outs = self.unroll(X_.shape[1]).predict(self._inputs(X_, h0))
        if self._head == "last":
            return next(iter(outs.values()))
        return np.stack(list(outs.values()), axis=1)

    def backward(
        self, X: npt.ArrayLike, T: npt.ArrayLike, h0: npt.ArrayLike | None = None
    ) -> float:
        """Forward and backward through time on one batch: returns J and fills
        :meth:`gradients`.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_steps, n_features)
        T : array_like
            Targets of the head: (n_samples, n_outputs) — or (n_samples,) — for the last step;
            (n_samples, n_steps, n_outputs) — or (n_samples, n_steps) — for every step.
            Integer class labels with ``softmax_cross_entropy``.
        h0 : optional, as for :meth:`forward`

        Examples
        --------
        >>> import numpy as np
        >>> import blasnet as bn
        >>> rnn = bn.RNN(n_features=1, hidden=1, n_outputs=1, activation="identity")
        >>> p = rnn.parameters()
        >>> p["cell.W"][:], p["cell.b"][:], p["head.W"][:], p["head.b"][:] = [[1.0, 1.0]], 0, 1, 0
        >>> X = np.array([[[1.0], [2.0], [3.0]]])  # one sequence of three steps
        >>> rnn.backward(X, [[5.0]])  # ½(6 − 5)²
        0.5
        """
        X_ = self._sequences(X)
        g = self.unroll(X_.shape[1])
        return g.backward(self._inputs(X_, h0), self._targets(T, X_.shape[1]))

    def train_step(
        self,
        X: npt.ArrayLike,
        T: npt.ArrayLike,
        optimizer: _core.Optimizer,
        h0: npt.ArrayLike | None = None,
    ) -> float:
        """One gradient step on one batch; returns J before the step.

        Examples
        --------
        >>> import numpy as np
        >>> import blasnet as bn
        >>> rnn = bn.RNN(n_features=1, hidden=1, n_outputs=1, activation="identity")
        >>> p = rnn.parameters()
        >>> p["cell.W"][:], p["cell.b"][:], p["head.W"][:], p["head.b"][:] = [[1.0, 1.0]], 0, 1, 0
        >>> X = np.array([[[1.0], [2.0], [3.0]]])  # one sequence of three steps
        >>> rnn.train_step(X, [[5.0]], bn.SGD(lr=0.01))
        0.5
        >>> round(float(rnn.forward(X)[0, 0]), 4)  # closer to 5 than the 6 before
        5.0704
        """
        X_ = self._sequences(X)
        g = self.unroll(X_.shape[1])
        return g.train_step(self._inputs(X_, h0), self._targets(T, X_.shape[1]), optimizer)

    def fit(
        self,
        X: npt.ArrayLike,
        T: npt.ArrayLike,
        optimizer: _core.Optimizer,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        **options: Unpack[FitOptions],
    ) -> History:
        """Minibatch backpropagation through time over the data, entirely in C++; arguments
        as for :meth:`backward` and :meth:`Sequential.fit` (``validation_data`` is a pair of
        sequences and targets of the same length), with zero initial states.

        Examples
        --------
        >>> import numpy as np
        >>> import blasnet as bn
        >>> rng = np.random.default_rng(0)
        >>> X = rng.integers(0, 2, size=(200, 3, 1)).astype(float)
        >>> rnn = bn.RNN(n_features=1, hidden=8, n_outputs=1, seed=0)
        >>> h = rnn.fit(X, X.sum(axis=1), bn.SGD(lr=0.1), epochs=100, batch_size=10)
        >>> h.loss[-1] < 0.01 * h.loss[0]
        True
        """
        X_ = self._sequences(X)
        steps = X_.shape[1]
        g = self.unroll(steps)
        validation_data = options.get("validation_data")
        held_out = None
        if validation_data is not None:
            X_val = self._sequences(validation_data[0])
            if X_val.shape[1] != steps:
                raise ValueError(
                    f"validation sequences have {X_val.shape[1]} steps, the training ones {steps}"
                )
            held_out = (self._inputs(X_val, None), self._targets(validation_data[1], steps))
        previous = g.history
        try:
            unrolled = options.copy()
            unrolled["validation_data"] = held_out
            g.fit(self._inputs(X_, None), self._targets(T, steps), optimizer, epochs, batch_size,
                  shuffle, self._seed if seed is None else seed, **unrolled)
        finally:
            # Also after Ctrl-C or a diverged step: the epochs that completed. Data refused
            # before the first step leave the graph's history, and this one, as they were.
            if g.history is not previous:
                self.history = g.history
        assert g.history is not None
        return g.history

    def save(self, path: str | os.PathLike[str], optimizer: _core.Optimizer | None = None) -> None:
        """Writes the network to a model file (its one-step graph, which every length
        shares, and the arguments that rebuild it); see :meth:`Sequential.save`.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import blasnet as bn
        >>> rnn = bn.RNN(n_features=2, hidden=3, n_outputs=1, seed=1)
        >>> path = os.path.join(tempfile.mkdtemp(), "rnn.safetensors")
        >>> rnn.save(path)
        >>> X = np.ones((2, 4, 2))
        >>> bool((bn.load(path).forward(X) == rnn.forward(X)).all())
        True
        """
        super().save(path, optimizer)

    def _arguments(self) -> dict[str, Any]:
        return {
            "n_features": self._n_features,
            "hidden": self._hidden,
            "n_outputs": self._n_outputs,
            "activation": self._activation,
            "output_activation": self._output_activation,
            "loss": self._loss,
            "head": self._head,
            "dtype": self._dtype.name,
            "seed": self._seed,
        }

    def parameters(self) -> dict[str, np.ndarray[Any, Any]]:
        """Writable views of ``cell.W``, ``cell.b``, ``head.W``, ``head.b``, shared by every
        unrolled length.

        Examples
        --------
        >>> import blasnet as bn
        >>> rnn = bn.RNN(n_features=2, hidden=3, n_outputs=1)
        >>> {key: value.shape for key, value in rnn.parameters().items()}
        {'cell.W': (3, 5), 'cell.b': (3,), 'head.W': (1, 3), 'head.b': (1,)}
        >>> rnn.parameters()["head.b"][:] = 0.5
        >>> rnn.unroll(4).parameters()["head.b"]  # the same buffer at every length
        array([0.5])
        """
        return super().parameters()

    def gradients(self) -> dict[str, np.ndarray[Any, Any]]:
        """Gradients of the last :meth:`backward`, keyed like :meth:`parameters`: each the sum
        over the steps.

        Examples
        --------
        >>> import numpy as np
        >>> import blasnet as bn
        >>> rnn = bn.RNN(n_features=1, hidden=1, n_outputs=1, activation="identity")
        >>> p = rnn.parameters()
        >>> p["cell.W"][:], p["cell.b"][:], p["head.W"][:], p["head.b"][:] = [[1.0, 1.0]], 0, 1, 0
        >>> X = np.array([[[1.0], [2.0], [3.0]]])  # one sequence of three steps
        >>> rnn.backward(X, [[5.0]])
        0.5
        >>> g = rnn.gradients()  # dJ/dh_t = 1 at every step
        >>> g["cell.W"].tolist(), g["cell.b"].tolist()  # [Σ x_t, Σ h_{t−1}], 3 steps
        ([[6.0, 4.0]], [3.0])
        """
        return super().gradients()

    def __repr__(self) -> str:
        return (
            f"RNN({self._n_features} -> {self._hidden} {self._activation} -> "
            f"{self._n_outputs} {self._output_activation}, loss={self._loss}, "
            f"head={self._head}, dtype={self._dtype.name})"
        )

    def _sequences(self, X: npt.ArrayLike) -> np.ndarray[Any, Any]:
        """X checked here, where its errors can speak of samples and steps rather than of the
        unrolled graph's inputs."""
        array = np.asarray(X)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"X must be numeric, got an array of dtype {array.dtype}")
        if array.ndim != 3 or array.shape[2] != self._n_features or 0 in array.shape[:2]:
            raise ValueError(
                f"X must have shape (n_samples, n_steps, {self._n_features}) with at least one "
                f"sample and one step, got {array.shape}"
            )
        # Each step X[:, t, :] then reaches BLAS in place, its rows n_steps·n_features apart.
        sequences = converted(array, self._dtype, "X")
        bad = np.argwhere(~np.isfinite(sequences))
        if len(bad):
            sample, step, feature = (int(i) for i in bad[0])
            raise ValueError(
                f"X contains NaN or Inf (sample {sample}, step {step}, feature {feature})"
            )
        return sequences

    def _inputs(self, X: np.ndarray[Any, Any], h0: npt.ArrayLike | None) -> dict[str, Any]:
        if h0 is None:
            state = np.zeros((X.shape[0], self._hidden), self._dtype)
        else:
            state = as_samples(h0, self._dtype, "h0")
            if state.shape != (X.shape[0], self._hidden):
                raise ValueError(
                    f"h0 must have shape ({X.shape[0]}, {self._hidden}) for {X.shape[0]} "
                    f"sequences, got {state.shape}"
                )
        inputs: dict[str, Any] = {"h0": state}
        for t in range(X.shape[1]):
            inputs[f"x{t + 1}"] = X[:, t, :]
        return inputs

    def _targets(self, T: npt.ArrayLike, steps: int) -> dict[str, Any]:
        if self._head == "last":
            return {"head": T}
        array = np.asarray(T)
        labels = self._loss == "softmax_cross_entropy" and array.dtype.kind in "iu"
        if array.ndim == 2 and not labels and self._n_outputs == 1:
            array = array[:, :, np.newaxis]
        expected = 2 if labels else 3
        if array.ndim != expected or array.shape[1] != steps:
            raise ValueError(
                f"T for a head on every step must have shape (n_samples, {steps}, "
                f"{self._n_outputs}), or (n_samples, {steps}) of class labels, got {array.shape}"
            )
        # Labels are read contiguously; float targets in place, like the inputs.
        if labels:
            return {_step_name("head", t + 1): np.ascontiguousarray(array[:, t]) for t in range(steps)}
        array = converted(array, self._dtype, "T")
        return {_step_name("head", t + 1): array[:, t, :] for t in range(steps)}


def _step_name(node: str, t: int) -> str:
    return node if t == 1 else f"{node}@{t}"


_ARGUMENTS = tuple(inspect.signature(RNN.__init__).parameters)[1:]
