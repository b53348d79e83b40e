"""The data of ``blasnet train``, ``predict`` and ``evaluate``: a CSV file with a header row
or an NPZ file of arrays, read into a feature matrix and, when asked for, a target column.

Every problem with a file (unreadable, a missing column, a non-numeric cell, a wrong shape)
is raised as a ValueError or an OSError whose message is one line naming the file, so the
command line can print it and exit without a traceback.
"""

from __future__ import annotations

import csv
import os
from typing import Any

import numpy as np

#: Most distinct values a target column may hold for ``--task`` to default to classification.
MAX_AUTO_CLASSES = 20


def read_data(
    path: str, target: str | None, need_target: bool
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    """Features (n_samples, n_features) in float64 and the targets (n_samples,) or
    (n_samples, n_outputs), or None when ``target`` is None or, with ``need_target`` False,
    absent from the file.

    A path ending in ``.npz`` is read as NumPy arrays ``X`` and ``target`` (default ``y``);
    anything else as CSV with a header row, every column numeric, ``target`` naming the
    target column and all the others the features, in file order.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("a,label,b\\n1,0,2\\n3,1,4\\n")
    >>> X, y = read_data(path, "label", need_target=True)
    >>> X.tolist(), y.tolist()
    ([[1.0, 2.0], [3.0, 4.0]], [0.0, 1.0])
    """
    if path.endswith(".npz"):
        return _read_npz(path, target, need_target)
    return _read_csv(path, target, need_target)


def _read_csv(
    path: str, target: str | None, need_target: bool
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    try:
        with open(path, newline="", encoding="utf-8") as file:
            rows = list(csv.reader(file))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text CSV file") from None
    except csv.Error as error:
        raise ValueError(f"{path}: unreadable CSV ({error})") from None
    if not rows or not rows[0]:
        raise ValueError(f"{path}: empty file, expected a header row of column names")
    header = [name.strip() for name in rows[0]]
    body = [(number, row) for number, row in enumerate(rows[1:], start=2) if row]
    if not body:
        raise ValueError(f"{path}: a header row but no data rows")
    if target is not None and target not in header:
        if need_target:
            raise ValueError(f"{path}: no column '{target}' (columns: {', '.join(header)})")
        target = None
    values = np.empty((len(body), len(header)))
    for i, (number, row) in enumerate(body):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {number}: {len(row)} cells, the header has "
                             f"{len(header)}")
        for j, cell in enumerate(row):
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise ValueError(f"{path}, line {number}, column '{header[j]}': {cell.strip()!r} "
                                 "is not a number") from None
    if target is None:
        return values, None
    column = header.index(target)
    return np.delete(values, column, axis=1), values[:, column]


def _read_npz(
    path: str, target: str | None, need_target: bool
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    name = "y" if target is None else target
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:  # a zip, pickle or format error: all mean "not an NPZ"
        raise ValueError(f"{path}: not a readable NPZ file ({type(error).__name__})") from None
    if "X" not in arrays:
        raise ValueError(f"{path}: no array 'X' (arrays: {', '.join(sorted(arrays))})")
    X = _numeric(arrays["X"], path, "X")
    if X.ndim != 2:
        raise ValueError(f"{path}: array 'X' must be 2-D (samples, features), got shape "
                         f"{X.shape}")
    if name not in arrays:
        if need_target:
            raise ValueError(f"{path}: no array '{name}' (arrays: {', '.join(sorted(arrays))})")
        return X, None
    y = _numeric(arrays[name], path, name)
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(f"{path}: array '{name}' has shape {y.shape}, expected "
                         f"({X.shape[0]},) to match X's {X.shape[0]} samples")
    return X, y


def _numeric(array: np.ndarray[Any, Any], path: str, name: str) -> np.ndarray[Any, Any]:
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"{path}: array '{name}' is not numeric (dtype {array.dtype})")
    return np.ascontiguousarray(array, dtype=np.float64)


def is_class_labels(y: np.ndarray[Any, Any]) -> bool:
    """Whether targets can be class labels: one column of integers 0, 1, 2, ...

    Examples
    --------
    >>> import numpy as np
    >>> is_class_labels(np.array([0.0, 2.0, 1.0])), is_class_labels(np.array([0.5, 1.0]))
    (True, False)
    """
    return bool(y.ndim == 1 and np.all(np.isfinite(y)) and np.all(y == np.round(y))
                and np.all(y >= 0))


def default_task(y: np.ndarray[Any, Any]) -> str:
    """``classify`` for class labels 0..k-1 with few distinct values, else ``regress``."""
    if is_class_labels(y) and len(np.unique(y)) <= MAX_AUTO_CLASSES:
        return "classify"
    return "regress"


def class_labels(
    y: np.ndarray[Any, Any], what: str, n_classes: int | None = None
) -> np.ndarray[Any, Any]:
    """The targets as int64 labels, checked to be 0..n_classes-1."""
    if not is_class_labels(y):
        raise ValueError(f"{what}: a classifier needs integer class labels 0, 1, 2, ... "
                         "(use --task regress for other targets)")
    labels = y.astype(np.int64)
    if n_classes is not None and labels.max() >= n_classes:
        raise ValueError(f"{what}: label {labels.max()} but the model knows classes "
                         f"0..{n_classes - 1}")
    return labels
