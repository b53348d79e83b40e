"""A stack of dense layers: the classical architecture of the note's Figure 3."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from typing_extensions import Unpack

from .. import _core
from .._convert import as_count, checked_classes
from ..history import History
from .model import CoreGraph, FitOptions, Model, ModelFileError


class Layer(NamedTuple):
    """A layer of a :class:`Sequential`, as :attr:`Sequential.layers` lists them.

    Examples
    --------
    >>> import blasnet as bn
    >>> bn.Sequential([bn.Dense(4, activation="relu", name="h")], input_dim=2).layers
    [Layer(name='h', n_in=2, n_out=4, activation='relu')]
    """

    name: str
    n_in: int
    n_out: int
    activation: str


class Sequential(Model):
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
    A Sequential is the chain case of a :class:`Graph`, as in the C++ core: input ``"x"``,
    one node per layer, one output on the last, whose loss each call names. Arrays pass to
    the core without a copy when they are C-contiguous and of the network's dtype (class
    labels: int64); anything else is converted once per call.

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

    kind = "sequential"

    def __init__(
        self,
        layers: Sequence[_core.Dense],
        input_dim: int,
        dtype: npt.DTypeLike = "float64",
        seed: int = 0,
    ) -> None:
        super().__init__(dtype, seed)
        layers = list(layers)
        for layer in layers:
            if not isinstance(layer, _core.Dense):
                raise TypeError(f"layers must be blasnet.Dense, got {type(layer).__name__}")
        spec = _core.network_spec(as_count(input_dim, "input_dim"), layers)
        core = _core.GraphF32 if self._dtype == np.float32 else _core.GraphF64
        self._attach(core(spec, self._seed))

    def _attach(self, core: CoreGraph) -> None:
        self._core = core
        # Read once: asking the core costs more than a small training step's Python side.
        self._input_dim = int(core.inputs[0].dim)
        self._output_dim = int(core.outputs[0].units)
        #: The names of the classes of a classifier, one per output in output order (strings or
        #: numbers), or None; saved in the model file so a classifier trained on labels such as
        #: "cherry" and "chocolate" predicts those labels again after loading.
        self.classes: list[str | int | float] | None = None

    @property
    def core(self) -> CoreGraph:
        """The C++ chain graph."""
        return self._core

    def _extra(self) -> dict[str, Any]:
        extra = super()._extra()
        if self.classes is not None:
            extra["classes"] = checked_classes(self.classes, self._output_dim, "classes")
        return extra

    @classmethod
    def _rebuilt(
        cls, loaded: dict[str, Any], dtype: np.dtype[Any], seed: int, extra: dict[str, Any],
        label: str,
    ) -> Sequential:
        model = cls.__new__(cls)
        Model.__init__(model, dtype, seed)
        model._attach(loaded["core"])
        if "classes" in extra:
            try:
                model.classes = checked_classes(extra["classes"], model.output_dim, label)
            except ValueError as error:
                raise ModelFileError(str(error)) from error
        return model

    def save(self, path: str | os.PathLike[str], optimizer: _core.Optimizer | None = None) -> None:
        """Writes the network to a model file, atomically; see :meth:`Model.save`.

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
        super().save(path, optimizer)

    @property
    def input_dim(self) -> int:
        """Features per sample."""
        return self._input_dim

    @property
    def output_dim(self) -> int:
        """Units of the last layer."""
        return self._output_dim

    @property
    def layers(self) -> list[Layer]:
        """(name, n_in, n_out, activation) of each layer, from the input up."""
        return [Layer(n.name, n.n_in, n.units, n.activation) for n in self.planned_nodes]

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
        return self._forward([X], training)[0]

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
        return self._predict([X])[0]

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
        return self._core.evaluate([X], [T], sample_weight, loss)

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
        return self._core.backward([X], [T], sample_weight, loss)

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
        return self._core.train_step([X], [T], optimizer, sample_weight, loss)

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
        **options: Unpack[FitOptions],
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
        return self._fit([X], [T], optimizer, epochs, batch_size, shuffle, seed, options, loss,
                         validation=_one_each)

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
        return self._partial_fit([X], [T], optimizer, batch_size, shuffle, seed, sample_weight,
                                 loss)

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
        return super().parameters()

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
        return super().gradients()

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
        super().to_onnx(path, opset)


def _one_each(data: tuple[Any, Any]) -> tuple[list[Any], list[Any]]:
    """A Sequential's validation_data (X_val, T_val) as input and target lists."""
    return [data[0]], [data[1]]
