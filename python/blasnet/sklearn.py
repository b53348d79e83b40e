"""scikit-learn estimators around blasnet: drop-in ``MLPClassifier``, ``MLPRegressor`` and
``Perceptron`` with scikit-learn's parameter names, fitted attributes and validation.

Import explicitly: ``from blasnet.sklearn import MLPClassifier``.

Differences from scikit-learn, by design:

- Binary classification uses one sigmoid output and ``binary_cross_entropy`` (as scikit-learn
  does, ``out_activation_ == "logistic"``); ``predict_proba`` still returns (n, 2).
  Multiclass uses softmax and ``softmax_cross_entropy``. Multilabel targets are not supported.
- ``alpha`` becomes the optimizer's ``weight_decay = alpha / batch_size`` (scikit-learn adds
  ``alpha·W / batch_size`` to each batch's gradient).
- ``tol``/``n_iter_no_change`` become ``bn.EarlyStopping(patience=n_iter_no_change,
  min_delta=tol)`` on the training loss, or on the validation loss with ``early_stopping=True``
  (scikit-learn monitors validation accuracy/R² there).
- ``learning_rate="adaptive"`` uses ``bn.schedules.ReduceOnPlateau(factor=0.2,
  patience=n_iter_no_change, min_delta=tol)``, applied to SGD only, as in scikit-learn.
- ``validation_scores_`` holds validation accuracy (classifier) or minus the validation
  loss (regressor).

Examples
--------
>>> import blasnet as bn
>>> from blasnet.sklearn import MLPClassifier
>>> X, y = bn.datasets.load_digits()
>>> clf = MLPClassifier((32,), max_iter=100, random_state=0)
>>> import warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")  # 100 epochs are short of convergence, and it says so
...     _ = clf.fit(X / 16, y)
>>> clf.score(X / 16, y) > 0.95
True
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import (  # type: ignore[import-untyped]
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
)
from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped]
from sklearn.preprocessing import LabelBinarizer  # type: ignore[import-untyped]
from sklearn.utils import check_random_state  # type: ignore[import-untyped]
from sklearn.utils.multiclass import (  # type: ignore[import-untyped]
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import (  # type: ignore[import-untyped]
    _check_sample_weight,
    column_or_1d,
    check_is_fitted,
    validate_data,
)

from . import _core, schedules
from .models import Perceptron as _Perceptron
from .models import Sequential
from .training import EarlyStopping

__all__ = ["MLPClassifier", "MLPRegressor", "Perceptron", "expected_failed_checks"]

_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "identity"}
_Array = np.ndarray[Any, Any]


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    """Estimator checks of scikit-learn's ``parametrize_with_checks`` that the estimator is
    known to fail, each with the reason.

    Examples
    --------
    >>> from blasnet.sklearn import MLPClassifier, Perceptron, expected_failed_checks
    >>> list(expected_failed_checks(MLPClassifier()))
    ['check_sample_weight_equivalence_on_dense_data']
    >>> expected_failed_checks(Perceptron())
    {}
    """
    if isinstance(estimator, (MLPClassifier, MLPRegressor)):
        return {
            "check_sample_weight_equivalence_on_dense_data": (
                "minibatch SGD/Adam: a weight of 2 is not the same as a repeated sample in a "
                "batch of a different size (scikit-learn declares this for its Perceptron too)"
            ),
        }
    return {}


class _BaseMLP(BaseEstimator):  # type: ignore[misc]
    _loss_kind = "regression"

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] | list[int] | int = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        dtype: str = "float64",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype

    # -- what the subclasses provide -------------------------------------------------------
    def _prepare_targets(self, y: _Array, first: bool, classes: Any = None) -> _Array:
        raise NotImplementedError

    def _output(self) -> tuple[int, str, str]:
        raise NotImplementedError

    # -- shared machinery ----------------------------------------------------------------
    def _check_params(self) -> None:
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {self.activation!r}")
        if self.solver not in ("sgd", "adam"):
            raise ValueError(f"solver must be 'sgd' or 'adam' (lbfgs is not supported), got {self.solver!r}")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            raise ValueError(f"unknown learning_rate {self.learning_rate!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        for name in ("max_iter", "n_iter_no_change"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.learning_rate_init <= 0:
            raise ValueError(f"learning_rate_init must be > 0, got {self.learning_rate_init}")
        if self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        if self.tol < 0:
            raise ValueError(f"tol must be >= 0, got {self.tol}")

    def _hidden(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        hidden = [int(sizes)] if isinstance(sizes, (int, np.integer)) else [int(s) for s in sizes]
        if any(s < 1 for s in hidden):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes!r}")
        return hidden

    def _batch(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        size = int(self.batch_size)
        if size < 1:
            raise ValueError(f"batch_size must be >= 1 or 'auto', got {self.batch_size!r}")
        return max(1, min(size, n))

    def _make_optimizer(self, batch: int) -> _core.Optimizer:
        decay = float(self.alpha) / batch
        if self.solver == "sgd":
            return _core.SGD(
                lr=float(self.learning_rate_init), momentum=float(self.momentum),
                nesterov=bool(self.nesterovs_momentum) and self.momentum > 0, weight_decay=decay,
            )
        return _core.Adam(
            lr=float(self.learning_rate_init), beta_1=float(self.beta_1),
            beta_2=float(self.beta_2), epsilon=float(self.epsilon), weight_decay=decay,
        )

    def _make_schedule(self) -> _core.Schedule | None:
        if self.solver != "sgd" or self.learning_rate == "constant":
            return None
        if self.learning_rate == "invscaling":
            return schedules.InverseScaling(power=float(self.power_t))
        return schedules.ReduceOnPlateau(
            factor=0.2, patience=int(self.n_iter_no_change), min_delta=float(self.tol)
        )

    def _start_like_sklearn(self) -> None:
        """Draws every W and b from U(−a, a), a = √(k / (fan_in + fan_out)), k = 2 for logistic
        hidden units and 6 otherwise: scikit-learn's start (Glorot & Bengio, 2010), so that a
        swapped-in estimator learns what scikit-learn's does. blasnet's own start for relu
        layers, He's wider one, fits a regression measurably worse in the same epochs."""
        rng = np.random.RandomState(self._seed)
        k = 2.0 if self.activation == "logistic" else 6.0
        params = self.network_.parameters()
        for name, fan_in, fan_out, _ in self.network_.layers:
            bound = np.sqrt(k / (fan_in + fan_out))
            params[f"{name}.W"][...] = rng.uniform(-bound, bound, (fan_out, fan_in))
            params[f"{name}.b"][...] = rng.uniform(-bound, bound, fan_out)

    def _build(self, n_features: int) -> None:
        n_out, out_activation, _ = self._output()
        layers = [_core.Dense(h, activation=_ACTIVATIONS[self.activation]) for h in self._hidden()]
        layers.append(_core.Dense(n_out, activation=out_activation))
        self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self.network_ = Sequential(layers, input_dim=n_features, dtype=self.dtype, seed=self._seed)
        self._start_like_sklearn()
        self.out_activation_ = {"sigmoid": "logistic"}.get(out_activation, out_activation)
        self.n_layers_ = len(layers) + 1
        self.n_outputs_ = n_out
        self.loss_curve_: list[float] = []
        self.validation_scores_: list[float] | None = [] if self.early_stopping else None
        self.best_loss_: float | None = None
        self.n_iter_ = 0
        self.t_ = 0
        self._optimizer: _core.Optimizer | None = None

    def _export(self) -> None:
        params = self.network_.parameters()
        n = len(self.network_.layers)
        names = [name for name, _, _, _ in self.network_.layers]
        self.coefs_ = [np.array(params[f"{k}.W"].T) for k in names]
        self.intercepts_ = [np.array(params[f"{k}.b"]) for k in names]
        assert len(self.coefs_) == n

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool, classes: Any = None) -> Any:
        self._check_params()
        first = not (hasattr(self, "network_") and (incremental or self.warm_start))
        X, y = validate_data(
            self, X, y, reset=first, dtype=self.dtype,
            multi_output=self._loss_kind == "regression", y_numeric=self._loss_kind == "regression",
        )
        X = np.ascontiguousarray(X, dtype=self.dtype)
        T = self._prepare_targets(y, first, classes)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if first:
            self._build(X.shape[1])
        batch = self._batch(X.shape[0])
        if self._optimizer is None or not incremental:
            self._optimizer = self._make_optimizer(batch)
        _, _, loss = self._output()
        if incremental:
            history = self.network_.partial_fit(
                X, T, loss, self._optimizer, batch_size=batch, shuffle=bool(self.shuffle),
                sample_weight=sample_weight,
            )
        else:
            stop = EarlyStopping(
                patience=int(self.n_iter_no_change), min_delta=float(self.tol),
                restore_best_weights=bool(self.early_stopping),
            )
            history = self.network_.fit(
                X, T, loss, self._optimizer, epochs=int(self.max_iter), batch_size=batch,
                shuffle=bool(self.shuffle), seed=self._seed,
                validation_fraction=float(self.validation_fraction) if self.early_stopping else None,
                early_stopping=stop, schedule=self._make_schedule(),
                sample_weight=sample_weight, verbose=bool(self.verbose),
            )
        self.loss_curve_ += [float(v) for v in history.loss]
        if self.validation_scores_ is not None and not incremental:
            if self._loss_kind == "classification":
                self.validation_scores_ += [float(v) for v in history.val_accuracy]
            else:
                self.validation_scores_ += [-float(v) for v in history.val_loss]
            self.best_validation_score_ = max(self.validation_scores_) if self.validation_scores_ else None
        if self.loss_curve_:
            self.loss_ = self.loss_curve_[-1]
            self.best_loss_ = None if self.early_stopping and not incremental else min(self.loss_curve_)
        self.n_iter_ += history.epochs
        self.t_ += history.epochs * X.shape[0]
        self._export()
        if not incremental and history.stopped == "completed" and history.epochs >= int(self.max_iter):
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _forward(self, X: Any) -> _Array:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self.dtype)
        return np.asarray(self.network_.predict(np.ascontiguousarray(X, dtype=self.dtype)))

    def __getstate__(self) -> dict[str, Any]:
        # The network pickles as its model file (Model.__reduce__); the optimizer's state
        # stays behind, so a warm start after unpickling begins a new optimizer.
        state = dict(self.__dict__)
        if "_optimizer" in state:
            state["_optimizer"] = None
        return state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):  # type: ignore[misc]
    """Multi-layer perceptron classifier on a blasnet network, with the parameters of
    :class:`sklearn.neural_network.MLPClassifier` (solvers "sgd" and "adam") plus ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.sklearn import MLPClassifier
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]] * 10)
    >>> y = np.array([0, 1, 1, 1] * 10)
    >>> clf = MLPClassifier((8,), learning_rate_init=0.05, max_iter=1000, random_state=0).fit(X, y)
    >>> clf.predict(X[:4]).tolist()
    [0, 1, 1, 1]
    >>> clf.score(X, y)
    1.0
    """

    _loss_kind = "classification"

    def _output(self) -> tuple[int, str, str]:
        if len(self.classes_) <= 2:
            return 1, "sigmoid", "binary_cross_entropy"
        return len(self.classes_), "softmax", "softmax_cross_entropy"

    def _prepare_targets(self, y: _Array, first: bool, classes: Any = None) -> _Array:
        target = type_of_target(y, input_name="y")
        if target not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {target!r} (multilabel is not supported)")
        if first:
            self.classes_ = unique_labels(y) if classes is None else unique_labels(classes)
            self._binarizer = LabelBinarizer().fit(self.classes_)
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on the first call: {self.classes_!r}")
        unseen = np.setdiff1d(unique_labels(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y has classes {unseen.tolist()} not in classes_ {self.classes_.tolist()}")
        if len(self.classes_) <= 2:
            return np.ascontiguousarray((y == self.classes_[-1]).reshape(-1, 1), dtype=self.dtype)
        return np.ascontiguousarray(np.searchsorted(self.classes_, y), dtype=np.int64)

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None) -> MLPClassifier:
        """Trains for up to ``max_iter`` epochs; returns self.

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import MLPClassifier
        >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]] * 10)
        >>> y = [0, 1, 1, 1] * 10
        >>> clf = MLPClassifier((8,), learning_rate_init=0.05, max_iter=1000, random_state=0)
        >>> clf.fit(X, y).n_iter_ < 1000  # stopped once the loss no longer fell by tol
        True
        >>> clf.score(X, y)
        1.0
        """
        self._fit(X, y, sample_weight, incremental=False)
        return self

    def partial_fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, classes: npt.ArrayLike | None = None,
        sample_weight: npt.ArrayLike | None = None,
    ) -> MLPClassifier:
        """One epoch over (X, y); ``classes`` is required on the first call.

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import MLPClassifier
        >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]] * 10)
        >>> y = [0, 1, 1, 1] * 10
        >>> clf = MLPClassifier((8,), learning_rate_init=0.05, random_state=0)
        >>> for _ in range(3):
        ...     _ = clf.partial_fit(X, y, classes=[0, 1])
        >>> clf.n_iter_, clf.loss_curve_[-1] < clf.loss_curve_[0]
        (3, True)
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        self._fit(X, y, sample_weight, incremental=True, classes=classes)
        return self

    def predict_proba(self, X: npt.ArrayLike) -> _Array:
        """Class probabilities, shape (n_samples, n_classes).

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import MLPClassifier
        >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]] * 10)
        >>> y = [0, 1, 1, 1] * 10
        >>> clf = MLPClassifier((8,), learning_rate_init=0.05, max_iter=1000, random_state=0)
        >>> clf.fit(X, y).predict_proba(X[:2]).round(1)  # (P(0), P(1)) of (0, 0) and (1, 1)
        array([[1., 0.],
               [0., 1.]])
        """
        out = self._forward(X).astype(np.float64)
        if out.shape[1] == 1:
            p = out[:, 0]
            return np.column_stack([1.0 - p, p]) if len(self.classes_) == 2 else np.ones((len(p), 1))
        return out

    def predict_log_proba(self, X: npt.ArrayLike) -> _Array:
        """Logarithm of :meth:`predict_proba`.

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import MLPClassifier
        >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]] * 10)
        >>> y = [0, 1, 1, 1] * 10
        >>> clf = MLPClassifier((8,), learning_rate_init=0.05, max_iter=1000, random_state=0)
        >>> log_p = clf.fit(X, y).predict_log_proba(X[:2])
        >>> np.allclose(np.exp(log_p), clf.predict_proba(X[:2]))
        True
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: npt.ArrayLike) -> _Array:
        """The most probable class of each sample.

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import MLPClassifier
        >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]] * 10)
        >>> y = np.array(["no", "yes", "yes", "yes"] * 10)
        >>> clf = MLPClassifier((8,), learning_rate_init=0.05, max_iter=1000, random_state=0)
        >>> clf.fit(X, y).predict(X[:4]).tolist()
        ['no', 'yes', 'yes', 'yes']
        """
        proba = self.predict_proba(X)
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])


