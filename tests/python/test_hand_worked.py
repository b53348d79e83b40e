"""A 2-2-1 network worked by hand: every intermediate number of one forward pass, one
backward pass and one SGD step, written down as literals and checked against blasnet.

Network: x (2) -> sigmoid layer "0" (2 units) -> sigmoid layer "1" (1 unit), a batch of
n = 2 samples, binary cross-entropy (and mse in the last test), SGD with α = 0.5.
σ(z) = 1/(1 + e^{−z}), σ'(z) = σ(z)(1 − σ(z)). Literals carry 12 significant digits and
are compared with a relative tolerance of 1e-10.

Numbers are laid out as blasnet shows them: one row per sample for Z, Y and the deltas,
W as (n_out, n_in). The note writes samples as columns; the values are the same.

blasnet reports only outputs, J and batch-mean gradients, so the hidden intermediates are
read through small networks built from the same weights:
  Z1, Y1   a one-layer network of layer "0" (identity, then sigmoid);
  Z2       the two-layer network with an identity output;
  dZ2, dZ1 the bias gradients of a one-sample batch, since db = dZ·1/n with n = 1;
  dY1      the bias gradient of an identity layer whose output is Y1 (W = I, input Y1):
           for an identity layer dZ = dY, so db = dY1 for a one-sample batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import blasnet as bn

Array = np.ndarray[Any, Any]

REL = 1e-10
LR = 0.5

W1 = np.array([[0.1, 0.2], [-0.3, 0.4]])
b1 = np.array([0.1, -0.2])
W2 = np.array([[0.5, -0.6]])
b2 = np.array([0.3])
X = np.array([[1.0, 2.0], [-1.0, 0.5]])  # sample 1, sample 2
T = np.array([[1.0], [0.0]])

# eq. (1) Z1 = W1·x + b1
#   sample 1: 0.1·1 + 0.2·2 + 0.1 = 0.6        −0.3·1 + 0.4·2 − 0.2 = 0.3
#   sample 2: 0.1·(−1) + 0.2·0.5 + 0.1 = 0.1   −0.3·(−1) + 0.4·0.5 − 0.2 = 0.3
Z1 = [[0.6, 0.3], [0.1, 0.3]]
# eq. (2) Y1 = σ(Z1): σ(0.6) = 1/(1 + e^{−0.6}) = 1/1.548811636094 = 0.645656306226,
#   σ(0.3) = 1/1.740818220682 = 0.574442516812, σ(0.1) = 1/1.904837418036 = 0.524979187479
Y1 = [[0.645656306226, 0.574442516812], [0.524979187479, 0.574442516812]]
# Z2 = W2·y1 + b2
#   sample 1: 0.5·0.645656306226 − 0.6·0.574442516812 + 0.3 = 0.278162643026
#   sample 2: 0.5·0.524979187479 − 0.6·0.574442516812 + 0.3 = 0.217824083652
Z2 = [[0.278162643026], [0.217824083652]]
# Y2 = σ(Z2): σ(0.278162643026) = 0.569095713958, σ(0.217824083652) = 0.554241721576
Y2 = [[0.569095713958], [0.554241721576]]

# Binary cross-entropy, J = −(1/n)·Σ [t log y + (1 − t) log(1 − y)]
#   = −(log 0.569095713958 + log(1 − 0.554241721576))/2
#   = −(−0.563706644664 − 0.807978450513)/2 = 0.685842547588
J_BCE = 0.685842547588
# dZ2 = dY2 ⊙ σ'(Z2) = (y − t)/(y(1 − y)) · y(1 − y) = y − t
#   sample 1: 0.569095713958 − 1 = −0.430904286042;  sample 2: 0.554241721576 − 0 = 0.554241721576
dZ2 = [[-0.430904286042], [0.554241721576]]
# eq. (9) dW2 = dZ2·Y1ᵀ/n
#   [(−0.430904286042·0.645656306226 + 0.554241721576·0.524979187479)/2,
#    (−0.430904286042·0.574442516812 + 0.554241721576·0.574442516812)/2]
#   = [(−0.278216069662 + 0.290965368660)/2, (−0.247529742579 + 0.318380009464)/2]
dW2 = [[0.00637464949877, 0.0354251334428]]
# eq. (8) db2 = dZ2·1/n = (−0.430904286042 + 0.554241721576)/2
db2 = [0.0616687177673]
# eqs. (6)-(7) dY1 = W2ᵀ·dZ2
#   sample 1: [0.5·(−0.430904286042), −0.6·(−0.430904286042)] = [−0.215452143021, 0.258542571625]
#   sample 2: [0.5·0.554241721576, −0.6·0.554241721576] = [0.277120860788, −0.332545032946]
dY1 = [[-0.215452143021, 0.258542571625], [0.277120860788, -0.332545032946]]
# dZ1 = dY1 ⊙ Y1(1 − Y1), with σ' = 0.645656306226·0.354343693774 = 0.228784240457,
#   0.574442516812·0.425557483188 = 0.244458311691, 0.524979187479·0.475020812521 = 0.249376040193
#   sample 1: −0.215452143021·0.228784240457 = −0.0492920548958
#              0.258542571625·0.244458311691 = 0.0632028805596
#   sample 2:  0.277120860788·0.249376040193 = 0.0691073029182
#             −0.332545032946·0.244458311691 = −0.0812933973151
dZ1 = [[-0.0492920548958, 0.0632028805596], [0.0691073029182, -0.0812933973151]]
# eq. (9) dW1 = dZ1·Xᵀ/n
#   row 1: [(−0.0492920548958·1 + 0.0691073029182·(−1))/2,
#           (−0.0492920548958·2 + 0.0691073029182·0.5)/2]
#        = [−0.118399357814/2, (−0.0985841097916 + 0.0345536514591)/2]
#   row 2: [(0.0632028805596·1 − 0.0812933973151·(−1))/2,
#           (0.0632028805596·2 − 0.0812933973151·0.5)/2]
#        = [0.144496277875/2, (0.126405761119 − 0.0406466986575)/2]
dW1 = [[-0.059199678907, -0.0320152291662], [0.0722481389373, 0.0428795312309]]
# eq. (8) db1 = [(−0.0492920548958 + 0.0691073029182)/2, (0.0632028805596 − 0.0812933973151)/2]
db1 = [0.00990762401121, -0.00904525837772]

# Θ ← Θ − α·∇J with α = 0.5
#   W2: [0.5 − 0.5·0.00637464949877, −0.6 − 0.5·0.0354251334428];  b2: 0.3 − 0.5·0.0616687177673
#   W1: [[0.1 + 0.5·0.059199678907, 0.2 + 0.5·0.0320152291662],
#        [−0.3 − 0.5·0.0722481389373, 0.4 − 0.5·0.0428795312309]]
#   b1: [0.1 − 0.5·0.00990762401121, −0.2 + 0.5·0.00904525837772]
W2_AFTER = [[0.496812675251, -0.617712566721]]
b2_AFTER = [0.269165641116]
W1_AFTER = [[0.129599839453, 0.216007614583], [-0.336124069469, 0.378560234385]]
b1_AFTER = [0.0950461879944, -0.195477370811]

# The same network and data under mse, J = (1/n)·Σ ½(y − t)²:
#   J = ½[(0.569095713958 − 1)² + 0.554241721576²]/2 = ½(0.185678503729 + 0.307183885936)/2
J_MSE = 0.123215597416
# dZ2 = (y − t)·y(1 − y)
#   sample 1: −0.430904286042·0.569095713958·0.430904286042 = −0.105668840646
#   sample 2:  0.554241721576·0.554241721576·0.445758278424 = 0.136929760154
dZ2_MSE = [[-0.105668840646], [0.136929760154]]
# Then as above: dW2 = dZ2·Y1ᵀ/2, db2 = dZ2·1/2, dZ1 = (W2ᵀ·dZ2) ⊙ Y1(1 − Y1), dW1 = dZ1·Xᵀ/2:
#   dZ1 sample 1: [0.5·(−0.105668840646)·0.228784240457, −0.6·(−0.105668840646)·0.244458311691]
#                = [−0.0120876827236, 0.0154989758296]
#   dZ1 sample 2: [0.5·0.136929760154·0.249376040193, −0.6·0.136929760154·0.244458311691]
#                = [0.0170735006859, −0.0200841707925]
dW2_MSE = [[0.00182976044628, 0.00897880063997]]
db2_MSE = [0.0156304597539]
dW1_MSE = [[-0.0145805917048, -0.00781930755213], [0.0177915733111, 0.0104779331315]]
db1_MSE = [0.00249290898115, -0.00229259748144]


def approx(values: Any) -> Any:
    """pytest.approx of a literal list, at the module's relative tolerance."""
    return pytest.approx(np.array(values), rel=REL)


