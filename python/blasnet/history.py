"""The record a training run leaves behind."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class History:
    """Per-epoch record of one call to ``fit``.

    Attributes
    ----------
    loss : list of float
        Mean training loss of each completed epoch (the mean of the batch losses, weighted
        by batch size), measured while the epoch's steps were taken.
    interrupted : bool
        True when Ctrl-C stopped training early; ``loss`` then holds the epochs that finished.
    seconds : float
        Wall time of the whole call.

    Examples
    --------
    >>> h = History(loss=[0.7, 0.5])
    >>> h.epochs
    2
    """

    loss: list[float] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.loss)

    @classmethod
    def record(cls, fit: Callable[[], tuple[Sequence[float], bool]]) -> History:
        """Runs ``fit`` (a core training loop returning its per-epoch losses and whether Ctrl-C
        stopped it) and keeps what it returned, with its wall time."""
        started = time.perf_counter()
        losses, interrupted = fit()
        return cls(
            loss=list(losses),
            interrupted=bool(interrupted),
            seconds=time.perf_counter() - started,
        )
