"""Turning user arguments into what the core takes, with errors that name the problem."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

SUPPORTED_DTYPES = ("float32", "float64")
_INT64 = np.dtype(np.int64)


def as_dtype(dtype: npt.DTypeLike) -> np.dtype[Any]:
    """The network dtype named by ``dtype``: float32 or float64, else ValueError."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise ValueError(f"dtype must be one of {SUPPORTED_DTYPES}, got {dtype!r}") from error
    if resolved.name not in SUPPORTED_DTYPES:
        raise ValueError(f"dtype must be one of {SUPPORTED_DTYPES}, got {resolved.name!r}")
    return resolved


def as_count(value: Any, name: str, *, minimum: int = 1) -> int:
    """``value`` as a Python int of at least ``minimum``, else ValueError (TypeError if not an
    integer at all)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    count = int(value)
    if count < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {count}")
    return count


def as_seed(value: Any) -> int:
    """A seed for the core's 64-bit random stream."""
    seed = as_count(value, "seed", minimum=0)
    if seed >= 2**64:
        raise ValueError(f"seed must be below 2**64, got {seed}")
    return seed


def _numeric_array(values: Any, name: str) -> np.ndarray[Any, Any]:
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got an array of dtype {array.dtype}")
    return array


def converted(array: np.ndarray[Any, Any], dtype: Any, name: str) -> np.ndarray[Any, Any]:
    """``array`` as C-contiguous ``dtype``; a finite value that overflows the cast (float64 to
    float32) is named as such, not left to surface later as an Inf."""
    try:
        with np.errstate(over="raise", invalid="raise"):
            return np.ascontiguousarray(array, dtype=dtype)
    except FloatingPointError as error:
        raise ValueError(f"{name} has values outside the range of {np.dtype(dtype).name}") from error


def as_samples(X: Any, dtype: np.dtype[Any], name: str = "X") -> np.ndarray[Any, Any]:
    """X as a C-contiguous (n_samples, n_features) array of ``dtype``: the array itself when it
    already is one, otherwise one converted copy; ValueError naming X (``name``) for anything
    that holds no such samples. The bindings call it for an argument the core cannot read in
    place (python/bindings/arrays.hpp decides), and the models for data they split."""
    if type(X) is np.ndarray and X.dtype is dtype and X.ndim == 2 and X.flags.c_contiguous:
        return X
    array = _numeric_array(X, name)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got shape {array.shape}; "
            f"reshape a single sample with {name}.reshape(1, -1)"
        )
    return converted(array, dtype, name)


def as_targets(
    T: Any, loss: str, output_dim: int, dtype: np.dtype[Any], name: str = "T"
) -> np.ndarray[Any, Any]:
    """Targets as the core takes them: a C-contiguous (n_samples, output_dim) array of
    ``dtype``, or, for softmax_cross_entropy, int64 class labels of shape (n_samples,).
    ``name`` names T in errors."""
    if type(T) is np.ndarray and T.flags.c_contiguous:
        if T.dtype is dtype and T.ndim == 2:
            return T
        if T.dtype is _INT64 and T.ndim == 1 and loss == "softmax_cross_entropy":
            return T
    array = _numeric_array(T, name)
    if array.ndim == 1:
        if loss == "softmax_cross_entropy" and array.dtype.kind in "iu":
            return converted(array, np.int64, name)
        if output_dim != 1:
            raise ValueError(
                f"{name} has shape {array.shape} but the network has {output_dim} outputs: give "
                f"targets of shape (n_samples, {output_dim}), or integer class labels with "
                "loss='softmax_cross_entropy'"
            )
        array = array.reshape(-1, 1)
    elif array.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {array.shape}")
    return converted(array, dtype, name)


def as_sample_weight(weights: Any, n: int, dtype: np.dtype[Any]) -> np.ndarray[Any, Any] | None:
    """Per-sample weights as a C-contiguous (n,) array of ``dtype``, checked."""
    if weights is None:
        return None
    array = np.asarray(weights)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"sample_weight must be numeric, got an array of dtype {array.dtype}")
    if array.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), one per sample, got {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    if not np.any(array > 0):
        raise ValueError("sample_weight is zero everywhere: no sample would count")
    return np.ascontiguousarray(array, dtype=dtype)


def checked_classes(classes: Any, n_outputs: int, what: str) -> list[str | int | float]:
    """``classes`` as a list of distinct plain str, int or float names, one per output (two
    for a single sigmoid output: the classes of 0 and 1), else ValueError naming ``what``.

    Examples
    --------
    >>> import numpy as np
    >>> checked_classes(np.array([3, 5, 7]), 3, "classes")
    [3, 5, 7]
    >>> checked_classes(["no", "yes"], 1, "classes")
    ['no', 'yes']
    """
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (Sequence, np.ndarray)):
        raise ValueError(f"{what}: class names must be a list, got {classes!r}")
    names: list[str | int | float] = []
    for name in list(classes):
        if isinstance(name, (bool, np.bool_)) or not isinstance(
                name, (str, numbers.Integral, numbers.Real)):
            raise ValueError(f"{what}: class names must be strings or numbers, got {name!r}")
        if isinstance(name, numbers.Integral):
            names.append(int(name))
        elif isinstance(name, numbers.Real):
            if not np.isfinite(float(name)):
                raise ValueError(f"{what}: class names must be finite, got {name!r}")
            names.append(float(name))
        else:
            names.append(str(name))
    if len(set(names)) != len(names):
        raise ValueError(f"{what}: class names must be distinct, got {names!r}")
    expected = 2 if n_outputs == 1 else n_outputs
    if len(names) != expected:
        raise ValueError(f"{what}: {len(names)} class names for a model of {n_outputs} "
                         f"output{'s' if n_outputs > 1 else ''} (expected {expected})")
    return names
