"""Learning-rate schedules: the rate of each epoch, from the optimizer's initial rate α₀.

Pass one to ``fit``: before each epoch it sets the optimizer's ``lr``, after each it is told
the samples seen and the monitored loss (the validation loss if there is one, else the
training loss). A schedule counts its own epochs and samples, so it continues across calls
to ``fit``; ``begin_epoch`` and ``end_epoch`` drive it by hand.

- ``Constant()``: α₀.
- ``InverseScaling(power=0.5)``: α₀ / (1 + samples seen)^power.
- ``StepDecay(step_size, gamma=0.1)``: α₀·γ^⌊epochs / step_size⌋.
- ``Cosine(period, min_lr=0.0)``: min_lr + (α₀ − min_lr)·(1 + cos(π·min(epochs, period) /
  period)) / 2.
- ``ReduceOnPlateau(factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0.0)``: the
  rate times ``factor`` after ``patience`` epochs without improvement.

Examples
--------
>>> import blasnet as bn
>>> from blasnet import schedules
>>> sgd = bn.SGD(lr=0.1)
>>> schedule = schedules.Cosine(period=10, min_lr=0.001)
>>> schedule
Cosine(period=10, min_lr=0.001)
>>> rates = []
>>> for epoch in range(12):
...     schedule.begin_epoch(sgd)
...     rates.append(sgd.lr)
...     schedule.end_epoch(samples=64, monitored=1.0)
>>> rates[0], round(rates[5], 6), rates[-1]
(0.1, 0.0505, 0.001)
>>> schedule.epochs, schedule.samples
(12, 768)
"""

from ._core import Constant, Cosine, InverseScaling, ReduceOnPlateau, Schedule, StepDecay

__all__ = ["Constant", "Cosine", "InverseScaling", "ReduceOnPlateau", "Schedule", "StepDecay"]
