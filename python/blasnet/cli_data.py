"""The data of ``blasnet train``, ``predict`` and ``evaluate``: a CSV file with a header row
or an NPZ file of arrays, read into a feature matrix and, when asked for, a target column.

Every problem with a file (unreadable, a missing column, a non-numeric or non-finite cell,
a wrong shape) is raised as a ValueError or an OSError whose message is one line naming the
file (and, in a CSV, the line and column), so the command line can print it and exit
without a traceback, before any training starts.

A CSV is read in chunks into a float64 matrix allocated once, so reading it takes little
more memory than the matrix itself.
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

#: From 2**53 on, float64 holds only every other whole number, so labels read as floats
#: there may have been rounded into each other.
_EXACT_WHOLE_LIMIT = 2.0**53

#: Unknown classes named in an error before the rest are counted.
_CLASSES_SHOWN = 10


def read_data(
    path: str, target: str | None, need_target: bool
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    """Features (n_samples, n_features) in float64 and the targets (n_samples,) or
    (n_samples, n_outputs), or None when ``target`` is None or, with ``need_target`` False,
    absent from the file.

    A path ending in ``.npz`` is read as NumPy arrays ``X`` and ``target`` (default ``y``);
    anything else as CSV with a header row, ``target`` naming the target column and all the
    others the features, in file order; a byte-order mark before the header is skipped.
    Features must be finite numbers, and so must a needed target, unless it holds class
    names (then it is returned as strings, as is an NPZ's string array). An NPZ's integer
    target keeps its dtype, so labels up to 2⁶⁴−1 stay exact.

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


#: Cells parsed per NumPy conversion: enough rows to amortise the call, few enough that the
#: chunk's Python strings (about 60 bytes a cell) stay near 4 MB, however wide the rows.
_CHUNK_CELLS = 1 << 16


class _NamedTarget(Exception):
    """A target cell that is not a number: the file is read again, keeping the names."""


def _read_csv(
    path: str, target: str | None, need_target: bool
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    try:
        try:
            return _parse_csv(path, target, need_target, names=False)
        except _NamedTarget:
            return _parse_csv(path, target, need_target, names=True)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text CSV file (not UTF-8)") from None
    except csv.Error as error:
        raise ValueError(f"{path}: unreadable CSV ({error})") from None


def _line_count(path: str) -> int | None:
    """An upper bound on the rows of a regular file (its newlines + 1), else None."""
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as file:
        return sum(block.count(b"\n") for block in iter(lambda: file.read(1 << 20), b"")) + 1


def _parse_csv(
    path: str, target: str | None, need_target: bool, names: bool
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    """One pass over the file into a float64 matrix allocated once from the line count,
    converting a chunk of rows at a time: a 100 MB CSV of an 80 MB matrix peaks at 122 MB,
    where lists of every cell's string took 1085 MB. The target is kept as numbers, or with
    ``names`` as text."""
    capacity = _line_count(path)
    # utf-8-sig: a byte-order mark (as spreadsheet programs write) is not part of the first name.
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        header = [name.strip() for name in next(reader, [])]
        if not header:
            raise ValueError(f"{path}: no header row of column names (the file or its first "
                             "line is empty)")
        column = _target_index(path, header, target, need_target)
        features = [j for j in range(len(header)) if j != column]
        if not features:
            raise ValueError(f"{path}: no feature columns besides the target '{target}'")
        values = np.empty((capacity or 1024, len(features)))
        chunk_rows = max(1, _CHUNK_CELLS // len(header))
        numbers = np.empty(len(values)) if column is not None and not names else None
        texts: list[np.ndarray[Any, Any]] = []
        n = 0
        while True:
            rows, lines = [], []
            for row in reader:
                if not row:
                    continue  # a blank line
                if len(row) != len(header):
                    raise ValueError(f"{path}, line {reader.line_num}: {len(row)} cells, the "
                                     f"header has {len(header)}")
                rows.append(row)
                lines.append(reader.line_num)
                if len(rows) == chunk_rows:
                    break
            if not rows:
                break
            if n + len(rows) > len(values):  # a file that grew, or one that is not regular
                size = max(2 * len(values), n + len(rows))
                values.resize((size, len(features)), refcheck=False)
                if numbers is not None:
                    numbers.resize(size, refcheck=False)
            values[n:n + len(rows)] = _numbers(path, header, rows, lines, features)
            if column is not None:
                cells = [row[column].strip() for row in rows]
                if names:
                    texts.append(np.array(cells, dtype=str))
                else:
                    assert numbers is not None
                    numbers[n:n + len(rows)] = _target_numbers(
                        path, header[column], cells, lines, need_target)
            n += len(rows)
    if n == 0:
        raise ValueError(f"{path}: a header row but no data rows")
    values.resize((n, len(features)), refcheck=False)
    if column is None:
        return values, None
    if names:
        return values, np.concatenate(texts)
    assert numbers is not None
    numbers.resize(n, refcheck=False)
    return values, numbers


def _target_index(path: str, header: list[str], target: str | None,
                  need_target: bool) -> int | None:
    if target is None or target not in header:
        if target is not None and need_target:
            raise ValueError(f"{path}: no column '{target}' (columns: {', '.join(header)})")
        return None
    if header.count(target) > 1:
        raise ValueError(f"{path}: {header.count(target)} columns are named '{target}'")
    return header.index(target)


def _numbers(path: str, header: list[str], rows: list[list[str]], lines: list[int],
             features: list[int]) -> np.ndarray[Any, Any]:
    """The feature cells of ``rows`` as finite float64; an error names the first bad cell by
    line and column."""
    try:
        block = np.array([[row[j] for j in features] for row in rows], dtype=np.float64)
    except ValueError:
        block = None
    if block is not None and np.isfinite(block).all():
        return block
    for row, line in zip(rows, lines):  # the slow path, only to name the cell
        for j in features:
            _check_cell(path, line, header[j], row[j])
    raise AssertionError("each cell of a chunk that did not convert converted on its own")


def _check_cell(path: str, line: int, name: str, cell: str) -> None:
    """Refuses a cell that is not a finite number, parsed as the chunks are (by NumPy)."""
    try:
        value = float(np.array(cell, dtype=np.float64))
    except ValueError:
        raise ValueError(f"{path}, line {line}, column '{name}': {cell.strip()!r} is not a "
                         "number") from None
    if not np.isfinite(value):
        raise ValueError(f"{path}, line {line}, column '{name}': {cell.strip()!r} is not a "
                         "finite number")


def _target_numbers(path: str, name: str, cells: list[str], lines: list[int],
                    need_target: bool) -> np.ndarray[Any, Any]:
    """The target cells as numbers (finite ones when the target is needed). A cell that is
    not a number makes the column one of class names, and the file is read again keeping
    every cell's text: names are usually met in the first chunk, so the cost is small."""
    try:
        block = np.array(cells, dtype=np.float64)
    except ValueError:
        raise _NamedTarget from None
    if need_target and not np.isfinite(block).all():
        bad = int(np.flatnonzero(~np.isfinite(block))[0])
        _check_cell(path, lines[bad], name, cells[bad])
    return block


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
    X = _all_finite(_numeric(arrays["X"], path, "X"), path, "X")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{path}: array 'X' must be 2-D (samples, features) with at least one "
                         f"of each, got shape {X.shape}")
    if name not in arrays:
        if need_target:
            raise ValueError(f"{path}: no array '{name}' (arrays: {', '.join(sorted(arrays))})")
        return X, None
    y = arrays[name]
    if y.dtype.kind not in "Uiu":  # names and whole numbers stay exact; the rest is float64
        y = _numeric(y, path, name)
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(f"{path}: array '{name}' has shape {y.shape}, expected "
                         f"({X.shape[0]},) to match X's {X.shape[0]} samples")
    if not need_target:
        return X, y
    return X, (y if y.dtype.kind in "Uiu" else _all_finite(y, path, name))


def _numeric(array: np.ndarray[Any, Any], path: str, name: str) -> np.ndarray[Any, Any]:
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"{path}: array '{name}' is not numeric (dtype {array.dtype})")
    if np.iscomplexobj(array):
        raise ValueError(f"{path}: array '{name}' is complex (dtype {array.dtype})")
    return np.ascontiguousarray(array, dtype=np.float64)


def _all_finite(array: np.ndarray[Any, Any], path: str, name: str) -> np.ndarray[Any, Any]:
    """``array``, refused when it holds NaN or an infinity, naming the first one's place."""
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        raise ValueError(f"{path}: array '{name}' holds {array[tuple(bad[0])]} at index "
                         f"{tuple(int(i) for i in bad[0])}")
    return array


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
    if y.dtype.kind == "f" and np.any(np.abs(y) >= _EXACT_WHOLE_LIMIT):
        largest = float(np.max(np.abs(y)))
        raise ValueError(f"{what}: a class label as large as {largest:.17g} is beyond 2**53, "
                         "where float64 cannot tell neighbouring whole numbers apart; give "
                         "the classes as names (or as an integer array in an NPZ file)")
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
        more = len(unknown) - _CLASSES_SHOWN
        shown = ", ".join(unknown[:_CLASSES_SHOWN]) + (f" and {more} more" if more > 0 else "")
        raise ValueError(f"{what}: classes {shown} are not among the model's "
                         f"{', '.join(str(name) for name in classes)}")
    return np.array([index[value] for value in values], dtype=np.int64)