class MLPRegressor(RegressorMixin, _BaseMLP):  # type: ignore[misc]
    """Multi-layer perceptron regressor on a blasnet network: identity output and blasnet's
    ``mse`` (½‖y − t‖² averaged over samples, like scikit-learn's squared error / 2).

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> reg = MLPRegressor((16,), learning_rate_init=0.05, max_iter=1000, random_state=0)
    >>> reg.fit(X, 2 * X.ravel()).predict(X).shape
    (50,)
    >>> reg.score(X, 2 * X.ravel()) > 0.99
    True
    """

    def _output(self) -> tuple[int, str, str]:
        return self._n_targets, "identity", "mse"

    def _prepare_targets(self, y: _Array, first: bool, classes: Any = None) -> _Array:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        T = y.reshape(-1, 1) if y.ndim == 1 else y
        if first:
            self._n_targets = T.shape[1]
            self._y_1d = y.ndim == 1
        elif T.shape[1] != self._n_targets:
            raise ValueError(f"y has {T.shape[1]} targets, the network {self._n_targets}")
        return np.ascontiguousarray(T, dtype=self.dtype)

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None) -> MLPRegressor:
        """Trains for up to ``max_iter`` epochs; returns self.

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import MLPRegressor
        >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
        >>> reg = MLPRegressor((16,), learning_rate_init=0.05, max_iter=1000, random_state=0)
        >>> reg.fit(X, 2 * X.ravel()).n_iter_ < 1000  # stopped once the loss no longer fell by tol
        True
        >>> reg.score(X, 2 * X.ravel()) > 0.99
        True
        """
        self._fit(X, y, sample_weight, incremental=False)
        return self

    def partial_fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> MLPRegressor:
        """One epoch over (X, y), keeping the optimizer's state.

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import MLPRegressor
        >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
        >>> reg = MLPRegressor((16,), learning_rate_init=0.01, random_state=0)
        >>> for _ in range(3):
        ...     _ = reg.partial_fit(X, 2 * X.ravel())
        >>> reg.n_iter_, reg.loss_curve_[-1] < reg.loss_curve_[0]
        (3, True)
        """
        self._fit(X, y, sample_weight, incremental=True)
        return self

    def predict(self, X: npt.ArrayLike) -> _Array:
        """The network's outputs, (n_samples,) for a 1-D training target.

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import MLPRegressor
        >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
        >>> reg = MLPRegressor((16,), learning_rate_init=0.05, max_iter=1000, random_state=0)
        >>> y = reg.fit(X, 2 * X.ravel()).predict([[0.5], [-0.5]])
        >>> y.shape, bool(abs(y - [1.0, -1.0]).max() < 0.1)  # near 2·x
        ((2,), True)
        """
        out = self._forward(X).astype(np.float64)
        return out.ravel() if self._y_1d else out


