"""The record a training run leaves behind."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch of ``fit`` did; callbacks receive one after each epoch.

    Attributes
    ----------
    epoch : int
        Counted from 0 within one call to ``fit``.
    loss : float
        Mean training loss of the epoch's steps (weighted by batch size, or by sample weights),
        each measured before its update.
    accuracy : float or None
        For a classification loss (on the first such output): the share of training samples
        the steps' own forward passes got right.
    val_loss, val_accuracy : float or None
        The same on the validation data, after the epoch, without dropout.
    lr : float
        The learning rate of the epoch.
    seconds : float
        Its wall time, validation included.

    Examples
    --------
    >>> import numpy as np
    >>> import blasnet as bn
    >>> records = []
    >>> net = bn.Sequential([bn.Dense(1)], input_dim=1, seed=0)
    >>> X = np.array([[0.0], [1.0]])
    >>> _ = net.fit(X, 2 * X, loss="mse", optimizer=bn.SGD(lr=0.1), epochs=3,
    ...             callbacks=[records.append])
    >>> [(r.epoch, round(r.loss, 4), r.lr, r.val_loss) for r in records]
    [(0, 0.68, 0.1, None), (1, 0.5525, 0.1, None), (2, 0.4547, 0.1, None)]
    """

    epoch: int
    loss: float
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    lr: float = 0.0
    seconds: float = 0.0


@dataclass
class History:
    """Per-epoch record of one call to ``fit``.

    Attributes
    ----------
    loss : list of float
        Mean training loss of each completed epoch (the mean of the batch losses, weighted
        by batch size), measured while the epoch's steps were taken.
    val_loss, accuracy, val_accuracy : list of float
        Per epoch, where they exist (see :class:`EpochRecord`); empty otherwise.
    lr : list of float
        The learning rate of each epoch.
    epoch_seconds : list of float
        Wall time of each epoch.
    stopped : str
        Why training ended: "completed", "early_stopping", "callback", "interrupted"
        (Ctrl-C) or "diverged" (a NaN or infinite loss, gradient or update).
    best_epoch : int or None
        With early stopping, the epoch with the best monitored loss.
    seconds : float
        Wall time of the whole call.

    Examples
    --------
    >>> h = History(loss=[0.7, 0.5])
    >>> h.epochs
    2
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    stopped: str = "completed"
    best_epoch: int | None = None
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.loss)

    @property
    def interrupted(self) -> bool:
        """True when Ctrl-C stopped training early; the lists hold the epochs that finished."""
        return self.stopped == "interrupted"

    def append(self, record: EpochRecord) -> None:
        """Adds one epoch's record.

        Examples
        --------
        >>> from blasnet.history import EpochRecord, History
        >>> h = History()
        >>> h.append(EpochRecord(epoch=0, loss=0.7, val_loss=0.8, lr=0.1))
        >>> h.append(EpochRecord(epoch=1, loss=0.5, val_loss=0.6, lr=0.1))
        >>> h.loss, h.val_loss, h.accuracy, h.epochs
        ([0.7, 0.5], [0.8, 0.6], [], 2)
        """
        self.loss.append(record.loss)
        self.lr.append(record.lr)
        self.epoch_seconds.append(record.seconds)
        for name in ("val_loss", "accuracy", "val_accuracy"):
            value = getattr(record, name)
            if value is not None:
                getattr(self, name).append(value)
