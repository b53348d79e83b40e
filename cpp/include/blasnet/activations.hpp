#pragma once
// The units of the note's Figure 2, eq. (2) y = f(z), and their derivatives.

#include <array>
#include <cmath>
#include <string>
#include <string_view>

#include "blasnet/matrix.hpp"

namespace blasnet {

enum class Activation { identity, sigmoid, tanh, relu, softmax, step };

inline constexpr std::array<Activation, 6> all_activations = {
    Activation::identity, Activation::sigmoid, Activation::tanh,
    Activation::relu,     Activation::softmax, Activation::step};

// σ(z) = 1/(1 + e^{−z}) without overflow: e^{−|z|} never exceeds 1.
template <typename T>
T sigmoid(T z) {
  if (z >= 0) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}

// "identity", "sigmoid", "tanh", "relu", "softmax", "step" -> Activation; any other name
// throws std::invalid_argument listing the valid ones.
Activation parse_activation(std::string_view name);
std::string_view activation_name(Activation a);
std::string activation_names();  // "identity, sigmoid, ..." for messages

// step (the perceptron's sgn unit) has no usable derivative: it is 0 or infinite.
bool is_differentiable(Activation a);

// Forward, eq. (1)-(2) for a batch: Z ← Z + b·1ᵀ, then Y = f(Z).
// Z (n×B) holds W·X on entry; b has n entries. Y (n×B) may be Z itself: every derivative
// below is written in terms of Y, so a hidden layer keeps one buffer, not two.
template <typename T>
void activation_forward(Activation a, const T* b, MatrixView<T> Z, MatrixView<T> Y);

// Backward, the appendix's first line: dZ = dY ⊙ f'(Z), in place (dY becomes dZ), from Y:
// sigmoid f' = y(1 − y), tanh f' = 1 − y², relu f' = [y > 0]; softmax is not pointwise, its
// Jacobian-vector product is dZ = Y ⊙ (dY − 1·(1ᵀ(Y ⊙ dY))).
// With row_sums (n entries), also adds scale·Σ_j dZ(i, j) to row_sums[i] in the same pass:
// the bias gradient of eq. (8), or a bias update, without a second sweep over dZ.
// Throws std::invalid_argument for step.
template <typename T>
void activation_backward(Activation a, ReadView<T> Y, MatrixView<T> dY,
                         T* row_sums = nullptr, ScalarOf<T> scale = 1);

// row_sums[i] += scale·Σ_j M(i, j).
template <typename T>
void add_row_sums(ReadView<T> M, T* row_sums, ScalarOf<T> scale = 1);

}  // namespace blasnet