class Perceptron(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Rosenblatt's perceptron (:class:`blasnet.Perceptron`) with the interface of
    :class:`sklearn.linear_model.Perceptron`: one unit for two classes, one-vs-rest units
    otherwise (the class with the largest ``W·x + b`` wins).

    ``tol`` is ignored: training stops after an epoch without mistakes or ``max_iter``.
    No penalty, no ``class_weight``, no ``sample_weight``.

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.sklearn import Perceptron
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> Perceptron(shuffle=False).fit(X, [0, 0, 0, 1]).predict(X).tolist()
    [0, 0, 0, 1]
    """

    def __init__(
        self,
        *,
        max_iter: int = 1000,
        tol: float | None = 1e-3,
        shuffle: bool = True,
        eta0: float = 1.0,
        random_state: int | np.random.RandomState | None = 0,
        warm_start: bool = False,
        dtype: str = "float64",
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.eta0 = eta0
        self.random_state = random_state
        self.warm_start = warm_start
        self.dtype = dtype

    def _fit(self, X: Any, y: Any, epochs: int, incremental: bool, classes: Any) -> Perceptron:
        if isinstance(self.max_iter, bool) or int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter!r}")
        first = not (hasattr(self, "perceptron_") and (incremental or self.warm_start))
        X, y = validate_data(self, X, y, reset=first, dtype=self.dtype)
        target = type_of_target(y, input_name="y")
        if target not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {target!r}")
        if first:
            self.classes_ = unique_labels(y) if classes is None else unique_labels(classes)
            if len(self.classes_) < 2:
                raise ValueError(
                    "The number of classes has to be greater than one; got "
                    f"{len(self.classes_)} class"
                )
            n_out = 1 if len(self.classes_) == 2 else len(self.classes_)
            self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            self.perceptron_ = _Perceptron(
                X.shape[1], n_out, lr=float(self.eta0), dtype=self.dtype, seed=self._seed
            )
            self.n_iter_ = 0
            self.t_ = 0
        unseen = np.setdiff1d(unique_labels(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y has classes {unseen.tolist()} not in classes_ {self.classes_.tolist()}")
        if len(self.classes_) == 2:
            T = (y == self.classes_[1]).astype(self.dtype)
        else:
            T = (y[:, None] == self.classes_[None, :]).astype(self.dtype)
        seed = self._seed + self.n_iter_
        history = self.perceptron_.fit(
            np.ascontiguousarray(X), np.ascontiguousarray(T), epochs=epochs,
            shuffle=bool(self.shuffle), seed=seed,
        )
        self.n_iter_ = history.epochs if not incremental else self.n_iter_ + history.epochs
        self.t_ += history.epochs * X.shape[0]
        self.coef_ = np.array(self.perceptron_.W, dtype=np.float64)
        self.intercept_ = np.array(self.perceptron_.b, dtype=np.float64)
        return self

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> Perceptron:
        """Rosenblatt's rule until an epoch without mistakes or ``max_iter`` epochs.

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import Perceptron
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> clf = Perceptron(shuffle=False).fit(X, [0, 0, 0, 1])  # AND
        >>> clf.n_iter_, clf.coef_.tolist(), clf.intercept_.tolist()
        (6, [[2.0, 1.0]], [-3.0])
        """
        return self._fit(X, y, int(self.max_iter), False, None)

    def partial_fit(self, X: npt.ArrayLike, y: npt.ArrayLike, classes: npt.ArrayLike | None = None) -> Perceptron:
        """One epoch over (X, y); ``classes`` is required on the first call.

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import Perceptron
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> clf = Perceptron(shuffle=False)
        >>> for _ in range(6):
        ...     _ = clf.partial_fit(X, [0, 0, 0, 1], classes=[0, 1])
        >>> clf.n_iter_, clf.predict(X).tolist()
        (6, [0, 0, 0, 1])
        """
        if not hasattr(self, "perceptron_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, 1, True, classes)

    def decision_function(self, X: npt.ArrayLike) -> _Array:
        """``W·x + b``: (n_samples,) for two classes, else (n_samples, n_classes).

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import Perceptron
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> clf = Perceptron(shuffle=False).fit(X, [0, 0, 0, 1])
        >>> clf.decision_function(X)  # 2·x₁ + x₂ − 3
        array([-3., -2., -1.,  0.])
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self.dtype)
        scores = np.asarray(X, dtype=np.float64) @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X: npt.ArrayLike) -> _Array:
        """The class of each sample: the positive class where ``W·x + b ≥ 0``, else the
        one-vs-rest unit with the largest score.

        Examples
        --------
        >>> import numpy as np
        >>> from blasnet.sklearn import Perceptron
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> Perceptron(shuffle=False).fit(X, ["off", "off", "off", "on"]).predict(X).tolist()
        ['off', 'off', 'off', 'on']
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.asarray(self.classes_[(scores >= 0).astype(int)])
        return np.asarray(self.classes_[np.argmax(scores, axis=1)])
