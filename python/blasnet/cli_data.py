"""The data of ``blasnet train``, ``predict`` and ``evaluate``: a CSV file with a header row
or an NPZ file of arrays, read into a feature matrix and, when asked for, a target column.

Every problem with a file (unreadable, a missing column, a non-numeric cell, a wrong shape)
is raised as a ValueError or an OSError whose message is one line naming the file, so the
command line can print it and exit without a traceback.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._paths import checked_path

#: Most distinct values a target column may hold for ``--task`` to default to classification.
MAX_AUTO_CLASSES = 20


def read_data(
    path: str, target: str | None, need_target: bool
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    """Features (n_samples, n_features) in float64 and the targets (n_samples,) or
    (n_samples, n_outputs), or None when ``target`` is None or, with ``need_target`` False,
    absent from the file.

    A path ending in ``.npz`` is read as NumPy arrays ``X`` and ``target`` (default ``y``);
    anything else as CSV with a header row, ``target`` naming the target column and all the
    others the features, in file order. Features must be numbers; the target column may also
    hold class names (then it is returned as strings), and so may an NPZ's string array.

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
    path = checked_path(path)
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
    for number, row in body:
        if len(row) != len(header):
            raise ValueError(f"{path}, line {number}: {len(row)} cells, the header has "
                             f"{len(header)}")
    column = None if target is None else header.index(target)
    features = [j for j in range(len(header)) if j != column]
    values = np.empty((len(body), len(features)))
    for i, (number, row) in enumerate(body):
        for k, j in enumerate(features):
            try:
                values[i, k] = float(row[j])
            except ValueError:
                raise ValueError(f"{path}, line {number}, column '{header[j]}': "
                                 f"{row[j].strip()!r} is not a number") from None
    if column is None:
        return values, None
    return values, _target_column([row[column].strip() for _, row in body])


def _target_column(cells: list[str]) -> np.ndarray[Any, Any]:
    """Numbers when every cell is one, else the cells as class names (strings)."""
    try:
        return np.array([float(cell) for cell in cells])
    except ValueError:
        return np.array(cells, dtype=str)


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
    y = arrays[name] if arrays[name].dtype.kind == "U" else _numeric(arrays[name], path, name)
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(f"{path}: array '{name}' has shape {y.shape}, expected "
                         f"({X.shape[0]},) to match X's {X.shape[0]} samples")
    return X, y


def _numeric(array: np.ndarray[Any, Any], path: str, name: str) -> np.ndarray[Any, Any]:
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"{path}: array '{name}' is not numeric (dtype {array.dtype})")
    return np.ascontiguousarray(array, dtype=np.float64)


def default_task(y: np.ndarray[Any, Any]) -> str:
    """``classify`` for targets that name classes — strings, or integers with at most
    ``MAX_AUTO_CLASSES`` distinct values — else ``regress``.

    Examples
    --------
    >>> import numpy as np
    >>> default_task(np.array(["cherry", "chocolate"])), default_task(np.array([0.0, 2.0]))
    ('classify', 'classify')
    >>> default_task(np.array([0.5, 1.0]))
    'regress'
    """
    if y.dtype.kind == "U":
        return "classify"
    if (y.ndim == 1 and np.all(np.isfinite(y)) and np.all(y == np.round(y))
            and len(np.unique(y)) <= MAX_AUTO_CLASSES):
        return "classify"
    return "regress"


def encode_classes(
    y: np.ndarray[Any, Any], what: str
) -> tuple[list[str | int | float], np.ndarray[Any, Any]]:
    """The sorted distinct class names of ``y`` (ints where the values are whole numbers) and
    each sample's class as its int64 index among them.

    Examples
    --------
    >>> import numpy as np
    >>> encode_classes(np.array([7.0, 3.0, 7.0]), "data.csv")
    ([3, 7], array([1, 0, 1]))
    """
    if y.ndim != 1:
        raise ValueError(f"{what}: a classifier needs one target column, got {y.shape[1]}")
    if y.dtype.kind != "U" and not np.all(np.isfinite(y)):
        raise ValueError(f"{what}: the target column holds NaN or infinite values")
    names, labels = np.unique(y, return_inverse=True)
    if len(names) < 2:
        raise ValueError(f"{what}: a classifier needs at least 2 classes, the target column "
                         f"holds only {names.tolist()}")
    classes: list[str | int | float]
    if names.dtype.kind == "U":
        classes = [str(name) for name in names]
    elif np.all(names == np.round(names)):
        classes = [int(name) for name in names]
    else:
        classes = [float(name) for name in names]
    return classes, labels.astype(np.int64)


def class_indices(
    y: np.ndarray[Any, Any], classes: Sequence[str | int | float], what: str
) -> np.ndarray[Any, Any]:
    """Each target's index in a model's ``classes``; a ValueError names a class the model
    does not know.

    Examples
    --------
    >>> import numpy as np
    >>> class_indices(np.array(["b", "a"]), ["a", "b"], "data.csv")
    array([1, 0])
    """
    if y.ndim != 1:
        raise ValueError(f"{what}: a classifier needs one target column, got {y.shape[1]}")
    index = {name: i for i, name in enumerate(classes)}
    values = y.tolist()
    unknown = sorted({str(value) for value in values if value not in index})
    if unknown:
        raise ValueError(f"{what}: classes {', '.join(unknown)} are not among the model's "
                         f"{', '.join(str(name) for name in classes)}")
    return np.array([index[value] for value in values], dtype=np.int64)
