#pragma once
// The costs J at the top of the network (the note's eq. (5)), each the mean over the n samples
// of a batch, and the start of backpropagation: dJ/dy "is known because we define the cost".

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "blasnet/activations.hpp"
#include "blasnet/matrix.hpp"

namespace blasnet {

enum class Loss {
  mse,                    // J = (1/n)·Σ_j ½‖y_j − t_j‖²
  binary_cross_entropy,   // J = −(1/n)·Σ_j Σ_i [t log y + (1 − t) log(1 − y)]
  softmax_cross_entropy,  // J = −(1/n)·Σ_j Σ_i t log y
};

inline constexpr std::array<Loss, 3> all_losses = {Loss::mse, Loss::binary_cross_entropy,
                                                   Loss::softmax_cross_entropy};

// "mse", "binary_cross_entropy", "softmax_cross_entropy" -> Loss; any other name throws
// std::invalid_argument listing the valid ones.
Loss parse_loss(std::string_view name);
std::string_view loss_name(Loss loss);
std::string loss_names();

// The targets of one batch: a dense T (n_out × n, column-major like Y), or one class index
// per sample (softmax_cross_entropy only), read as the columns of a one-hot T.
template <typename T>
struct Targets {
  MatrixView<const T> values;
  const std::int64_t* labels = nullptr;
  std::size_t n_labels = 0;

  static Targets dense(MatrixView<const T> t) { return {t, nullptr, 0}; }
  static Targets classes(const std::int64_t* labels, std::size_t n) { return {{}, labels, n}; }

  bool has_labels() const { return labels != nullptr; }
  std::size_t samples() const { return has_labels() ? n_labels : values.cols; }
  // t_ij: the target of output unit i for sample j.
  T operator()(std::size_t i, std::size_t j) const {
    return has_labels() ? T(labels[j] == static_cast<std::int64_t>(i)) : values(i, j);
  }
  // Samples [first, first + count), without copying.
  Targets columns(std::size_t first, std::size_t count) const {
    return has_labels() ? classes(labels + first, count) : dense(values.columns(first, count));
  }
};

// Each loss is defined on a range of outputs: the cross-entropies take logarithms of y, so
// they need an output unit whose values stay in (0, 1) (sigmoid or softmax). Throws
// std::invalid_argument naming both when the output unit cannot feed the loss.
void check_loss_supports(Loss loss, Activation output);

// Throws std::invalid_argument when targets do not fit n_out output units and n samples, are
// not finite, or leave the loss's domain (labels outside [0, n_out), binary targets outside
// [0, 1], negative softmax targets).
template <typename T>
void check_targets(Loss loss, const Targets<T>& targets, std::size_t n_out, std::size_t n);

// J of one batch, averaged over its n samples — or, with sample_weights (n values ≥ 0), their
// weighted mean Σ_j w_j·J_j / Σ_j w_j (0 when every weight is 0) — accumulated in double. The
// cross-entropies are evaluated from the logits Z (log-sum-exp, softplus), so they stay finite
// where Y rounds to 0 or 1.
template <typename T>
double loss_value(Loss loss, Activation output, ReadView<T> Z, ReadView<T> Y,
                  const Targets<T>& targets, const T* sample_weights = nullptr);

// dZ of the output layer for each sample: n·∂J/∂Z. The batch mean's 1/n is applied once,
// as the alpha of the parameter-gradient gemms (eqs. (8)-(9)).
// Each cross-entropy pair takes a fused form differentiated through the logits, stable where
// outputs saturate: softmax + softmax_cross_entropy dZ = Y·(1ᵀT) − T (= Y − T for targets
// that sum to one); sigmoid + binary_cross_entropy dZ = Y − T; sigmoid +
// softmax_cross_entropy dZ = −T ⊙ σ(−Z); softmax + binary_cross_entropy its own closed form.
// mse takes the general path: dY = Y − T, then dZ = dY ⊙ f'(Z) through activation_backward.
// Throws std::invalid_argument for a pair check_loss_supports refuses.
template <typename T>
void loss_backward(Loss loss, Activation output, ReadView<T> Z, ReadView<T> Y,
                   const Targets<T>& targets, MatrixView<T> dZ);

}  // namespace blasnet
