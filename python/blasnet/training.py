"""What every model's ``fit`` shares: early stopping, validation splits, sample and class
weights, callbacks and the progress bar around the C++ training loop."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, TypeVar, Union

import numpy as np

from . import _core
from .history import EpochRecord, History

# The rest are helpers of the models' fit methods, not part of the API.
__all__ = ["Callback", "EarlyStopping", "NonFiniteError"]

#: A callback receives each epoch's record; returning False stops training.
Callback = Callable[[EpochRecord], Union[bool, None]]

NonFiniteError = _core.NonFiniteError

# Converted targets: an array, or None for an output whose targets are one of its inputs.
TargetArray = TypeVar("TargetArray", np.ndarray[Any, Any], Optional[np.ndarray[Any, Any]])


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when the monitored loss — the validation loss when there is validation data,
    else the training loss — has not fallen by more than ``min_delta`` for ``patience``
    epochs.

    Parameters
    ----------
    patience : int
    min_delta : float
    restore_best_weights : bool
        End with the weights of the best epoch (unless Ctrl-C stopped training, which keeps
        the last completed step's).

    Examples
    --------
    >>> import blasnet as bn
    >>> bn.EarlyStopping(patience=3)
    EarlyStopping(patience=3, min_delta=0.0, restore_best_weights=True)
    """

    patience: int = 10
    min_delta: float = 0.0
    restore_best_weights: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.patience, bool) or not isinstance(self.patience, numbers.Integral):
            raise TypeError(f"patience must be an integer, got {self.patience!r}")
        if self.patience < 1:
            raise ValueError(f"patience must be at least 1, got {self.patience}")
        if not (math.isfinite(self.min_delta) and self.min_delta >= 0):
            raise ValueError(f"min_delta must be finite and non-negative, got {self.min_delta}")


def early_stopping_args(rule: EarlyStopping | bool | None) -> dict[str, Any]:
    """The core's patience/min_delta/restore_best arguments for ``early_stopping=``."""
    if rule is None or rule is False:
        return {"patience": None}
    if rule is True:
        rule = EarlyStopping()
    if not isinstance(rule, EarlyStopping):
        raise TypeError(f"early_stopping must be an EarlyStopping or a bool, got {rule!r}")
    return {
        "patience": rule.patience,
        "min_delta": rule.min_delta,
        "restore_best": rule.restore_best_weights,
    }


def class_labels(T: np.ndarray[Any, Any], loss: str) -> np.ndarray[Any, Any]:
    """The class of each sample in converted targets: labels, the largest target of a row, or
    a single binary unit's side of 0.5."""
    if T.ndim == 1:
        return T
    if loss == "softmax_cross_entropy":
        return np.asarray(np.argmax(T, axis=1))
    if loss == "binary_cross_entropy" and T.shape[1] == 1:
        return (T[:, 0] > 0.5).astype(np.int64)
    raise ValueError(
        "class_weight needs classes: softmax_cross_entropy targets, or binary_cross_entropy "
        f"with one output unit; got loss {loss!r} with {T.shape[1]} outputs"
    )


def class_weight_samples(
    T: np.ndarray[Any, Any], loss: str, class_weight: Mapping[Any, float] | str
) -> np.ndarray[Any, Any]:
    """Per-sample weights from ``class_weight``: a mapping class → weight (classes it leaves
    out weigh 1), or "balanced", n_samples / (n_classes · count of the class), as scikit-learn
    defines it."""
    labels = class_labels(T, loss)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be a mapping or 'balanced', got {class_weight!r}")
        per_class = len(labels) / (len(classes) * counts)
    else:
        unknown = set(class_weight) - {c.item() for c in classes}
        if unknown:
            raise ValueError(f"class_weight names classes not in the targets: {sorted(unknown)}")
        per_class = np.array([float(class_weight.get(c.item(), 1.0)) for c in classes])
    return np.asarray(per_class, dtype=np.float64)[inverse]


