"""A stack of dense layers: the classical architecture of the note's Figure 3."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._convert import as_count, as_dtype, as_samples, as_seed, as_targets, checked_classes
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
        self._attach(core(as_count(input_dim, "input_dim"), layers, self._seed))

    def _attach(self, net: _core.NetworkF64 | _core.NetworkF32) -> None:
        self._net = net
        # Read once: asking the core costs more than a small training step's Python side.
        self._input_dim = int(self._net.input_dim)
        self._output_dim = int(self._net.output_dim)
        self.history: History | None = None
        #: The optimizer a loaded file held (see :func:`blasnet.load`), else None.
        self.optimizer: _core.Optimizer | None = None
        #: The names of the classes of a classifier, one per output in output order (strings or
        #: numbers), or None; saved in the model file so a classifier trained on labels such as
        #: "cherry" and "chocolate" predicts those labels again after loading.
        self.classes: list[str | int | float] | None = None
        self._partial_passes = 0

    @classmethod
    def _from_core(
        cls, net: _core.NetworkF64 | _core.NetworkF32, dtype: np.dtype[Any], seed: int
    ) -> Sequential:
        """A Sequential around a core network read from a file."""
        model = cls.__new__(cls)
        model._dtype, model._seed = dtype, seed
        model._attach(net)
        return model

    def save(self, path: str | os.PathLike[str], optimizer: _core.Optimizer | None = None) -> None:
        """Writes the network to a model file (safetensors: the weights under their parameter
        keys, the architecture and, if given, the optimizer's rule and state in the header).

        Atomic: a temporary file in the same folder is written, flushed to disk and renamed
        over ``path``; on any failure ``path`` is left as it was. Raises ModelFileError (a
        ValueError) naming the problem. :func:`blasnet.load` reads the file back, bit for bit,
        and so does ``blasnet::load`` in C++.

        Examples
        --------
        >>> import os, tempfile
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(3, activation="tanh"), bn.Dense(1)], input_dim=2)
        >>> path = os.path.join(tempfile.mkdtemp(), "net.safetensors")
        >>> net.save(path)
        >>> again = bn.load(path)
        >>> bool((again.parameters()["0.W"] == net.parameters()["0.W"]).all())
        True

        A classifier keeps the names of its classes:

        >>> clf = bn.Sequential([bn.Dense(2, activation="softmax")], input_dim=2)
        >>> clf.classes = ["cherry", "chocolate"]
        >>> clf.save(path)
        >>> bn.load(path).classes
        ['cherry', 'chocolate']
        """
        extra: dict[str, Any] = {"seed": self._seed}
        if self.classes is not None:
            extra["classes"] = checked_classes(self.classes, self._output_dim, "classes")
        _core.save_network(self._net, checked_path(path), optimizer, json.dumps(extra))

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

    def forward(self, X: npt.ArrayLike, training: bool = False) -> np.ndarray[Any, Any]:
        """Outputs of the network, eqs. (1)-(2) layer after layer.

        Parameters
        ----------
        X : array_like of shape (n_samples, input_dim)
        training : bool
            Drop out units as a training pass does (layers with ``dropout``); the default
            inference pass never drops.

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
            return self._net.forward(X, training)
        except _core.NotCanonical:
            return self._net.forward(as_samples(X, self._dtype), training)

    def predict(self, X: npt.ArrayLike) -> np.ndarray[Any, Any]:
        """Outputs of the network: :meth:`forward`'s inference pass, safe to call from many
        threads at once.

        The pass runs in C++ without the GIL and writes only into the array it returns and
        into memory of the calling thread, so predictions from several Python threads run in
        parallel on one network. A prediction waits while :meth:`fit`, :meth:`train_step`,
        :meth:`backward`, :meth:`evaluate` or :meth:`forward` runs, and they wait for it;
        writing to :meth:`parameters` while predicting is the caller's to avoid.

        Parameters
        ----------
        X : array_like of shape (n_samples, input_dim)

        Returns
        -------
        ndarray of shape (n_samples, output_dim) and the network's dtype

        Examples
        --------
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> import numpy as np
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(4, activation="relu"), bn.Dense(2)], input_dim=3)
        >>> batches = [np.full((5, 3), float(k)) for k in range(8)]
        >>> with ThreadPoolExecutor(4) as pool:
        ...     outputs = list(pool.map(net.predict, batches))
        >>> all(np.array_equal(y, net.forward(x)) for x, y in zip(batches, outputs))
        True
        """
        try:
            return self._net.predict(X)
        except _core.NotCanonical:
            return self._net.predict(as_samples(X, self._dtype))

    def evaluate(
        self, X: npt.ArrayLike, T: npt.ArrayLike, loss: str, sample_weight: npt.ArrayLike | None = None
    ) -> float:
        """J of the data, without dropout and without gradients: the loss :meth:`backward`
        would report, or with ``sample_weight`` its weighted mean.

        Examples
        --------
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(1)], input_dim=1)
        >>> net.parameters()["0.W"][:] = 2.0
        >>> net.evaluate([[1.0], [3.0]], [[1.0], [1.0]], loss="mse")
        6.5
        """
        X_, T_ = as_samples(X, self._dtype), self._targets(T, loss)
        weights = as_sample_weight(sample_weight, X_.shape[0], self._dtype)
        return float(self._net.evaluate(X_, T_, loss, weights))

    def backward(
        self, X: npt.ArrayLike, T: npt.ArrayLike, loss: str, sample_weight: npt.ArrayLike | None = None
    ) -> float:
        """Forward (a training pass) and backward on one batch: returns J and fills
        :meth:`gradients`.

        Parameters
        ----------
        X : array_like of shape (n_samples, input_dim)
        T : array_like of shape (n_samples, output_dim), or (n_samples,)
            Targets. With one output a 1-D array is accepted; with
            ``loss="softmax_cross_entropy"``, integer class labels are too.
        loss : {"mse", "binary_cross_entropy", "softmax_cross_entropy"}
            The cost, averaged over the batch.
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weights: J becomes the weighted mean Σ w_j·J_j / Σ w_j.

        Returns
        -------
        float
            J, the batch's mean loss.

        Raises
        ------
        NonFiniteError
            When the loss or gradient is NaN or infinite.

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
        if sample_weight is None:
            try:
                return self._net.backward(X, T, loss)
            except _core.NotCanonical:
                pass
        X_, T_ = as_samples(X, self._dtype), self._targets(T, loss)
        weights = as_sample_weight(sample_weight, X_.shape[0], self._dtype)
        return self._net.backward(X_, T_, loss, weights)

    def train_step(
        self,
        X: npt.ArrayLike,
        T: npt.ArrayLike,
        loss: str,
        optimizer: _core.Optimizer,
        sample_weight: npt.ArrayLike | None = None,
    ) -> float:
        """One gradient step on one batch; returns J before the step. A NaN or infinite loss
        or gradient, or an update that would make a parameter or the optimizer's state NaN or
        infinite, raises NonFiniteError and changes neither.

        Examples
        --------
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(1)], input_dim=1)
        >>> first = net.train_step([[1.0]], [[1.0]], loss="mse", optimizer=bn.SGD(lr=0.1))
        >>> net.backward([[1.0]], [[1.0]], loss="mse") < first
        True
        """
        if sample_weight is None:
            try:
                return self._net.train_step(X, T, loss, optimizer)
            except _core.NotCanonical:
                pass
        X_, T_ = as_samples(X, self._dtype), self._targets(T, loss)
        weights = as_sample_weight(sample_weight, X_.shape[0], self._dtype)
        return self._net.train_step(X_, T_, loss, optimizer, weights)

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
        *,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        validation_fraction: float | None = None,
        early_stopping: EarlyStopping | bool | None = None,
        schedule: _core.Schedule | None = None,
        sample_weight: npt.ArrayLike | None = None,
        class_weight: Mapping[Any, float] | str | None = None,
        callbacks: Sequence[Callback] = (),
        verbose: bool = False,
        comm: Any = None,
    ) -> History:
        """Minibatch training over the data; every epoch runs in C++ without returning to
        Python between batches.

        Parameters
        ----------
        X, T, loss
            As for :meth:`backward`; the data are checked once, up front.
        optimizer : Optimizer
            The update rule, e.g. ``blasnet.SGD(lr=0.1)`` or ``blasnet.Adam()``. Its state
            (momentum, moments) carries over to the next call.
        epochs : int
            Passes over the data.
        batch_size : int
            Samples per step; the last batch of an epoch may be smaller.
        shuffle : bool
            Visit the samples in a new random order each epoch.
        seed : int, optional
            Seed of the shuffling order, the dropout masks and a validation split; defaults
            to the network's seed. The same seed gives the same weights on every run, on any
            number of threads.
        validation_data : (X_val, T_val), optional
            Data to evaluate after each epoch (without dropout).
        validation_fraction : float, optional
            Or hold out this share of (X, T), chosen at random by ``seed``.
        early_stopping : EarlyStopping or bool, optional
            Stop when the validation loss (else the training loss) stops improving; True
            uses ``EarlyStopping()``.
        schedule : blasnet.schedules.Schedule, optional
            Sets the learning rate before each epoch.
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weight of each sample in every loss.
        class_weight : dict or "balanced", optional
            Weight of each class (multiplies ``sample_weight``); "balanced" weighs classes
            inversely to their frequency.
        callbacks : sequence of callables
            Each is called after every epoch with its :class:`EpochRecord`; returning False
            stops training.
        verbose : bool
            Show a progress bar (tqdm), updated after each epoch.
        comm : mpi4py.MPI.Intracomm, optional
            Train data-parallel over the ranks of this MPI communicator (every rank calls
            ``fit`` with the same arguments; each computes its part of every batch): see
            :func:`blasnet.distributed.fit`. The weights equal this call's without ``comm``,
            to rounding. Needs mpi4py.

        Returns
        -------
        History
            Per epoch: training loss, validation loss, accuracy (classification losses),
            learning rate and wall time; also kept as ``self.history``.

        Raises
        ------
        KeyboardInterrupt
            After Ctrl-C, which stops training at the next batch boundary: the network keeps
            the weights of the last completed step, ``self.history`` the completed epochs.
        NonFiniteError
            When a step meets a NaN or infinite loss, gradient or update; the network keeps
            the weights, and the optimizer the state, of the last finite step (the message
            names it), ``self.history`` the completed epochs.

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
        if comm is not None:
            from . import distributed

            return distributed.fit(
                self, X, T, optimizer, comm=comm, loss=loss, epochs=epochs,
                batch_size=batch_size, shuffle=shuffle, seed=seed,
                validation_data=validation_data, validation_fraction=validation_fraction,
                early_stopping=early_stopping, schedule=schedule, sample_weight=sample_weight,
                class_weight=class_weight, callbacks=callbacks, verbose=verbose,
            )
        X_ = as_samples(X, self._dtype)
        T_ = self._targets(T, loss)
        n = X_.shape[0]
        shuffle_seed = self._seed if seed is None else as_seed(seed)
        weights = combine_weights(
            as_sample_weight(sample_weight, n, self._dtype),
            None if class_weight is None else class_weight_samples(T_, loss, class_weight),
            dtype=self._dtype,
        )
        X_val: np.ndarray[Any, Any] | None = None
        T_val: np.ndarray[Any, Any] | None = None
        if validation_data is not None and validation_fraction is not None:
            raise ValueError("give validation_data or validation_fraction, not both")
        if validation_data is not None:
            X_val, T_val = as_samples(validation_data[0], self._dtype, "X_val"), self._targets(
                validation_data[1], loss, "T_val"
            )
        elif validation_fraction is not None:
            [X_], [T_], weights, [X_val], [T_val] = hold_out(
                [X_], [T_], weights, validation_fraction, shuffle_seed
            )
        epochs_ = as_count(epochs, "epochs")
        batch_size_ = as_count(batch_size, "batch_size")
        stopping = early_stopping_args(early_stopping)

        def core_fit(on_epoch: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
            return self._net.fit(
                X_, T_, loss, optimizer, epochs_, batch_size_, bool(shuffle), shuffle_seed,
                weights, X_val, T_val, schedule=schedule, on_epoch=on_epoch, **stopping,
            )

        return run(core_fit, self._keep_history, epochs_, callbacks, verbose)

    def partial_fit(
        self,
        X: npt.ArrayLike,
        T: npt.ArrayLike,
        loss: str,
        optimizer: _core.Optimizer,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        sample_weight: npt.ArrayLike | None = None,
    ) -> History:
        """One pass over the given data, keeping the optimizer's state: incremental training
        on data that arrive in pieces. Returns that epoch's History (also ``self.history``).

        Examples
        --------
        >>> import numpy as np
        >>> import blasnet as bn
        >>> net, sgd = bn.Sequential([bn.Dense(1)], input_dim=1), bn.SGD(lr=0.1)
        >>> for chunk in np.array_split(np.linspace(-1, 1, 40).reshape(-1, 1), 4):
        ...     h = net.partial_fit(chunk, 2 * chunk, loss="mse", optimizer=sgd)
        >>> h.epochs
        1
        """
        self._partial_passes += 1
        base = self._seed if seed is None else as_seed(seed)
        return self.fit(
            X, T, loss, optimizer, epochs=1, batch_size=batch_size, shuffle=shuffle,
            seed=(base + self._partial_passes) % 2**64 if seed is None else base,
            sample_weight=sample_weight,
        )

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

        :meth:`train_step` and :meth:`fit` with plain SGD fold eq. (9) into the update
        (W ← W − α·dZ·Xᵀ/n is one gemm) and never form the weight gradients, so these values
        are not kept current by them; other optimizers refresh them at every step.

        Examples
        --------
        >>> import numpy as np
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(1)], input_dim=1)
        >>> net.parameters()["0.W"][:], net.parameters()["0.b"][:] = 1.0, 0.0
        >>> X = np.array([[0.0], [1.0]])
        >>> net.backward(X, 2 * X, "mse")  # ½(0² + 1²)/2
        0.25
        >>> net.gradients()  # dZ = y − t = (0, −1): dW = dZ·Xᵀ/2, db = dZ·1/2
        {'0.W': array([[-0.5]]), '0.b': array([-0.5])}
        """
        return self._views(self._net.gradient_buffer())

    def _keep_history(self, history: History) -> None:
        self.history = history

    def _views(self, flat: np.ndarray[Any, Any]) -> dict[str, np.ndarray[Any, Any]]:
        return named_views(flat, self._net.parameter_info())

    def _targets(self, T: npt.ArrayLike, loss: str, name: str = "T") -> np.ndarray[Any, Any]:
        if loss not in _core.LOSSES:
            raise ValueError(f"unknown loss {loss!r}; valid losses: {', '.join(_core.LOSSES)}")
        return as_targets(T, loss, self._output_dim, self._dtype, name)

    def to_onnx(self, path: str | os.PathLike[str], opset: int | None = None) -> None:
        """Writes the network to an ONNX file (input ``"X"``, output ``"Y"``, a dynamic
        batch), to serve it from onnxruntime or any ONNX runtime; needs the onnx package
        (``pip install 'blasnet[onnx]'``). See :func:`blasnet.onnx_export.export`.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import onnxruntime as ort
        >>> import blasnet as bn
        >>> net = bn.Sequential([bn.Dense(4, activation="tanh"), bn.Dense(2, activation="softmax")],
        ...                     input_dim=3, dtype="float32")
        >>> path = os.path.join(tempfile.mkdtemp(), "net.onnx")
        >>> net.to_onnx(path)
        >>> X = np.ones((5, 3), dtype=np.float32)
        >>> session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        >>> (Y,) = session.run(None, {"X": X})
        >>> bool(np.allclose(Y, net.predict(X), rtol=1e-5))
        True
        """
        from .onnx_export import export

        export(self, path, opset=opset)
