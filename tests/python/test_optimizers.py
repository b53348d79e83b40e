"""SGD, Adam and AdamW: PyTorch's update rules, value by value, against a NumPy transcription
and against torch.optim itself; their state across calls, reset, saving and loading; errors;
step counts the bias correction cannot take; one training at a time when threads share one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import threading

import numpy as np
import pytest

import blasnet as bn

Array = np.ndarray[Any, Any]
STEPS = 8
SIZE = 13


def gradients(dtype: str = "float64", steps: int = STEPS, size: int = SIZE) -> list[Array]:
    """Seeded gradients of both signs, of varied scale, with a zero entry."""
    rng = np.random.default_rng(7)
    out = []
    for _ in range(steps):
        g = rng.normal(0, 1, size) * np.logspace(-2, 1, size)
        g[3] = 0.0
        out.append(g.astype(dtype))
    return out


def start(dtype: str = "float64", size: int = SIZE) -> Array:
    return np.linspace(-1.5, 2.0, size).astype(dtype)


# --- the rules, transcribed from PyTorch's documentation ------------------------------------


def numpy_sgd(
    theta: Array,
    grads: list[Array],
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> Array:
    """torch.optim.SGD with dampening 0."""
    theta = theta.copy()
    buf: Array | None = None
    for grad in grads:
        g = grad + weight_decay * theta if weight_decay != 0 else grad
        if momentum != 0:
            buf = g.copy() if buf is None else momentum * buf + g
            g = g + momentum * buf if nesterov else buf
        theta = theta - lr * g
    return theta


def numpy_adam(
    theta: Array,
    grads: list[Array],
    lr: float,
    beta_1: float,
    beta_2: float,
    epsilon: float,
    weight_decay: float,
    decoupled: bool,
) -> tuple[Array, Array, Array]:
    """torch.optim.Adam (decoupled=False) and torch.optim.AdamW (decoupled=True)."""
    theta = theta.copy()
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t, grad in enumerate(grads, start=1):
        g = grad
        if decoupled:
            theta = theta * (1 - lr * weight_decay)
        elif weight_decay != 0:
            g = grad + weight_decay * theta
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        step_size = lr / (1 - beta_1**t)
        denominator = np.sqrt(v) / np.sqrt(1 - beta_2**t) + epsilon
        theta = theta - step_size * (m / denominator)
    return theta, m, v


def run(optimizer: bn.Optimizer, theta: Array, grads: list[Array]) -> Array:
    """theta after optimizer.step with each gradient in turn."""
    theta = theta.copy()
    for g in grads:
        optimizer.step(theta, g)
    return theta


SGD_CASES = [
    {"lr": 0.1},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01},
    {"lr": 0.02, "momentum": 0.8, "nesterov": True},
    {"lr": 0.02, "momentum": 0.5, "nesterov": True, "weight_decay": 0.2},
]
ADAM_CASES = [
    {},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-6},
    {"lr": 0.2, "beta_1": 0.0, "beta_2": 0.0, "epsilon": 1e-3, "weight_decay": 0.5},
]


def adam_arguments(kwargs: dict[str, Any], decoupled: bool) -> dict[str, Any]:
    defaults = {"lr": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}
    defaults["weight_decay"] = 0.01 if decoupled else 0.0
    return {**defaults, **kwargs}


@pytest.mark.parametrize("kwargs", SGD_CASES)
def test_sgd_matches_numpy(kwargs: dict[str, Any]) -> None:
    """float64: equal to rounding over several steps."""
    theta = run(bn.SGD(**kwargs), start(), gradients())
    np.testing.assert_allclose(theta, numpy_sgd(start(), gradients(), **kwargs), rtol=1e-12)
    assert not np.allclose(theta, start()), "the steps moved the parameters"


@pytest.mark.parametrize("decoupled", [False, True], ids=["Adam", "AdamW"])
@pytest.mark.parametrize("kwargs", ADAM_CASES)
def test_adam_matches_numpy(kwargs: dict[str, Any], decoupled: bool) -> None:
    """float64: θ and both moments equal to rounding over several steps."""
    args = adam_arguments(kwargs, decoupled)
    optimizer = (bn.AdamW if decoupled else bn.Adam)(**kwargs)
    theta = run(optimizer, start(), gradients())
    expected, m, v = numpy_adam(start(), gradients(), decoupled=decoupled, **args)
    np.testing.assert_allclose(theta, expected, rtol=1e-12)
    state = optimizer.state()
    assert state["steps"] == STEPS
    np.testing.assert_allclose(state["m"], m, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(state["v"], v, rtol=1e-12, atol=1e-300)


def test_adamw_decay_is_decoupled() -> None:
    """With no gradient AdamW only shrinks θ by (1 − lr·λ) per step; Adam's L2 term goes
    through the moments and moves θ by about lr per step instead."""
    zero = [np.zeros(1)] * 3
    np.testing.assert_allclose(
        run(bn.AdamW(lr=0.1, weight_decay=0.5), np.array([2.0]), zero), [2.0 * 0.95**3]
    )
    np.testing.assert_allclose(
        run(bn.Adam(lr=0.1, weight_decay=0.5), np.array([2.0]), zero), [1.7], atol=1e-3
    )


@pytest.mark.parametrize(
    "make, reference",
    [
        (lambda: bn.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
         lambda t, g: numpy_sgd(t, g, 0.05, 0.9, True, 0.01)),
        (lambda: bn.Adam(lr=0.01, weight_decay=0.01),
         lambda t, g: numpy_adam(t, g, 0.01, 0.9, 0.999, 1e-8, 0.01, False)[0]),
        (lambda: bn.AdamW(lr=0.01),
         lambda t, g: numpy_adam(t, g, 0.01, 0.9, 0.999, 1e-8, 0.01, True)[0]),
    ],
    ids=["SGD", "Adam", "AdamW"],
)
def test_float32_is_close(
    make: Callable[[], bn.Optimizer], reference: Callable[[Array, list[Array]], Array]
) -> None:
    """float32 parameters keep float32 state and follow the float64 path closely."""
    optimizer = make()
    theta = run(optimizer, start("float32"), gradients("float32"))
    assert theta.dtype == np.float32
    for name in optimizer.state_names:
        assert optimizer.state()[name].dtype == np.float32, name
    expected = reference(start(), [g.astype(np.float64) for g in gradients("float32")])
    np.testing.assert_allclose(theta, expected, rtol=1e-5, atol=1e-6)


# --- against torch.optim itself --------------------------------------------------------------


def torch_run(name: str, kwargs: dict[str, Any], dtype: str) -> Array:
    torch = pytest.importorskip("torch")
    p = torch.tensor(start(dtype), requires_grad=True)
    if name == "SGD":
        optimizer = torch.optim.SGD([p], dampening=0, **kwargs)
    else:
        optimizer = getattr(torch.optim, name)(
            [p],
            lr=kwargs["lr"],
            betas=(kwargs["beta_1"], kwargs["beta_2"]),
            eps=kwargs["epsilon"],
            weight_decay=kwargs["weight_decay"],
        )
    for g in gradients(dtype):
        p.grad = torch.tensor(g)
        optimizer.step()
    return np.asarray(p.detach().numpy())


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 2e-5)])
@pytest.mark.parametrize("kwargs", SGD_CASES)
def test_sgd_matches_torch(kwargs: dict[str, Any], dtype: str, rtol: float) -> None:
    expected = torch_run("SGD", {"momentum": 0.0, "nesterov": False, **kwargs}, dtype)
    theta = run(bn.SGD(**kwargs), start(dtype), gradients(dtype))
    np.testing.assert_allclose(theta, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 2e-5)])
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("kwargs", ADAM_CASES)
def test_adam_matches_torch(kwargs: dict[str, Any], name: str, dtype: str, rtol: float) -> None:
    args = adam_arguments(kwargs, name == "AdamW")
    expected = torch_run(name, args, dtype)
    theta = run(getattr(bn, name)(**kwargs), start(dtype), gradients(dtype))
    np.testing.assert_allclose(theta, expected, rtol=rtol, atol=rtol)


# --- state ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, names",
    [
        (lambda: bn.SGD(lr=0.1), []),
        (lambda: bn.SGD(lr=0.1, weight_decay=0.1), []),
        (lambda: bn.SGD(lr=0.1, momentum=0.9), ["momentum"]),
        (lambda: bn.Adam(), ["m", "v"]),
        (lambda: bn.AdamW(), ["m", "v"]),
    ],
)
def test_state_is_sized_by_the_first_step_and_kept(
    make: Callable[[], bn.Optimizer], names: list[str]
) -> None:
    """The step count and the buffers carry over from one call to the next; state() copies."""
    optimizer = make()
    assert optimizer.state_names == names
    assert optimizer.state() == {"steps": 0}
    theta = start()
    grads = gradients()
    optimizer.step(theta, grads[0])
    optimizer.step(theta, grads[1])
    state = optimizer.state()
    assert optimizer.steps == state["steps"] == 2
    assert sorted(state) == sorted(["steps", *names])
    for name in names:
        assert state[name].shape == (SIZE,)
        assert state[name].dtype == np.float64
        assert np.any(state[name] != 0), name
        state[name][:] = 12345.0  # a copy: the optimizer is unaffected
        assert not np.any(optimizer.state()[name] == 12345.0)


def test_steps_continue_the_bias_correction() -> None:
    """Splitting the steps over two runs is the same as one run: t is not restarted."""
    grads = gradients()
    adam = bn.Adam(lr=0.05)
    theta = run(adam, start(), grads[:3])
    theta = run(adam, theta, grads[3:])
    np.testing.assert_array_equal(theta, run(bn.Adam(lr=0.05), start(), grads))


def test_state_survives_between_fit_calls() -> None:
    """Two calls of fit with one Adam train exactly as one call of twice the epochs; a fresh
    Adam for the second call (a restarted t and zero moments) does not."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    T = X @ np.array([[1.0], [-2.0], [0.5]])

    def net() -> bn.Sequential:
        return bn.Sequential([bn.Dense(4, activation="tanh"), bn.Dense(1)], input_dim=3, seed=1)

    def fit(model: bn.Sequential, optimizer: bn.Optimizer, epochs: int) -> None:
        model.fit(
            X, T, loss="mse", optimizer=optimizer, epochs=epochs, batch_size=10, shuffle=False
        )

    once, twice, restarted = net(), net(), net()
    fit(once, bn.Adam(lr=0.01), 4)
    adam = bn.Adam(lr=0.01)
    fit(twice, adam, 2)
    assert adam.steps == 8
    fit(twice, adam, 2)
    assert adam.steps == 16
    n_params = sum(p.size for p in twice.parameters().values())
    assert adam.state()["m"].shape == (n_params,)
    fit(restarted, bn.Adam(lr=0.01), 2)
    fit(restarted, bn.Adam(lr=0.01), 2)
    for name, value in once.parameters().items():
        np.testing.assert_array_equal(twice.parameters()[name], value, err_msg=name)
    assert not all(
        np.array_equal(restarted.parameters()[n], v) for n, v in once.parameters().items()
    )


