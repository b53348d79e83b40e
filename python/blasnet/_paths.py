"""The one door every file path of the package goes through."""

from __future__ import annotations

import os


def checked_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """``os.fsdecode(path)``, refused with a ValueError if it holds a NUL byte: the system reads
    a path up to its first NUL, so ``"fresh\\0.safetensors"`` would name ``fresh``.

    Examples
    --------
    >>> from pathlib import Path
    >>> checked_path(Path("models") / "net.safetensors")
    'models/net.safetensors'
    >>> checked_path("fresh\\0.safetensors")
    Traceback (most recent call last):
    ...
    ValueError: the path 'fresh\\x00.safetensors' holds a NUL byte (at index 5), which no file name can hold
    """
    text = os.fsdecode(path)
    nul = text.find("\0")
    if nul >= 0:
        raise ValueError(f"the path {text!r} holds a NUL byte (at index {nul}), which no file "
                         "name can hold")
    return text
