"""Timing calls one by one, and the memory a worker process has grown by.

Examples
--------
>>> samples = time_calls(lambda: sum(range(100)), seconds=0.01, min_reps=3)
>>> len(samples) >= 3 and min(samples) > 0
True
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable

# A cap on the samples of one measurement: a 10 µs step would otherwise leave 10⁵ numbers per
# second of budget, without making the median any better.
MAX_REPS = 2000


def time_calls(call: Callable[[], object], seconds: float, min_reps: int) -> list[float]:
    """Seconds of each of several calls of ``call``, after a warm-up.

    The warm-up is one call and then more until a tenth of the budget has passed, so that
    caches, lazily allocated buffers and thread pools are in their steady state. Then calls
    are timed one by one with ``time.perf_counter`` until ``seconds`` have passed and at least
    ``min_reps`` were timed, or :data:`MAX_REPS` were. The garbage collector is off meanwhile,
    as in :mod:`timeit`, so that a collection of garbage left by the set-up does not land in
    one call's time.

    Parameters
    ----------
    call : callable
        What is timed; its result is ignored.
    seconds : float
        Time budget of the timed calls.
    min_reps : int
        Calls timed even when they overrun the budget.

    Returns
    -------
    list of float
        Seconds of each timed call, in order.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        call()
        while time.perf_counter() - started < 0.1 * seconds:
            call()
        samples: list[float] = []
        budget_end = time.perf_counter() + seconds
        while len(samples) < MAX_REPS and (
            len(samples) < min_reps or time.perf_counter() < budget_end
        ):
            before = time.perf_counter()
            call()
            samples.append(time.perf_counter() - before)
        return samples
    finally:
        if was_enabled:
            gc.enable()


def reset_peak_rss() -> None:
    """Lower the process's peak resident memory to its current one, where the system allows.

    Linux does it through ``/proc/self/clear_refs``; ru_maxrss follows. Elsewhere the peak
    stays, and a later working set smaller than an earlier transient one reads as no growth.
    """
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def max_rss_mb() -> float | None:
    """The process's peak resident memory (getrusage's ru_maxrss), in MB; None where the
    ``resource`` module does not exist (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10
