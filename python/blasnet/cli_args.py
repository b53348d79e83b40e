"""Argument types of the ``blasnet`` command: each checks one option's text when the command
line is parsed, so that a value out of the library's range is a one-line usage error before
any work starts, never an exception from deep inside a run.

Each raises ``argparse.ArgumentTypeError``, which argparse prints as
``blasnet COMMAND: error: argument --OPTION: ...``.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable

from ._paths import checked_path

#: The largest count the core's sizes and counters (std::size_t, std::int64_t) all hold.
MAX_COUNT = 2**63 - 1
#: The largest seed (a std::uint64_t).
MAX_SEED = 2**64 - 1


def integer(low: int, high: int) -> Callable[[str], int]:
    """An argument type: a whole number in [low, high].

    Examples
    --------
    >>> from blasnet.cli_args import integer
    >>> integer(1, 10)("7")
    7
    >>> integer(1, 10)("1e3")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: expected a whole number, got '1e3'
    >>> integer(1, 10)("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: must be at least 1, got 0
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high}, got {value}")
        return value

    return parse


#: A count of units, samples, epochs or steps: 1 up to what the core's sizes hold.
count = integer(1, MAX_COUNT)
#: A seed of the core's generators.
seed = integer(0, MAX_SEED)


def finite(text: str) -> float:
    """An argument type: a finite number.

    Examples
    --------
    >>> from blasnet.cli_args import finite
    >>> finite("1e-3")
    0.001
    >>> finite("nan")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: must be a finite number, got 'nan'
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def output_file(text: str) -> str:
    """An argument type: the path of a file to write, in a folder that exists and can be
    written, so that a long run cannot end in "no such folder". Nothing is created to check
    it.

    Examples
    --------
    >>> import tempfile
    >>> from blasnet.cli_args import output_file
    >>> folder = tempfile.mkdtemp()
    >>> output_file(folder + "/model.safetensors") == folder + "/model.safetensors"
    True
    >>> output_file(folder + "/missing/model.safetensors")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    argparse.ArgumentTypeError: .../missing/model.safetensors: no folder .../missing
    """
    try:
        checked_path(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    folder = os.path.dirname(text) or "."
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text}: is a folder, expected a file name")
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"{text}: no folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text}: the folder {folder} is not writable")
    return text
