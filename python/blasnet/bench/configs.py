"""The networks the benchmark trains and their optimizers, and the gemm calls one blasnet
training step makes.

blasnet stores a layer's W row-major (n_out × n_in) and a batch column-major (n_in × B), so
each layer of a step is, in BLAS terms (column-major C = op(A)·op(B), C is m × n):

    forward   Z  = W·X       gemm(trans_a=yes, trans_b=no,  m=n_out, n=B,     k=n_in)
    dW        dW = X·dZᵀ     gemm(trans_a=no,  trans_b=yes, m=n_in,  n=n_out, k=B)
    dX        dX = W·dZ      gemm(trans_a=no,  trans_b=no,  m=n_in,  n=B,     k=n_out)

The first layer has no dX: nothing below it needs one. A gemm costs 2·m·n·k floating-point
operations, and a step's FLOPs are the sum over its gemms: the yardstick every implementation's
GFLOP/s is reported against, whatever extra work it does. The optimizer's update is
element-wise work, no gemm: a configuration trained by Adam has the same gemms, and so the same
FLOPs and GEMM floor, as its twin trained by SGD.

Examples
--------
>>> config = CONFIGS["xor"]
>>> config.label
'2-2-1'
>>> [shape.role for shape in gemm_shapes(config)]
['forward', 'forward', 'dW', 'dW', 'dX']
>>> step_flops(config)
112
>>> adam = CONFIGS["mnist-adam"]
>>> adam.optimizer, adam.learning_rate, step_flops(adam) == step_flops(CONFIGS["mnist"])
('adam', 0.001, True)
"""

from __future__ import annotations

from dataclasses import dataclass

# The learning rate of each optimizer. How fast the networks learn does not matter here: for
# SGD (no momentum, no weight decay) a small rate keeps the weights finite over thousands of
# steps on one batch, so no library meets NaN or Inf; Adam (default betas and epsilon, no
# weight decay) takes the default rate of PyTorch, Keras and scikit-learn.
LEARNING_RATES = {"sgd": 0.01, "adam": 1e-3}
OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam"}


@dataclass(frozen=True)
class Config:
    """One benchmark network, its loss and its batch.

    Parameters
    ----------
    name : str
        Short name used on the command line.
    sizes : tuple of int
        Units of every layer from the input up: ``(784, 256, 256, 10)`` is two hidden layers.
    hidden, output : str
        blasnet activation names of the hidden layers and of the output layer.
    loss : str
        blasnet loss name.
    batch : int
        Samples per training step.
    epoch_samples : int
        Samples in the data set one timed epoch goes through.
    optimizer : str
        ``"sgd"``, plain minibatch SGD, or ``"adam"``; each at its rate in
        :data:`LEARNING_RATES`.
    """

    name: str
    sizes: tuple[int, ...]
    hidden: str
    output: str
    loss: str
    batch: int
    epoch_samples: int
    optimizer: str = "sgd"

    @property
    def label(self) -> str:
        """The layer sizes as one reads them, e.g. ``"784-256-256-10"``."""
        return "-".join(str(size) for size in self.sizes)

    @property
    def activations(self) -> tuple[str, ...]:
        """Activation of each layer from the input up (the output layer's last)."""
        return (self.hidden,) * (len(self.sizes) - 2) + (self.output,)

    @property
    def layers(self) -> list[tuple[int, int]]:
        """(n_in, n_out) of each layer from the input up."""
        return list(zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def is_classifier(self) -> bool:
        """Whether the targets are classes (a cross-entropy loss) rather than values."""
        return self.loss != "mse"

    @property
    def learning_rate(self) -> float:
        """The rate of the configuration's optimizer."""
        return LEARNING_RATES[self.optimizer]

    @property
    def description(self) -> str:
        """One line naming everything the configuration fixes; the optimizer when it is not
        plain SGD, the benchmark's default."""
        text = (f"{self.label}, {self.hidden} hidden, {self.output} output, {self.loss}, "
                f"batch {self.batch}, epoch of {self.epoch_samples} samples")
        if self.optimizer != "sgd":
            text += f", {OPTIMIZER_NAMES[self.optimizer]} (lr {self.learning_rate:g})"
        return text


CONFIGS: dict[str, Config] = {
    config.name: config
    for config in (
        Config("xor", (2, 2, 1), "sigmoid", "sigmoid", "binary_cross_entropy", 4, 64),
        Config("digits", (64, 64, 10), "relu", "softmax", "softmax_cross_entropy", 32, 1797),
        Config("mnist", (784, 256, 256, 10), "relu", "softmax", "softmax_cross_entropy", 128,
               1024),
        Config("mnist-adam", (784, 256, 256, 10), "relu", "softmax", "softmax_cross_entropy",
               128, 1024, optimizer="adam"),
        Config("wide", (1024, 2048, 2048, 1024), "relu", "identity", "mse", 256, 768),
    )
}


@dataclass(frozen=True)
class GemmShape:
    """One gemm call of a training step: column-major C (m × n) = op(A)·op(B)."""

    role: str
    layer: int
    trans_a: bool
    trans_b: bool
    m: int
    n: int
    k: int

    @property
    def flops(self) -> int:
        """Multiplications and additions of the call: 2·m·n·k."""
        return 2 * self.m * self.n * self.k


def gemm_shapes(config: Config) -> list[GemmShape]:
    """The gemm calls of one training step of ``config`` in blasnet: forward for every layer,
    then dW for every layer and dX for every layer but the first."""
    B = config.batch
    forward = [GemmShape("forward", k, True, False, n_out, B, n_in)
               for k, (n_in, n_out) in enumerate(config.layers)]
    dW = [GemmShape("dW", k, False, True, n_in, n_out, B)
          for k, (n_in, n_out) in enumerate(config.layers)]
    dX = [GemmShape("dX", k, False, False, n_in, B, n_out)
          for k, (n_in, n_out) in enumerate(config.layers) if k > 0]
    return forward + dW + dX


def step_flops(config: Config) -> int:
    """FLOPs of the gemm calls of one training step of ``config``."""
    return sum(shape.flops for shape in gemm_shapes(config))