def test_another_buffer_size_or_dtype_is_refused() -> None:
    """State sized for 13 float64 values refuses 12 values or float32, naming both, and
    leaves the parameters alone; reset() frees it for any buffer."""
    adam = bn.Adam(lr=0.1)
    adam.step(start(), gradients()[0])
    other = start(size=12)
    with pytest.raises(ValueError, match=r"13 float64 parameters, not to these 12 float64.*reset"):
        adam.step(other, np.ones(12))
    np.testing.assert_array_equal(other, start(size=12))
    narrow = start("float32")
    with pytest.raises(ValueError, match=r"13 float64 parameters, not to these 13 float32"):
        adam.step(narrow, np.ones(SIZE, dtype=np.float32))
    assert adam.steps == 1
    adam.reset()
    assert adam.steps == 0
    assert adam.state() == {"steps": 0}
    adam.step(narrow, np.ones(SIZE, dtype=np.float32))
    assert adam.state()["m"].dtype == np.float32


def test_a_network_of_another_dtype_is_refused() -> None:
    """The same check through fit: one optimizer for two networks of different dtypes."""
    X = np.zeros((4, 2))
    T = np.zeros((4, 1))
    sgd = bn.SGD(lr=0.1, momentum=0.9)
    bn.Sequential([bn.Dense(1)], input_dim=2).fit(X, T, loss="mse", optimizer=sgd, epochs=1)
    net32 = bn.Sequential([bn.Dense(1)], input_dim=2, dtype="float32")
    with pytest.raises(ValueError, match="float64 parameters, not to these 3 float32"):
        net32.fit(X, T, loss="mse", optimizer=sgd, epochs=1)


