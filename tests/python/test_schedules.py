"""blasnet.schedules: each schedule's rate of every epoch against its formula, driven as fit
drives it (begin_epoch before an epoch, end_epoch after); ReduceOnPlateau's patience,
min_delta, cooldown and min_lr; parameters, counters, repr and errors."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import blasnet as bn
from blasnet import schedules


def drive(
    schedule: schedules.Schedule,
    optimizer: bn.Optimizer,
    epochs: int,
    samples: Callable[[int], int] = lambda e: 32,
    losses: Sequence[float] | None = None,
) -> list[float]:
    """The optimizer's rate in each epoch, as fit would run the schedule."""
    rates = []
    for e in range(epochs):
        schedule.begin_epoch(optimizer)
        rates.append(optimizer.lr)
        schedule.end_epoch(samples(e), 1.0 if losses is None else losses[e])
    return rates


def test_module_exports() -> None:
    assert bn.schedules is schedules
    assert set(schedules.__all__) == {
        "Constant", "Cosine", "InverseScaling", "ReduceOnPlateau", "Schedule", "StepDecay"
    }
    for name in schedules.__all__:
        assert issubclass(getattr(schedules, name), schedules.Schedule), name
    with pytest.raises(TypeError):
        schedules.Schedule()  # the base has no rate of its own


def test_constant_and_counters() -> None:
    """Constant keeps α₀; epochs and samples count every end_epoch, across separate runs."""
    schedule = schedules.Constant()
    sgd = bn.SGD(lr=0.3)
    assert drive(schedule, sgd, 5, samples=lambda e: e + 1) == [0.3] * 5
    assert (schedule.epochs, schedule.samples) == (5, 15)
    assert drive(schedule, sgd, 2, samples=lambda e: 100) == [0.3] * 2  # a second "fit"
    assert (schedule.epochs, schedule.samples) == (7, 215)
    assert repr(schedule) == "Constant()"


@pytest.mark.parametrize("power", [0.5, 0.25, 1.0, 0.0])
def test_inverse_scaling(power: float) -> None:
    """α₀ / (1 + samples seen)^power, with the samples of the epochs before."""
    schedule = schedules.InverseScaling(power=power)
    sgd = bn.SGD(lr=0.2)
    per_epoch = [int(n) for n in np.random.default_rng(0).integers(1, 500, 80)]
    rates = drive(schedule, sgd, 80, samples=lambda e: per_epoch[e])
    seen = np.concatenate([[0], np.cumsum(per_epoch)[:-1]])
    np.testing.assert_allclose(rates, 0.2 / (1.0 + seen) ** power, rtol=1e-15)
    assert schedule.samples == sum(per_epoch)
    assert schedule.power == power


