"""An Elman network learns binary addition: it reads two numbers bit by bit, least significant
first, and writes each bit of their sum as it goes. The carry is memory: no single step's
input determines its output.

The note: a recurrent net "is actually equivalent to a feed-forward neural network after
being unrolled along time". bn.RNN unrolls onto a graph whose steps share the cell's weights,
so training is backpropagation through time, and the cell's gradient is the sum over steps.

    python examples/rnn_binary_addition.py
"""

from __future__ import annotations

import numpy as np

import blasnet as bn

BITS = 8


def bits_of(values: np.ndarray) -> np.ndarray:
    """(n,) integers -> (n, BITS) bits, least significant first."""
    return (values[:, None] >> np.arange(BITS)) & 1


def additions(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X (n, BITS, 2): the bits of a and b; T (n, BITS, 1): the bits of a + b < 2**BITS."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2 ** (BITS - 1), n)
    b = rng.integers(0, 2 ** (BITS - 1), n)
    X = np.stack([bits_of(a), bits_of(b)], axis=2).astype(np.float64)
    T = bits_of(a + b)[:, :, None].astype(np.float64)
    return X, T


def main() -> None:
    X, T = additions(2000, seed=0)
    X_test, T_test = additions(500, seed=1)

    rnn = bn.RNN(
        n_features=2,
        hidden=16,
        n_outputs=1,
        output_activation="sigmoid",
        loss="binary_cross_entropy",
        head="every",
        seed=0,
    )
    history = rnn.fit(X, T, bn.SGD(lr=1.0), epochs=40, batch_size=16)
    predicted = rnn.forward(X_test) > 0.5
    bit_accuracy = float(np.mean(predicted == T_test))
    sum_accuracy = float(np.mean(np.all(predicted == T_test, axis=(1, 2))))

    print(f"training J (mean over steps): {history.loss[0]:.3f} -> {history.loss[-1]:.4f}")
    print(f"held-out sums: {sum_accuracy:.1%} exactly right, {bit_accuracy:.2%} of bits")
    a, b = 100, 27
    x = np.stack([bits_of(np.array([a])), bits_of(np.array([b]))], axis=2).astype(np.float64)
    bits = (rnn.forward(x)[0, :, 0] > 0.5).astype(int)
    print(f"{a} + {b} = {int(bits @ (2 ** np.arange(BITS)))}")
    if sum_accuracy < 0.99:
        raise SystemExit("the network did not learn to add")


if __name__ == "__main__":
    main()