def test_reset_starts_afresh() -> None:
    grads = gradients()
    adam = bn.Adam(lr=0.05)
    run(adam, start(), grads)
    adam.reset()
    np.testing.assert_array_equal(
        run(adam, start(), grads[:2]), run(bn.Adam(lr=0.05), start(), grads[:2])
    )
    assert adam.steps == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda: bn.SGD(lr=0.1, momentum=0.9, nesterov=True),
        lambda: bn.Adam(lr=0.05, weight_decay=0.01),
        lambda: bn.AdamW(lr=0.05),
    ],
    ids=["SGD", "Adam", "AdamW"],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_load_state_round_trip(make: Callable[[], bn.Optimizer], dtype: str) -> None:
    """A fresh optimizer loaded with another's state() continues exactly as the other."""
    grads = gradients(dtype)
    original = make()
    theta = run(original, start(dtype), grads[:4])
    restored = make()
    restored.load_state(original.state())
    assert restored.steps == 4
    for name in original.state_names:
        np.testing.assert_array_equal(restored.state()[name], original.state()[name])
    np.testing.assert_array_equal(run(restored, theta, grads[4:]), run(original, theta, grads[4:]))


def stepped_adam() -> bn.Adam:
    adam = bn.Adam(lr=0.1)
    adam.step(start(), gradients()[0])
    return adam


