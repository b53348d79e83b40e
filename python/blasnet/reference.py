"""A plain NumPy reference for the note "Back Propagation in 4 Lines", in its matrix form.

Samples are the COLUMNS of every matrix, as in the note's appendix: an input batch X is
n_x × n_data (the transpose of a blasnet array), a layer's W is n_y × n_x and its b has n_y
entries. Parameters are a dict keyed like blasnet's ``parameters()``: ``"<k>.W"`` and
``"<k>.b"`` for layer k = 0, 1, ... from the input up; ``activations[k]`` names layer k's unit.

Per layer, with n = n_data:

    forward   Z  = W·X + b·1ᵀ             eq. (1), (3)
              Y  = f(Z)                   eq. (2), (4)
    backward  dZ = dY ⊙ f'(Z)             eqs. (6)-(7); softmax by its Jacobian-vector product
              dX = Wᵀ·dZ                  eqs. (6)-(7), the next layer down's dY
              dW = dZ·Xᵀ / n              eq. (9)
              db = dZ·1 / n               eq. (8)

dY and dZ are per sample (the derivative of each sample's own cost); the batch mean's 1/n
enters once, in dW and db, so that they are the gradients of J = (1/n)·Σ_samples cost.
The update is the note's Θ ← Θ − α·∇_Θ J (:func:`sgd_step`), or Adam's (:func:`adam_step`).

This module shares no code with blasnet's core: it is the standard the tests hold the core to,
and the NumPy baseline of the benchmarks.

Examples
--------
>>> import numpy as np
>>> params = {"0.W": np.array([[2.0]]), "0.b": np.array([0.0])}
>>> X = np.array([[1.0, 3.0]])          # one feature, two samples (columns)
>>> T = np.array([[1.0, 1.0]])
>>> J, grads = backward(params, ["identity"], X, T, "mse")
>>> J, grads["0.W"].tolist()            # ½((2-1)² + (6-1)²)/2, ((2-1)·1 + (6-1)·3)/2
(6.5, [[8.0]])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]
Params = dict[str, Array]

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax")
LOSSES = ("mse", "binary_cross_entropy", "softmax_cross_entropy")


def activation(name: str, Z: Array) -> Array:
    """Y = f(Z), eq. (2), column by column for softmax and entry by entry otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.reference import activation
    >>> activation("relu", np.array([[-1.0, 0.0, 2.0]]))
    array([[0., 0., 2.]])
    >>> activation("softmax", np.array([[0.0], [np.log(3.0)]])).round(6)  # e⁰ : e^{log 3} = 1 : 3
    array([[0.25],
           [0.75]])
    """
    if name == "identity":
        return Z.copy()
    if name == "sigmoid":
        # 1/(1 + e^{−z}) = exp(−log(1 + e^{−z})): no overflow for any z.
        return np.exp(-np.logaddexp(0.0, -Z))
    if name == "tanh":
        return np.tanh(Z)
    if name == "relu":
        return np.maximum(Z, 0.0)
    if name == "softmax":
        E = np.exp(Z - Z.max(axis=0, keepdims=True))
        Y: Array = E / E.sum(axis=0, keepdims=True)
        return Y
    raise ValueError(f"unknown activation {name!r}")


def activation_backward(name: str, Z: Array, Y: Array, dY: Array) -> Array:
    """dZ = dY ⊙ f'(Z), the appendix's first backward line.

    softmax is not pointwise: ∂y_i/∂z_k = y_i(δ_ik − y_k), so each column's
    dz_k = Σ_i dy_i·y_i(δ_ik − y_k) = y_k·(dy_k − Σ_i y_i·dy_i).

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.reference import activation, activation_backward
    >>> Z = np.array([[0.0, 1.0]])
    >>> dZ = activation_backward("tanh", Z, activation("tanh", Z), np.ones((1, 2)))
    >>> dZ.round(4)  # 1 − tanh²(z)
    array([[1.  , 0.42]])
    >>> Z = np.array([[-1.0, 2.0]])
    >>> activation_backward("relu", Z, activation("relu", Z), np.array([[5.0, 5.0]]))
    array([[0., 5.]])
    """
    if name == "identity":
        return dY.copy()
    if name == "sigmoid":
        return dY * Y * (1.0 - Y)
    if name == "tanh":
        return dY * (1.0 - Y * Y)
    if name == "relu":
        return dY * (Z > 0)
    if name == "softmax":
        dZ: Array = Y * (dY - (Y * dY).sum(axis=0, keepdims=True))
        return dZ
    raise ValueError(f"unknown activation {name!r}")


def one_hot(labels: Array, n_classes: int) -> Array:
    """Integer class labels (n_data,) as the columns of a one-hot T (n_classes × n_data).

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.reference import one_hot
    >>> one_hot(np.array([2, 0]), 3)
    array([[0., 1.],
           [0., 0.],
           [1., 0.]])
    """
    T = np.zeros((n_classes, labels.shape[0]))
    T[labels, np.arange(labels.shape[0])] = 1.0
    return T


def loss_value(loss: str, Y: Array, T: Array) -> float:
    """J, the mean over the columns (samples) of each sample's cost, eq. (5).

    mse: ½‖y − t‖²;  binary_cross_entropy: −Σ_i [t_i log y_i + (1 − t_i) log(1 − y_i)];
    softmax_cross_entropy: −Σ_i t_i log y_i.

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.reference import loss_value
    >>> loss_value("mse", np.array([[1.0, 3.0]]), np.array([[0.0, 1.0]]))  # (½·1² + ½·2²) / 2
    1.25
    >>> loss_value("softmax_cross_entropy", np.array([[0.5], [0.5]]), np.array([[1.0], [0.0]]))
    0.6931471805599453
    """
    n = Y.shape[1]
    if loss == "mse":
        return float(0.5 * np.sum((Y - T) ** 2) / n)
    if loss == "binary_cross_entropy":
        return float(-np.sum(T * np.log(Y) + (1.0 - T) * np.log(1.0 - Y)) / n)
    if loss == "softmax_cross_entropy":
        return float(-np.sum(T * np.log(Y)) / n)
    raise ValueError(f"unknown loss {loss!r}")


def loss_gradient(loss: str, Y: Array, T: Array) -> Array:
    """dY: each sample's ∂cost/∂y, column by column (not divided by n; see the module doc).

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.reference import loss_gradient
    >>> loss_gradient("mse", np.array([[1.0, 3.0]]), np.array([[0.0, 1.0]]))  # y − t
    array([[1., 2.]])
    """
    if loss == "mse":
        return Y - T
    if loss == "binary_cross_entropy":
        return (Y - T) / (Y * (1.0 - Y))
    if loss == "softmax_cross_entropy":
        return -T / Y
    raise ValueError(f"unknown loss {loss!r}")


def forward_layers(
    params: Params, activations: Sequence[str], X: Array
) -> list[tuple[Array, Array, Array]]:
    """(input, Z, Y) of every layer from the input up, eqs. (1)-(2) layer after layer.

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.reference import forward_layers
    >>> params = {"0.W": np.array([[1.0, -1.0]]), "0.b": np.array([0.5]),
    ...           "1.W": np.array([[2.0]]), "1.b": np.array([0.0])}
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])  # two samples, the columns
    >>> (X0, Z0, Y0), (X1, Z1, Y1) = forward_layers(params, ["relu", "identity"], X)
    >>> Z0.tolist(), Y0.tolist(), Y1.tolist()  # Z0 = W·X + b, Y0 = relu(Z0), Y1 = 2·Y0
    ([[1.5, -0.5]], [[1.5, 0.0]], [[3.0, 0.0]])
    """
    cache = []
    for k, name in enumerate(activations):
        W, b = params[f"{k}.W"], params[f"{k}.b"]
        Z = W @ X + b[:, None]  # eq. (1): Z = W·X + b·1ᵀ   (n_y × n_x)(n_x × n) -> n_y × n
        Y = activation(name, Z)  # eq. (2)
        cache.append((X, Z, Y))
        X = Y
    return cache


def forward(params: Params, activations: Sequence[str], X: Array) -> Array:
    """The network's output Y (n_out × n_data) for inputs X (n_in × n_data).

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.reference import forward
    >>> params = {"0.W": np.array([[1.0, -1.0]]), "0.b": np.array([0.5]),
    ...           "1.W": np.array([[2.0]]), "1.b": np.array([0.0])}
    >>> forward(params, ["relu", "identity"], np.array([[1.0, 0.0], [0.0, 1.0]]))
    array([[3., 0.]])
    """
    return forward_layers(params, activations, X)[-1][2]


def backward(
    params: Params, activations: Sequence[str], X: Array, T: Array, loss: str
) -> tuple[float, Params]:
    """J of the batch and its gradients, keyed like ``params``.

    T is n_out × n_data, or integer class labels of shape (n_data,) (read as one-hot).

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.reference import backward
    >>> params = {"0.W": np.array([[2.0]]), "0.b": np.array([0.0])}
    >>> X, T = np.array([[1.0, 3.0]]), np.array([[1.0, 1.0]])  # two samples, the columns
    >>> J, grads = backward(params, ["identity"], X, T, "mse")
    >>> J, grads["0.W"].tolist(), grads["0.b"].tolist()  # dZ = (1, 5): dW = (1·1 + 5·3)/2
    (6.5, [[8.0]], [3.0])
    """
    cache = forward_layers(params, activations, X)
    Y = cache[-1][2]
    if T.ndim == 1:
        T = one_hot(T, Y.shape[0])
    J = loss_value(loss, Y, T)
    n = X.shape[1]
    dY = loss_gradient(loss, Y, T)  # "initialization": known from the cost
    grads: Params = {}
    for k in reversed(range(len(activations))):
        X_k, Z, Y = cache[k]
        W = params[f"{k}.W"]
        dZ = activation_backward(activations[k], Z, Y, dY)  # dZ = dY ⊙ f'(Z)
        grads[f"{k}.W"] = dZ @ X_k.T / n  # eq. (9): dW = dZ·Xᵀ / n
        grads[f"{k}.b"] = dZ.sum(axis=1) / n  # eq. (8): db = dZ·1 / n
        dY = W.T @ dZ  # eqs. (6)-(7): dX = Wᵀ·dZ, the lower layer's dY ("recursion")
    return J, {key: grads[key] for key in params}


def sgd_step(params: Params, grads: Params, lr: float) -> Params:
    """New parameters Θ − α·∇_Θ J; ``params`` is left unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.reference import sgd_step
    >>> params = {"0.W": np.array([[2.0]]), "0.b": np.array([0.0])}
    >>> grads = {"0.W": np.array([[8.0]]), "0.b": np.array([3.0])}
    >>> new = sgd_step(params, grads, lr=0.5)
    >>> new["0.W"].tolist(), new["0.b"].tolist(), params["0.W"].tolist()
    ([[-2.0]], [-1.5], [[2.0]])
    """
    return {key: value - lr * grads[key] for key, value in params.items()}


@dataclass(frozen=True)
class AdamState:
    """What Adam carries from one step to the next, keyed like the parameters.

    Attributes
    ----------
    m, v : dict of str to ndarray
        The running means of the gradients and of their squares (the first and second
        moments), each of its parameter's shape and dtype.
    t : int
        Steps taken so far.

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.reference import AdamState
    >>> state = AdamState(m={"0.b": np.zeros(2)}, v={"0.b": np.zeros(2)})
    >>> state.t, state.m["0.b"].tolist()
    (0, [0.0, 0.0])
    """

    m: Params
    v: Params
    t: int = 0


def adam_init(params: Params) -> AdamState:
    """Adam's state before its first step: zero moments of each parameter's shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from blasnet.reference import adam_init
    >>> state = adam_init({"0.W": np.ones((2, 3), dtype=np.float32), "0.b": np.ones(2)})
    >>> state.t, state.m["0.W"].shape, state.v["0.W"].dtype, state.m["0.b"].tolist()
    (0, (2, 3), dtype('float32'), [0.0, 0.0])
    """
    return AdamState({key: np.zeros_like(value) for key, value in params.items()},
                     {key: np.zeros_like(value) for key, value in params.items()})


def adam_step(
    params: Params,
    grads: Params,
    state: AdamState,
    lr: float = 1e-3,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[Params, AdamState]:
    """One step of Adam, PyTorch's rule (``torch.optim.Adam``), over every parameter.

    With t the number of this step (1 for the first) and g = ∇_Θ J + λ·Θ:

        m ← β₁·m + (1 − β₁)·g
        v ← β₂·v + (1 − β₂)·g²
        Θ ← Θ − α/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)

    Parameters
    ----------
    params, grads : dict of str to ndarray
        The parameters and the gradients of J, keyed alike; left unchanged.
    state : AdamState
        The moments and step count after the previous step; :func:`adam_init` before the
        first. Left unchanged.
    lr, beta_1, beta_2, epsilon : float
        α, β₁, β₂ and ε, PyTorch's defaults.
    weight_decay : float
        λ, an L2 penalty added to the gradient (``torch.optim.Adam``'s, not AdamW's decoupled
        decay).

    Returns
    -------
    params : dict of str to ndarray
        The new parameters, of the old ones' dtypes.
    state : AdamState
        The moments and step count to pass to the next step.

    Examples
    --------
    The first step moves each parameter by about α against the sign of its gradient, whatever
    the gradient's size:

    >>> import numpy as np
    >>> params = {"0.W": np.array([[1.0, 2.0]]), "0.b": np.array([0.5])}
    >>> grads = {"0.W": np.array([[10.0, -0.01]]), "0.b": np.array([0.0])}
    >>> state = adam_init(params)
    >>> params, state = adam_step(params, grads, state, lr=0.1)
    >>> params["0.W"].round(6).tolist(), params["0.b"].tolist(), state.t
    ([[0.9, 2.1]], [0.5], 1)
    >>> params, state = adam_step(params, grads, state, lr=0.1)
    >>> params["0.W"].round(6).tolist(), state.m["0.W"].round(6).tolist()
    ([[0.8, 2.2]], [[1.9, -0.0019]])
    """
    t = state.t + 1
    step_size = lr / (1 - beta_1**t)
    root_correction_2 = math.sqrt(1 - beta_2**t)
    new_params: Params = {}
    m: Params = {}
    v: Params = {}
    for key, theta in params.items():
        g = grads[key] + weight_decay * theta if weight_decay != 0 else grads[key]
        m[key] = beta_1 * state.m[key] + (1 - beta_1) * g
        v[key] = beta_2 * state.v[key] + (1 - beta_2) * g * g
        denominator = np.sqrt(v[key]) / root_correction_2 + epsilon
        new_params[key] = theta - step_size * (m[key] / denominator)
    return new_params, AdamState(m, v, t)


def fit(
    params: Params,
    activations: Sequence[str],
    X: Array,
    T: Array,
    loss: str,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str = "sgd",
    seed: int | None = 0,
) -> tuple[Params, list[float]]:
    """Minibatch gradient descent over the columns of X: the note's Θ ← Θ − α·∇J per batch
    (``optimizer="sgd"``), or Adam's step with PyTorch's defaults (``"adam"``).

    Each epoch visits the samples in a fresh order drawn from ``numpy.random.default_rng(seed)``,
    or in order when ``seed`` is None. Returns the final parameters and each epoch's mean J
    over its samples, Σ n_batch·J_batch / n; ``params`` is left unchanged.

    Examples
    --------
    One sigmoid unit learns OR in columns X (2 × 4):

    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
    >>> T = np.array([[0.0, 1.0, 1.0, 1.0]])
    >>> start = {"0.W": np.zeros((1, 2)), "0.b": np.zeros(1)}
    >>> params, losses = fit(start, ["sigmoid"], X, T, "binary_cross_entropy", epochs=500,
    ...                      batch_size=4, lr=1.0)
    >>> (forward(params, ["sigmoid"], X) > 0.5).astype(int).tolist(), losses[-1] < losses[0]
    ([[0, 1, 1, 1]], True)
    """
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    n = X.shape[1]
    rng = None if seed is None else np.random.default_rng(seed)
    state = adam_init(params)
    losses = []
    for _ in range(epochs):
        order = np.arange(n) if rng is None else rng.permutation(n)
        total = 0.0
        for first in range(0, n, batch_size):
            batch = order[first:first + batch_size]
            J, grads = backward(params, activations, X[:, batch], T[..., batch], loss)
            if optimizer == "sgd":
                params = sgd_step(params, grads, lr)
            else:
                params, state = adam_step(params, grads, state, lr=lr)
            total += J * len(batch)
        losses.append(total / n)
    return params, losses