def network(hidden: str = "sigmoid", output: str | None = "sigmoid") -> bn.Sequential:
    """Layer "0" (and layer "1" unless output is None) with the hand-set weights."""
    layers = [bn.Dense(2, activation=hidden)]
    if output is not None:
        layers.append(bn.Dense(1, activation=output))
    net = bn.Sequential(layers, input_dim=2, dtype="float64", seed=0)
    P = net.parameters()
    P["0.W"][...] = W1
    P["0.b"][...] = b1
    if output is not None:
        P["1.W"][...] = W2
        P["1.b"][...] = b2
    return net


def test_forward_intermediates() -> None:
    """Z1, Y1, Z2 and Y2 of both samples are the hand-computed values."""
    assert network("identity", None).forward(X) == approx(Z1)
    assert network("sigmoid", None).forward(X) == approx(Y1)
    assert network("sigmoid", "identity").forward(X) == approx(Z2)
    assert network().forward(X) == approx(Y2)


def test_backward_batch_gradients() -> None:
    """backward on the batch returns J and the batch-mean gradients dW2, db2, dW1, db1."""
    net = network()
    assert net.backward(X, T, loss="binary_cross_entropy") == pytest.approx(J_BCE, rel=REL)
    G = net.gradients()
    assert G["1.W"] == approx(dW2)
    assert G["1.b"] == approx(db2)
    assert G["0.W"] == approx(dW1)
    assert G["0.b"] == approx(db1)