@pytest.mark.parametrize(
    "state, error, match",
    [
        ({"m": np.zeros(SIZE), "v": np.zeros(SIZE)}, ValueError, "no 'steps'"),
        ({"steps": -1}, ValueError, "'steps' must be non-negative"),
        ({"steps": 1.5}, TypeError, "'steps' must be an int"),
        ({"steps": True}, TypeError, "'steps' must be an int"),
        ({"steps": 3, "m": np.zeros(SIZE)}, ValueError, "missing buffer 'v'"),
        (
            {"steps": 3, "m": np.zeros(SIZE), "v": np.zeros(SIZE), "momentum": np.zeros(SIZE)},
            ValueError,
            "unknown buffer 'momentum'; its buffers are m, v",
        ),
        (
            {"steps": 3, "m": np.zeros(SIZE), "v": np.zeros(5)},
            ValueError,
            "of 13 values but 'v' of 5",
        ),
        (
            {"steps": 3, "m": np.zeros(SIZE), "v": np.zeros(SIZE, dtype=np.float32)},
            ValueError,
            "'v' is float32 but 'm' is float64",
        ),
        (
            {"steps": 3, "m": np.zeros(SIZE, dtype=np.int64), "v": np.zeros(SIZE)},
            ValueError,
            "float32 or float64, got int64",
        ),
        (
            {"steps": 3, "m": np.zeros((SIZE, 1)), "v": np.zeros(SIZE)},
            ValueError,
            "'m' must be 1-D",
        ),
        (
            {"steps": 3, "m": [0.0] * SIZE, "v": np.zeros(SIZE)},
            TypeError,
            "'m' must be a NumPy array",
        ),
        ({"steps": 3}, ValueError, "3 steps but none of the buffers m, v"),
    ],
)
def test_load_state_rejects_bad_states(state: dict[str, Any], error: type, match: str) -> None:
    """Each bad state is refused with its reason, and the optimizer keeps its own."""
    adam = stepped_adam()
    before = adam.state()
    with pytest.raises(error, match=match):
        adam.load_state(state)
    after = adam.state()
    assert after["steps"] == before["steps"] == 1
    for name in ("m", "v"):
        np.testing.assert_array_equal(after[name], before[name])


