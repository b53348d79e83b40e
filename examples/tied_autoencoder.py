"""A tied-weight autoencoder: the decoder is the encoder's Wᵀ (the note's tied weights W1 = W2,
whose gradient is the sum over both uses).

Data: 12-D points near a 3-D subspace. A linear autoencoder with a 3-unit code can at best
reach the error of the best rank-3 approximation (principal components); the tied one gets
there with half the weights of an untied one.

    python examples/tied_autoencoder.py
"""

from __future__ import annotations

import numpy as np

import blasnet as bn

N_FEATURES, CODE = 12, 3


def low_rank_data(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, CODE))
    mixing = rng.standard_normal((CODE, N_FEATURES)) / np.sqrt(CODE)
    return latent @ mixing + 0.05 * rng.standard_normal((n, N_FEATURES))


def best_rank_k_mse(X: np.ndarray, k: int) -> float:
    """J = mean over samples of ½‖x − x̂‖² for the best rank-k x̂ (truncated SVD)."""
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    residual = X - (U[:, :k] * s[:k]) @ Vt[:k]
    return float(0.5 * np.mean(np.sum(residual**2, axis=1)))


def main() -> None:
    X = low_rank_data(2000, seed=0)

    g = bn.Graph(seed=0)
    x = g.input("x", N_FEATURES)
    code = g.dense(x, CODE, name="encode")
    decoded = g.dense(code, N_FEATURES, name="decode", share=code, transpose=True)
    g.output(decoded, loss="mse", target=x)

    history = g.fit({"x": X}, None, bn.SGD(lr=0.05), epochs=60, batch_size=32)
    floor = best_rank_k_mse(X, CODE)
    n_params = sum(p.size for p in g.parameters().values())
    print(f"parameters: {n_params} tied (an untied autoencoder has {2 * CODE * N_FEATURES + CODE + N_FEATURES})")
    print(f"reconstruction J: {history.loss[0]:.4f} after one epoch, {history.loss[-1]:.4f} after {history.epochs}")
    print(f"best possible with a {CODE}-D code (principal components): {floor:.4f}")
    if not history.loss[-1] < 1.05 * floor:
        raise SystemExit("the tied autoencoder did not reach the principal-component error")


if __name__ == "__main__":
    main()