@pytest.mark.parametrize("sample", [0, 1])
def test_backward_per_sample_deltas(sample: int) -> None:
    """dZ2, dY1 and dZ1 of each sample are the hand-computed deltas."""
    x, t = X[sample : sample + 1], T[sample : sample + 1]
    net = network()
    net.backward(x, t, loss="binary_cross_entropy")
    assert net.gradients()["1.b"] == approx(dZ2[sample])
    assert net.gradients()["0.b"] == approx(dZ1[sample])

    # An identity layer with W = I fed Y1 outputs Y1; its dZ is dY1.
    probe = bn.Sequential(
        [bn.Dense(2), bn.Dense(1, activation="sigmoid")], input_dim=2, dtype="float64"
    )
    P = probe.parameters()
    P["0.W"][...] = np.eye(2)
    P["0.b"][...] = 0.0
    P["1.W"][...] = W2
    P["1.b"][...] = b2
    probe.backward(np.array([Y1[sample]]), t, loss="binary_cross_entropy")
    assert probe.gradients()["0.b"] == approx(dY1[sample])


def test_sgd_step() -> None:
    """train_step returns J before the step and leaves W − 0.5·dW, b − 0.5·db."""
    net = network()
    J = net.train_step(X, T, loss="binary_cross_entropy", optimizer=bn.SGD(lr=LR))
    assert J == pytest.approx(J_BCE, rel=REL)
    P = net.parameters()
    assert P["1.W"] == approx(W2_AFTER)
    assert P["1.b"] == approx(b2_AFTER)
    assert P["0.W"] == approx(W1_AFTER)
    assert P["0.b"] == approx(b1_AFTER)


def test_mse_gradients() -> None:
    """Under mse the output delta carries σ'(Z2): J, dZ2 and every gradient match by hand."""
    net = network()
    assert net.backward(X, T, loss="mse") == pytest.approx(J_MSE, rel=REL)
    G = {key: value.copy() for key, value in net.gradients().items()}
    assert G["1.W"] == approx(dW2_MSE)
    assert G["1.b"] == approx(db2_MSE)
    assert G["0.W"] == approx(dW1_MSE)
    assert G["0.b"] == approx(db1_MSE)
    for sample in (0, 1):
        net.backward(X[sample : sample + 1], T[sample : sample + 1], loss="mse")
        assert net.gradients()["1.b"] == approx(dZ2_MSE[sample])