def test_loaded_state_fixes_the_buffer() -> None:
    """A state loaded from float32 buffers of 5 values refuses a float64 step and one of
    another length; an empty state at 0 steps is a fresh start."""
    adam = bn.Adam()
    adam.load_state({"steps": 2, "m": np.zeros(5, np.float32), "v": np.zeros(5, np.float32)})
    with pytest.raises(ValueError, match="5 float32 parameters, not to these 5 float64"):
        adam.step(np.zeros(5), np.ones(5))
    adam.step(np.zeros(5, np.float32), np.ones(5, np.float32))
    assert adam.steps == 3
    adam.load_state({"steps": 0})
    assert adam.state() == {"steps": 0}
    sgd = bn.SGD(lr=0.1)
    sgd.load_state({"steps": 7})  # stateless: only the count
    assert sgd.steps == 7


def test_step_arguments() -> None:
    """step updates a writable 1-D float array in place; other arguments are refused."""
    sgd = bn.SGD(lr=0.5)
    theta = np.array([1.0, 2.0])
    sgd.step(theta, [1.0, 1.0])  # gradients as any array-like
    np.testing.assert_array_equal(theta, [0.5, 1.5])
    with pytest.raises(TypeError, match="float32 or float64"):
        sgd.step(np.array([1, 2]), np.ones(2))
    with pytest.raises(ValueError, match="writable, C-contiguous 1-D"):
        sgd.step(np.ones((2, 2)), np.ones(4))
    read_only = np.ones(2)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        sgd.step(read_only, np.ones(2))
    with pytest.raises(ValueError, match="2 parameters but 3 gradients"):
        sgd.step(theta, np.ones(3))


