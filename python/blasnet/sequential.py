"""A stack of dense layers: the classical architecture of the note's Figure 3."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._convert import as_count, as_dtype, as_samples, as_seed, as_targets
from ._views import named_views
from .history import History


class Sequential:
    """Dense layers applied one after another, trained by backpropagation.

    Parameters
    ----------
    layers : sequence of Dense
        The layers, from the input up. A layer without a name is named by its index.
    input_dim : int
        Number of features of each sample.
    dtype : {"float32", "float64"}
        Precision of the parameters and of every computation.
    seed : int
        Seed of the weight initialisation (Glorot uniform; He uniform for relu layers).
        The same seed gives the same weights on every platform.

    Notes
    -----
    Arrays pass to the C++ core without a copy when they are C-contiguous and of the
    network's dtype (class labels: int64); the core hands anything else back, and it is
    converted once per call.

    Examples
    --------
    >>> import numpy as np
    >>> import blasnet as bn
    >>> net = bn.Sequential([bn.Dense(8, activation="tanh"), bn.Dense(1, activation="sigmoid")],
    ...                     input_dim=2, dtype="float64", seed=0)
    >>> net.forward(np.zeros((3, 2))).shape
    (3, 1)
    >>> sorted(net.parameters())
    ['0.W', '0.b', '1.W', '1.b']
    """

    def __init__(
        self,
        layers: Sequence[_core.Dense],
        input_dim: int,
        dtype: npt.DTypeLike = "float64",
        seed: int = 0,
    ) -> None:
        self._dtype = as_dtype(dtype)
        self._seed = as_seed(seed)
        layers = list(layers)
        for layer in layers:
            if not isinstance(layer, _core.Dense):
                raise TypeError(f"layers must be blasnet.Dense, got {type(layer).__name__}")
        core = _core.NetworkF32 if self._dtype == np.float32 else _core.NetworkF64
        self._net = core(as_count(input_dim, "input_dim"), layers, self._seed)
        # Read once: asking the core costs more than a small training step's Python side.
        self._input_dim = int(self._net.input_dim)
        self._output_dim = int(self._net.output_dim)
        self.history: History | None = None

    @property
    def dtype(self) -> np.dtype[Any]:
        """The network's floating-point dtype."""
        return self._dtype

    @property
    def input_dim(self) -> int:
        """Features per sample."""
        return self._input_dim

    @property
    def output_dim(self) -> int:
        """Units of the last layer."""
        return self._output_dim

    @property
    def layers(self) -> list[tuple[str, int, int, str]]:
        """(name, n_in, n_out, activation) of each layer, from the input up."""
        return list(self._net.layers)

    def __repr__(self) -> str:
        body = ", ".join(f"{name}: {n_in}->{n_out} {act}" for name, n_in, n_out, act in self.layers)
        return f"Sequential([{body}], dtype={self._dtype.name})"

    def forward(self, X: npt.ArrayLike) -> np.ndarray[Any, Any]:
        """Outputs of the network, eqs. (1)-(2) layer after layer.

        Parameters
        ----------
        X : array_like of shape (n_samples, input_dim)

        Returns
        -------
        ndarray of shape (n_samples, output_dim) and the network's dtype

        Examples
        --------
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(2, activation="softmax")], input_dim=3)
        >>> round(float(net.forward([[1.0, 2.0, 3.0]]).sum()), 6)
        1.0
        """
        try:
            return self._net.forward(X)
        except _core.NotCanonical:
            return self._net.forward(as_samples(X, self._dtype))

    def backward(self, X: npt.ArrayLike, T: npt.ArrayLike, loss: str) -> float:
        """Forward and backward on one batch: returns J and fills :meth:`gradients`.

        Parameters
        ----------
        X : array_like of shape (n_samples, input_dim)
        T : array_like of shape (n_samples, output_dim), or (n_samples,)
            Targets. With one output a 1-D array is accepted; with
            ``loss="softmax_cross_entropy"``, integer class labels are too.
        loss : {"mse", "binary_cross_entropy", "softmax_cross_entropy"}
            The cost, averaged over the batch.

        Returns
        -------
        float
            J, the batch's mean loss.

        Examples
        --------
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(1)], input_dim=1)
        >>> net.parameters()["0.W"][:] = 2.0
        >>> net.backward([[1.0], [3.0]], [[1.0], [1.0]], loss="mse")  # ½((2-1)² + (6-1)²)/2
        6.5
        >>> float(net.gradients()["0.W"][0, 0])  # ((2-1)·1 + (6-1)·3)/2
        8.0
        """
        try:
            return self._net.backward(X, T, loss)
        except _core.NotCanonical:
            return self._net.backward(as_samples(X, self._dtype), self._targets(T, loss), loss)

    def train_step(
        self, X: npt.ArrayLike, T: npt.ArrayLike, loss: str, optimizer: _core.Optimizer
    ) -> float:
        """One gradient step on one batch; returns J before the step.

        Examples
        --------
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(1)], input_dim=1)
        >>> first = net.train_step([[1.0]], [[1.0]], loss="mse", optimizer=bn.SGD(lr=0.1))
        >>> net.backward([[1.0]], [[1.0]], loss="mse") < first
        True
        """
        try:
            return self._net.train_step(X, T, loss, optimizer)
        except _core.NotCanonical:
            X_ = as_samples(X, self._dtype)
            return self._net.train_step(X_, self._targets(T, loss), loss, optimizer)

    def fit(
        self,
        X: npt.ArrayLike,
        T: npt.ArrayLike,
        loss: str,
        optimizer: _core.Optimizer,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
    ) -> History:
        """Minibatch gradient descent over the data, entirely in C++.

        Parameters
        ----------
        X, T, loss
            As for :meth:`backward`; the data are checked once, up front.
        optimizer : Optimizer
            The update rule, e.g. ``blasnet.SGD(lr=0.1)``.
        epochs : int
            Passes over the data.
        batch_size : int
            Samples per step; the last batch of an epoch may be smaller.
        shuffle : bool
            Visit the samples in a new random order each epoch.
        seed : int, optional
            Seed of the shuffling order; defaults to the network's seed. The same seed gives
            the same order, and the same weights, on every run.

        Returns
        -------
        History
            The mean training loss of each epoch; also kept as ``self.history``. Ctrl-C stops
            training after the current epoch and is then re-raised as KeyboardInterrupt, with
            ``self.history`` holding the epochs that completed.

        Examples
        --------
        >>> import numpy as np
        >>> import blasnet as bn
        >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> net = bn.Sequential([bn.Dense(1)], input_dim=1)
        >>> h = net.fit(X, 3 * X, loss="mse", optimizer=bn.SGD(lr=0.5), epochs=200, batch_size=5)
        >>> h.loss[-1] < 1e-6
        True
        """
        X_ = as_samples(X, self._dtype)
        T_ = self._targets(T, loss)
        shuffle_seed = self._seed if seed is None else as_seed(seed)
        epochs_ = as_count(epochs, "epochs")
        batch_size_ = as_count(batch_size, "batch_size")
        self.history = History.record(
            lambda: self._net.fit(
                X_, T_, loss, optimizer, epochs_, batch_size_, bool(shuffle), shuffle_seed
            )
        )
        if self.history.interrupted:
            raise KeyboardInterrupt
        return self.history

    def parameters(self) -> dict[str, np.ndarray[Any, Any]]:
        """Writable views of every parameter, in the note's shapes: ``W`` (n_out, n_in) and
        ``b`` (n_out,), keyed ``"<layer>.W"`` and ``"<layer>.b"``. Writing to them changes the
        network; no copy is made.

        Examples
        --------
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(3, name="h")], input_dim=2)
        >>> {k: v.shape for k, v in net.parameters().items()}
        {'h.W': (3, 2), 'h.b': (3,)}
        """
        return self._views(self._net.parameter_buffer())

    def gradients(self) -> dict[str, np.ndarray[Any, Any]]:
        """dJ/dW and dJ/db of the last :meth:`backward`, with the keys and shapes of
        :meth:`parameters`; views, refreshed in place by every backward pass.

        :meth:`train_step` and :meth:`fit` with plain SGD fold the update into the backward
        products (W ← W − α·dZ·Xᵀ/n is one gemm) and never form the gradient, so they leave
        these values as they were; other optimizers refresh them at every step."""
        return self._views(self._net.gradient_buffer())

    def _views(self, flat: np.ndarray[Any, Any]) -> dict[str, np.ndarray[Any, Any]]:
        return named_views(flat, self._net.parameter_info())

    def _targets(self, T: npt.ArrayLike, loss: str) -> np.ndarray[Any, Any]:
        if loss not in _core.LOSSES:
            raise ValueError(f"unknown loss {loss!r}; valid losses: {', '.join(_core.LOSSES)}")
        return as_targets(T, loss, self._output_dim, self._dtype)