def test_inverse_scaling_matches_scikit_learn() -> None:
    """scikit-learn's MLP with learning_rate="invscaling" sets its rate after each epoch from
    t_, the samples seen: after k epochs of 37 samples it holds our rate of epoch k."""
    neural_network = pytest.importorskip("sklearn.neural_network")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(37, 2)), rng.normal(size=37)
    schedule = schedules.InverseScaling(power=0.3)
    ours = drive(schedule, bn.SGD(lr=0.01), 5, samples=lambda e: 37)
    for epochs in range(1, 5):
        mlp = neural_network.MLPRegressor(
            hidden_layer_sizes=(3,), solver="sgd", learning_rate="invscaling",
            learning_rate_init=0.01, power_t=0.3, max_iter=epochs, batch_size=10,
            shuffle=False, momentum=0.0, random_state=0, n_iter_no_change=100,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter reached
            mlp.fit(X, y)
        assert mlp.t_ == 37 * epochs
        assert mlp._optimizer.learning_rate == pytest.approx(ours[epochs], rel=1e-15)


def test_step_decay() -> None:
    schedule = schedules.StepDecay(step_size=3, gamma=0.5)
    sgd = bn.SGD(lr=1.0)
    assert drive(schedule, sgd, 10) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    tenth = schedules.StepDecay(step_size=7)
    rates = drive(tenth, bn.Adam(lr=0.3), 60)
    np.testing.assert_allclose(rates, [0.3 * 0.1 ** (e // 7) for e in range(60)], rtol=1e-14)
    assert (tenth.step_size, tenth.gamma) == (7, 0.1)
    assert repr(tenth) == "StepDecay(step_size=7, gamma=0.1)"


@pytest.mark.parametrize("min_lr", [0.0, 0.01])
def test_cosine(min_lr: float) -> None:
    """The half cosine from α₀ to min_lr over the period, then min_lr; min_lr 0 sets a rate of
    exactly 0, which freezes the parameters."""
    period = 25
    schedule = schedules.Cosine(period=period, min_lr=min_lr)
    sgd = bn.SGD(lr=0.1, momentum=0.9)
    rates = drive(schedule, sgd, 40)
    expected = [
        min_lr + (0.1 - min_lr) * (1 + math.cos(math.pi * min(e, period) / period)) / 2
        for e in range(40)
    ]
    np.testing.assert_allclose(rates, expected, rtol=1e-14, atol=1e-17)
    assert rates[0] == 0.1
    assert rates[period:] == [min_lr] * (40 - period)
    assert all(a >= b for a, b in zip(rates, rates[1:])), "non-increasing"
    if min_lr == 0.0:
        theta = np.ones(3)
        sgd.step(theta, np.ones(3))
        np.testing.assert_array_equal(theta, np.ones(3))
    assert (schedule.period, schedule.min_lr) == (period, min_lr)


def test_the_initial_rate_is_read_once() -> None:
    """α₀ is the optimizer's lr at the first begin_epoch; the schedule then owns the rate."""
    schedule = schedules.StepDecay(step_size=1, gamma=0.5)
    sgd = bn.SGD(lr=0.8)
    schedule.begin_epoch(sgd)
    schedule.end_epoch(10, 1.0)
    sgd.lr = 100.0
    schedule.begin_epoch(sgd)
    assert sgd.lr == 0.4


# --- ReduceOnPlateau ---------------------------------------------------------------------------


def plateau_rates(
    losses: Sequence[float], lr: float = 1.0, **kwargs: Any
) -> tuple[list[float], schedules.ReduceOnPlateau]:
    schedule = schedules.ReduceOnPlateau(**kwargs)
    return drive(schedule, bn.SGD(lr=lr), len(losses), losses=losses), schedule


def test_plateau_waits_patience_epochs() -> None:
    """After `patience` epochs without improvement the rate is multiplied by factor; each
    improvement restarts the count."""
    losses = [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    rates, schedule = plateau_rates(losses, factor=0.5, patience=3, min_delta=0.0)
    # Epochs 2, 3, 4 do not improve on 0.5: epoch 5 runs at 0.5; 5, 6, 7: epoch 8 at 0.25.
    assert rates == [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert schedule.best == 0.5
    assert schedule.bad_epochs == 2

    rates, _ = plateau_rates([5, 5, 4, 4, 3, 3, 2, 2, 2, 2], factor=0.5, patience=2, min_delta=0.0)
    assert rates == [1] * 9 + [0.5], "only the last two epochs at 2 make a plateau"


def test_plateau_patience_zero_reduces_at_every_bad_epoch() -> None:
    rates, _ = plateau_rates([3, 2, 2, 2, 1, 1], factor=0.5, patience=0, min_delta=0.0)
    assert rates == [1, 1, 1, 0.5, 0.25, 0.25]


def test_plateau_min_delta_is_absolute() -> None:
    """A fall of at most min_delta below the best is not an improvement."""
    losses = [1.0, 0.96, 0.92, 0.80, 0.79, 0.78]
    rates, schedule = plateau_rates(losses, factor=0.1, patience=2, min_delta=0.05)
    # 0.96 is not below 1.0 − 0.05: no improvement; 0.92 and then 0.80 are. 0.79 and 0.78 are
    # not below 0.80 − 0.05: two bad epochs, and no epoch left to run at the reduced rate.
    assert rates == [1.0] * 6
    assert schedule.best == 0.80
    assert schedule.bad_epochs == 0, "the second bad epoch reduced and restarted the count"
    rates, _ = plateau_rates(losses + [0.77], factor=0.1, patience=2, min_delta=0.05)
    assert rates[-1] == pytest.approx(0.1, rel=1e-15)
    rates, _ = plateau_rates(losses + [0.77], factor=0.1, patience=2, min_delta=0.0)
    assert rates == [1.0] * 7, "with min_delta 0 every fall improves"
    # The same falls from a loss 9 higher: min_delta is absolute, so the same epochs improve.
    higher = [9 + x for x in losses + [0.77]]
    rates, _ = plateau_rates(higher, factor=0.1, patience=2, min_delta=0.05)
    assert rates == [1.0] * 6 + [pytest.approx(0.1, rel=1e-15)]


def test_plateau_cooldown() -> None:
    """cooldown epochs after a reduction are not counted; then patience starts over."""
    rates, schedule = plateau_rates([1.0] * 9, factor=0.5, patience=1, min_delta=0.0, cooldown=2)
    # 0 improves on ∞. 1 bad → reduce; 2, 3 cool down; 4 bad → reduce; 5, 6 cool; 7 → reduce.
    assert rates == [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    assert schedule.cooldown_left == 1
    # An improvement during the cooldown still sets the best.
    rates, schedule = plateau_rates([1.0, 1.0, 0.2, 0.3, 0.3], factor=0.5, patience=1,
                                    min_delta=0.0, cooldown=2)
    assert schedule.best == 0.2
    assert rates == [1, 1, 0.5, 0.5, 0.5]


def test_plateau_min_lr() -> None:
    """Never below min_lr, and a rate already at or below it is not raised to it."""
    rates, _ = plateau_rates([1.0] * 7, factor=0.1, patience=0, min_delta=0.0, min_lr=0.003)
    np.testing.assert_allclose(rates, [1, 1, 0.1, 0.01, 0.003, 0.003, 0.003], rtol=1e-15)
    rates, _ = plateau_rates(
        [1.0] * 4, lr=0.001, factor=0.5, patience=0, min_delta=0.0, min_lr=0.01
    )
    assert rates == [0.001] * 4


def reference_plateau(
    losses: Sequence[float], lr: float, factor: float, patience: int, min_delta: float,
    cooldown: int, min_lr: float,
) -> list[float]:
    """The rule as documented: Keras' ReduceLROnPlateau in "min" mode, with `cooldown` whole
    epochs uncounted after a reduction."""
    best, bad, cooling, rates = math.inf, 0, 0, []
    for loss in losses:
        rates.append(lr)
        improved = loss < best - min_delta
        if improved:
            best, bad = loss, 0
        if cooling > 0:
            cooling -= 1
            continue
        if not improved:
            bad += 1
            if bad >= patience:
                lr = max(lr * factor, min_lr) if lr > min_lr else lr
                bad, cooling = 0, cooldown
    return rates


@pytest.mark.parametrize("seed", range(6))
def test_plateau_over_many_epochs(seed: int) -> None:
    """A noisy, slowly falling loss over 300 epochs, against the rule written out."""
    rng = np.random.default_rng(seed)
    losses = list(np.maximum.accumulate(rng.uniform(0, 1, 300))[::-1] + rng.normal(0, 0.01, 300))
    kwargs: dict[str, Any] = {
        "factor": float(rng.uniform(0.1, 0.9)),
        "patience": int(rng.integers(0, 6)),
        "min_delta": float(rng.choice([0.0, 1e-3, 1e-2])),
        "cooldown": int(rng.integers(0, 4)),
        "min_lr": float(rng.choice([0.0, 1e-3])),
    }
    rates, _ = plateau_rates(losses, lr=0.1, **kwargs)
    expected = reference_plateau(losses, lr=0.1, **kwargs)
    np.testing.assert_allclose(rates, expected, rtol=1e-15)
    assert len(set(rates)) > 1, "the test saw at least one reduction"


def test_plateau_parameters_and_repr() -> None:
    schedule = schedules.ReduceOnPlateau()
    assert (schedule.factor, schedule.patience, schedule.min_delta) == (0.1, 10, 1e-4)
    assert (schedule.cooldown, schedule.min_lr) == (0, 0.0)
    assert schedule.best == math.inf
    assert repr(schedule) == (
        "ReduceOnPlateau(factor=0.1, patience=10, min_delta=0.0001, cooldown=0, min_lr=0.0)"
    )
    other = schedules.ReduceOnPlateau(
        factor=0.5, patience=2, min_delta=0.0, cooldown=1, min_lr=1e-5
    )
    assert repr(other) == (
        "ReduceOnPlateau(factor=0.5, patience=2, min_delta=0.0, cooldown=1, min_lr=1e-05)"
    )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: schedules.InverseScaling(power=-1.0), r"InverseScaling: power .* got power=-1\.0"),
        (
            lambda: schedules.StepDecay(step_size=0),
            r"StepDecay: step_size must be at least 1, got step_size=0",
        ),
        (
            lambda: schedules.StepDecay(step_size=2, gamma=0.0),
            r"gamma must be in \(0, 1\], got gamma=0\.0",
        ),
        (lambda: schedules.StepDecay(step_size=2, gamma=2.0), r"got gamma=2\.0"),
        (lambda: schedules.Cosine(period=0), r"Cosine: period must be at least 1, got period=0"),
        (lambda: schedules.Cosine(period=3, min_lr=-0.1), r"min_lr .* got min_lr=-0\.1"),
        (
            lambda: schedules.ReduceOnPlateau(factor=1.0),
            r"factor must be in \(0, 1\), got factor=1\.0",
        ),
        (lambda: schedules.ReduceOnPlateau(factor=0.0), r"got factor=0\.0"),
        (lambda: schedules.ReduceOnPlateau(min_delta=float("nan")), r"min_delta=nan"),
        (lambda: schedules.ReduceOnPlateau(min_lr=float("inf")), r"min_lr=inf"),
    ],
)
def test_bad_parameters(make: Callable[[], schedules.Schedule], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_negative_counts_are_type_errors() -> None:
    with pytest.raises(TypeError):
        schedules.StepDecay(step_size=-1)
    with pytest.raises(TypeError):
        schedules.ReduceOnPlateau(patience=-1)