# --- hyperparameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: bn.SGD(lr=0.0), r"SGD: learning rate must be positive and finite, got lr=0\.0"),
        (
            lambda: bn.SGD(lr=0.1, momentum=-0.5),
            r"momentum must be in \[0, 1\), got momentum=-0\.5",
        ),
        (lambda: bn.SGD(lr=0.1, momentum=1.0), r"got momentum=1\.0"),
        (lambda: bn.SGD(lr=0.1, nesterov=True), r"nesterov=True needs momentum > 0"),
        (lambda: bn.SGD(lr=0.1, weight_decay=-1e-3), r"weight_decay=-0\.001"),
        (lambda: bn.SGD(lr=0.1, weight_decay=float("nan")), r"weight_decay=nan"),
        (lambda: bn.Adam(lr=float("inf")), r"Adam: learning rate .* got lr=inf"),
        (lambda: bn.Adam(beta_1=1.0), r"Adam: beta_1 must be in \[0, 1\), got beta_1=1\.0"),
        (lambda: bn.Adam(beta_2=-0.1), r"beta_2=-0\.1"),
        (lambda: bn.Adam(epsilon=0.0), r"epsilon must be positive and finite, got epsilon=0\.0"),
        (lambda: bn.AdamW(weight_decay=-0.01), r"AdamW: weight_decay .* got weight_decay=-0\.01"),
        (lambda: bn.AdamW(beta_1=float("nan")), r"AdamW: beta_1 .* got beta_1=nan"),
    ],
)
def test_bad_hyperparameters(make: Callable[[], bn.Optimizer], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make", [bn.Adam, bn.AdamW, lambda: bn.SGD(lr=0.1, momentum=0.5)])
def test_lr_is_on_the_base_class(make: Callable[[], bn.Optimizer]) -> None:
    """lr reads and writes on every optimizer, checked; steps is read-only."""
    assert isinstance(vars(bn.Optimizer)["lr"], property)
    optimizer = make()
    optimizer.lr = 0.25
    assert optimizer.lr == 0.25
    assert "lr=0.25" in repr(optimizer)
    with pytest.raises(ValueError, match="learning rate must be positive"):
        optimizer.lr = -1.0
    assert optimizer.lr == 0.25
    with pytest.raises(AttributeError):
        optimizer.steps = 3  # type: ignore[misc]


def test_repr_and_properties() -> None:
    sgd = bn.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    assert repr(sgd) == "SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0001)"
    assert (sgd.lr, sgd.momentum, sgd.nesterov, sgd.weight_decay) == (0.1, 0.9, True, 1e-4)
    adam = bn.Adam()
    assert repr(adam) == "Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-08, weight_decay=0.0)"
    assert (adam.lr, adam.beta_1, adam.beta_2, adam.epsilon, adam.weight_decay) == (
        1e-3, 0.9, 0.999, 1e-8, 0.0
    )
    adamw = bn.AdamW(lr=3e-4, beta_2=0.98)
    assert repr(adamw) == (
        "AdamW(lr=0.0003, beta_1=0.9, beta_2=0.98, epsilon=1e-08, weight_decay=0.01)"
    )
    assert adamw.weight_decay == 0.01
    for optimizer in (sgd, adam, adamw):
        assert isinstance(optimizer, bn.Optimizer)
        rebuilt = eval(repr(optimizer), {**vars(bn)})  # the repr constructs the same optimizer
        assert repr(rebuilt) == repr(optimizer)


# --- the step count -------------------------------------------------------------------------

MAX_STEPS = 2**53


def test_step_counts_beyond_the_limit_are_refused() -> None:
    """2⁶⁴ − 1 steps wrapped to t = 0 at the next step, where the bias correction 1 − β⁰
    divided by zero and wrote NaN into every weight: counts above 2⁵³ are refused, changing
    nothing; at 2⁵³ the next step raises OverflowError and leaves the weights alone."""
    adam = bn.Adam(lr=0.1)
    theta = np.ones(3)
    adam.step(theta, np.full(3, 0.5))
    state = adam.state()
    for steps, match in ((2**64 - 1, "more than the 9007199254740992"),
                         (MAX_STEPS + 1, "more than the 9007199254740992"),
                         (2**64, "must fit in 64 bits"), (-1, "non-negative")):
        with pytest.raises(ValueError, match=match):
            adam.load_state({**state, "steps": steps})
        assert adam.steps == 1
    adam.load_state({**state, "steps": MAX_STEPS - 1})
    adam.step(theta, np.full(3, 0.5))
    assert adam.steps == MAX_STEPS and np.isfinite(theta).all()
    before = theta.copy()
    with pytest.raises(OverflowError, match="9007199254740992 steps taken"):
        adam.step(theta, np.full(3, 0.5))
    assert (theta == before).all() and adam.steps == MAX_STEPS


# --- one training at a time -----------------------------------------------------------------


def _shared_setup() -> tuple[Array, Array, Callable[[], bn.Sequential]]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 40))

    def make() -> bn.Sequential:
        net = bn.Sequential([bn.Dense(64, activation="tanh"), bn.Dense(40)], input_dim=40, seed=0)
        net.fit(X[:32], X[:32], "mse", bn.Adam(lr=1e-4), seed=1)
        return net

    return X, X.copy(), make


def _params(net: bn.Sequential) -> dict[str, Array]:
    return {k: v.copy() for k, v in net.parameters().items()}