def validation_split(
    n: int, fraction: float, seed: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Indices of a seeded random split: (training, validation)."""
    if not (isinstance(fraction, numbers.Real) and 0 < fraction < 1):
        raise ValueError(f"validation_fraction must be in (0, 1), got {fraction!r}")
    n_val = int(round(n * float(fraction)))
    if n_val < 1 or n_val >= n:
        raise ValueError(
            f"validation_fraction {fraction} of {n} samples leaves no validation or no training data"
        )
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def hold_out(
    inputs: list[np.ndarray[Any, Any]],
    targets: list[TargetArray],
    weights: np.ndarray[Any, Any] | None,
    fraction: float,
    seed: int,
) -> tuple[
    list[np.ndarray[Any, Any]],
    list[TargetArray],
    np.ndarray[Any, Any] | None,
    list[np.ndarray[Any, Any]],
    list[TargetArray],
]:
    """Splits converted data for ``validation_fraction``: (training inputs, training targets,
    training weights, validation inputs, validation targets), chosen by :func:`validation_split`.
    A None target (one taken from an input) stays None on both sides."""
    train, held = validation_split(inputs[0].shape[0], fraction, seed)

    def rows(arrays: list[Any], which: np.ndarray[Any, Any]) -> list[Any]:
        return [None if a is None else a[which] for a in arrays]

    kept = None if weights is None else np.ascontiguousarray(weights[train])
    return rows(inputs, train), rows(targets, train), kept, rows(inputs, held), rows(targets, held)


def combine_weights(
    *weights: np.ndarray[Any, Any] | None, dtype: np.dtype[Any]
) -> np.ndarray[Any, Any] | None:
    """The product of the given per-sample weights, or None if none is given."""
    given = [w for w in weights if w is not None]
    if not given:
        return None
    product = np.prod(np.stack([np.asarray(w, dtype=np.float64) for w in given]), axis=0)
    return np.ascontiguousarray(product, dtype=dtype)


def run(
    core_fit: Callable[[Callable[[dict[str, Any]], bool]], dict[str, Any]],
    keep: Callable[[History], None],
    epochs: int,
    callbacks: Sequence[Callback],
    verbose: bool,
) -> History:
    """Runs a core training loop, turning each epoch's record into an :class:`EpochRecord`
    for the history, the progress bar and the callbacks. ``keep`` hands the history to the
    model once training has begun — at the first epoch, or when the loop returns — so that it
    survives whatever ends the run; bad data, refused before the first step, leave the model's
    previous history alone. Then raises what the run ended with — NonFiniteError for a NaN or
    infinite loss or gradient, KeyboardInterrupt for Ctrl-C — or returns the history."""
    callbacks = list(callbacks)
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"callbacks must be callables, got {callback!r}")
    history = History()
    bar = _progress_bar(epochs) if verbose else None

    def on_epoch(fields: dict[str, Any]) -> bool:
        record = EpochRecord(**fields)
        if not history.loss:
            keep(history)
        history.append(record)
        if bar is not None:
            postfix = {"loss": f"{record.loss:.4g}"}
            if record.val_loss is not None:
                postfix["val_loss"] = f"{record.val_loss:.4g}"
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
        keep_going = True
        for callback in callbacks:
            if callback(record) is False:
                keep_going = False
        return keep_going

    started = time.perf_counter()
    try:
        outcome = core_fit(on_epoch)
    except KeyboardInterrupt:
        # Ctrl-C seen by Python itself, in a callback between epochs (a real SIGINT during
        # the loop stops it at the next batch instead, and comes back as "interrupted").
        history.stopped = "interrupted"
        raise
    finally:
        history.seconds = time.perf_counter() - started
        if bar is not None:
            bar.close()
    keep(history)
    history.stopped = str(outcome["stopped"])
    history.best_epoch = outcome["best_epoch"]
    if outcome["error"] is not None:
        raise NonFiniteError(str(outcome["error"]))
    if history.interrupted:
        raise KeyboardInterrupt
    return history


def _progress_bar(epochs: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=epochs, unit="epoch", leave=True)