def _same(a: dict[str, Array], b: dict[str, Array]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _in_thread(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("call", ["load_state", "reset", "state", "lr"])
def test_calls_from_another_thread_wait_for_the_running_fit(call: str) -> None:
    """The issue's reproducer: while another thread's fit uses the optimizer, load_state in a
    loop freed its moments under the update loop (SIGSEGV) and reset made the weights NaN.
    Every call now waits for the fit, so the fit runs as if alone, from the state it started
    with (or, for reset, perhaps from a reset one), and reads see it before or after, never
    halfway. The loop's calls, taking the GIL back while the fit's epoch callback wants it,
    do not deadlock (the join is bounded)."""
    X, T, make = _shared_setup()
    net, opt = make(), bn.Adam(lr=1e-4)
    net.fit(X[:32], T[:32], "mse", opt, seed=1)
    st = opt.state()
    errors: list[BaseException] = []

    def train() -> None:
        try:
            net.fit(X, T, "mse", opt, epochs=4, batch_size=16, seed=2)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    seen: set[int] = set()
    thread = _in_thread(train)
    while thread.is_alive():
        if call == "load_state":
            opt.load_state(st)
        elif call == "reset":
            opt.reset()
        elif call == "state":
            seen.add(opt.state()["steps"])
        else:
            opt.lr = opt.lr
    thread.join(timeout=120)
    assert not thread.is_alive() and not errors, errors
    trained = _params(net)
    assert all(np.isfinite(v).all() for v in trained.values())

    def reference(state: dict[str, Any]) -> dict[str, Array]:
        ref, ref_opt = make(), bn.Adam(lr=1e-4)
        ref.fit(X[:32], T[:32], "mse", bn.Adam(lr=1e-4), seed=1)  # as net's first fit
        ref_opt.load_state(state)
        ref.fit(X, T, "mse", ref_opt, epochs=4, batch_size=16, seed=2)
        return _params(ref)

    from_start = _same(trained, reference(st))
    assert from_start or (call == "reset" and _same(trained, reference({"steps": 0})))
    if call == "state":
        steps = 4 * -(-600 // 16)  # 38 batches an epoch
        assert seen <= {st["steps"], st["steps"] + steps}, seen


def test_an_epoch_callback_may_use_the_optimizer_of_its_fit() -> None:
    """The hold is the fit's thread's: its callback reads the state and sets the rate."""
    X, T, make = _shared_setup()
    net, opt = make(), bn.Adam(lr=1e-3)
    rates: list[float] = []

    def callback(record: bn.EpochRecord) -> None:
        rates.append(opt.lr)
        opt.lr = opt.lr / 2
        assert opt.state()["steps"] == (record.epoch + 1) * 600 // 100

    thread = _in_thread(lambda: net.fit(X, T, "mse", opt, epochs=3, batch_size=100,
                                        callbacks=[callback]))
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert rates == [1e-3, 5e-4, 2.5e-4]


def test_two_fits_sharing_one_optimizer_take_turns() -> None:
    """Two networks' fits with one optimizer at once: one runs, then the other, each whole."""
    X, T, make = _shared_setup()
    a, b, opt = make(), make(), bn.Adam(lr=1e-4)
    b.fit(X[:64], T[:64], "mse", bn.SGD(lr=0.01), seed=3)  # b starts elsewhere than a
    threads = [_in_thread(lambda: a.fit(X, T, "mse", opt, epochs=3, batch_size=16, seed=2)),
               _in_thread(lambda: b.fit(X, T, "mse", opt, epochs=3, batch_size=16, seed=2))]
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    def in_order(a_first: bool) -> tuple[dict[str, Array], dict[str, Array]]:
        ra, rb, shared = make(), make(), bn.Adam(lr=1e-4)
        rb.fit(X[:64], T[:64], "mse", bn.SGD(lr=0.01), seed=3)
        for net in ((ra, rb) if a_first else (rb, ra)):
            net.fit(X, T, "mse", shared, epochs=3, batch_size=16, seed=2)
        return _params(ra), _params(rb)

    got = (_params(a), _params(b))
    orders = (in_order(True), in_order(False))
    assert any(_same(got[0], pa) and _same(got[1], pb) for pa, pb in orders)
