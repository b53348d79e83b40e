#include "blasnet/perceptron.hpp"

#include <cmath>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "blasnet/activations.hpp"
#include "blasnet/blas.hpp"
#include "blasnet/checked_size.hpp"
#include "blasnet/graph.hpp"  // NonFiniteError
#include "blasnet/random.hpp"
#include "finite.hpp"

namespace blasnet {
namespace {

std::string count(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// X must carry n_features values per sample.
template <typename T>
void check_features(const char* call, MatrixView<const T> X, std::size_t n_features) {
  if (X.rows != n_features) {
    throw std::invalid_argument(std::string(call) + ": X has " +
                                count(X.rows, "feature", "features") +
                                " per sample, but the perceptron reads " +
                                count(n_features, "feature", "features"));
  }
}

// Names the first NaN or Inf of M (rows × cols, row = feature, column = sample).
template <typename T>
void check_finite(const char* call, MatrixView<const T> M) {
  if (const std::optional<MatrixEntry> bad = first_not_finite(M)) {
    throw std::invalid_argument(std::string(call) + ": X holds NaN or Inf (sample " +
                                std::to_string(bad->col) + ", feature " +
                                std::to_string(bad->row) + ")");
  }
}

// W and b are writable from outside (Python views): a NaN written there would make every
// prediction of its unit 0 without a word, since NaN ≥ 0 is false.
template <typename T>
void check_parameters(const char* call, const std::vector<T>& W, const std::vector<T>& b,
                      std::size_t n_features) {
  const std::size_t k = first_not_finite(W.data(), W.size());
  if (k < W.size()) {
    throw std::invalid_argument(std::string(call) + ": weight W(" +
                                std::to_string(k / n_features) + ", " +
                                std::to_string(k % n_features) + ") is NaN or Inf");
  }
  const std::size_t i = first_not_finite(b.data(), b.size());
  if (i < b.size()) {
    throw std::invalid_argument(std::string(call) + ": bias b(" + std::to_string(i) +
                                ") is NaN or Inf");
  }
}

}  // namespace

template <typename T>
Perceptron<T>::Perceptron(std::size_t n_features, std::size_t n_outputs)
    : n_features_(n_features), n_outputs_(n_outputs) {
  if (n_features == 0) {
    throw std::invalid_argument("Perceptron: n_features must be positive, got 0");
  }
  if (n_outputs == 0) {
    throw std::invalid_argument("Perceptron: n_outputs must be positive, got 0");
  }
  // Rosenblatt's start: w = 0, b = 0. The first sample then has z = 0 and is read as class 1.
  const std::string shape =
      std::to_string(n_outputs) + " units over " + std::to_string(n_features) + " features";
  const std::size_t weights =
      checked_mul(n_features, n_outputs, [&] { return "Perceptron: the weights of " + shape; });
  const auto refused = [&](double bytes) {
    return "Perceptron: " + shape + " need " + bytes_text(bytes) +
           " of weights, more memory than could be allocated";
  };
  allocate(W_, weights, refused);
  allocate(b_, n_outputs, [&] { return "Perceptron: the biases of " + shape; });
}

// X (n_features × n), W (n_outputs × n_features, row-major) -> out (n_outputs × n)
template <typename T>
void Perceptron<T>::predict(MatrixView<const T> X, MatrixView<T> out) const {
  constexpr const char* call = "Perceptron::predict";
  check_features(call, X, n_features_);
  if (out.rows != n_outputs_ || out.cols != X.cols) {
    throw std::invalid_argument(std::string(call) + ": out holds " +
                                count(out.rows, "output", "outputs") + " for " +
                                count(out.cols, "sample", "samples") + ", expected " +
                                count(n_outputs_, "output", "outputs") + " for each of the " +
                                count(X.cols, "sample", "samples") + " of X");
  }
  check_finite(call, X);
  check_parameters(call, W_, b_, n_features_);
  if (X.cols == 0) return;
  // eq. (1): Z = W·X, one gemm. The row-major W is, to column-major BLAS, Wᵀ (n_features ×
  // n_outputs, ld n_features): op(A) = (Wᵀ)ᵀ.
  const MatrixView<const T> W_t(W_.data(), n_features_, n_outputs_);
  gemm<T>(Transpose::yes, Transpose::no, T(1), W_t, X, T(0), out);
  // Z += b·1ᵀ and eq. (2) with f = step, y = 1 iff z ≥ 0: the very code of a step layer, so
  // the perceptron and Activation::step cannot disagree at z = 0.
  activation_forward<T>(Activation::step, b_.data(), out, out);
}

template <typename T>
std::vector<std::size_t> Perceptron<T>::fit(MatrixView<const T> X, MatrixView<const T> targets,
                                            ScalarOf<T> lr, std::size_t epochs, bool shuffle,
                                            std::uint64_t seed,
                                            const PerceptronCallback& on_epoch) {
  constexpr const char* call = "Perceptron::fit";
  check_features(call, X, n_features_);
  const std::size_t n = X.cols;
  if (n == 0) throw std::invalid_argument(std::string(call) + ": X has no samples");
  if (targets.rows != n_outputs_ || targets.cols != n) {
    throw std::invalid_argument(std::string(call) + ": targets hold " +
                                count(targets.rows, "output", "outputs") + " for " +
                                count(targets.cols, "sample", "samples") + ", expected " +
                                count(n_outputs_, "output", "outputs") + " for each of the " +
                                count(n, "sample", "samples") + " of X");
  }
  if (!(std::isfinite(lr) && lr > 0)) {
    throw std::invalid_argument(std::string(call) + ": lr must be positive and finite, got " +
                                std::to_string(lr));
  }
  if (epochs == 0) throw std::invalid_argument(std::string(call) + ": epochs must be at least 1");
  check_finite(call, X);
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < n_outputs_; ++i) {
      const T t = targets(i, j);
      if (t != T(0) && t != T(1)) {
        throw std::invalid_argument(std::string(call) + ": target " + std::to_string(t) +
                                    " (sample " + std::to_string(j) + ", output " +
                                    std::to_string(i) + ") is not 0 or 1");
      }
    }
  }
  check_parameters(call, W_, b_, n_features_);

  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  Rng rng(seed);
  std::vector<T> y(n_outputs_);  // z, then step(z), of the current sample
  const MatrixView<T> y_view(y.data(), n_outputs_, 1);
  std::vector<std::size_t> mistakes;

  for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
    if (shuffle) rng.shuffle(order);
    std::size_t wrong = 0;
    for (const std::size_t j : order) {
      const T* x = X.column(j);
      // z_i = w_iᵀx, unit by unit: each update below changes W before the next sample, so
      // the samples of an epoch cannot share one product.
      for (std::size_t i = 0; i < n_outputs_; ++i) {
        const T* w = W_.data() + i * n_features_;
        T z = 0;
        for (std::size_t k = 0; k < n_features_; ++k) z += w[k] * x[k];
        y[i] = z;
      }
      // y = step(z + b), the note's y = sgn(wᵀx + b) through Activation::step itself.
      activation_forward<T>(Activation::step, b_.data(), y_view, y_view);
      // The rule: only a unit that erred moves, by ±lr·x towards its target.
      for (std::size_t i = 0; i < n_outputs_; ++i) {
        const T error = targets(i, j) - y[i];  // t − y ∈ {−1, 0, 1}
        if (error == T(0)) continue;
        ++wrong;
        const T delta = lr * error;
        T* w = W_.data() + i * n_features_;
        // Checked before it is written: an update that overflows changes nothing.
        typename ExponentBits<T>::Bits bad = not_finite(b_[i] + delta);
        for (std::size_t k = 0; k < n_features_; ++k) bad |= not_finite(w[k] + delta * x[k]);
        if (bad != 0) {
          throw NonFiniteError(std::string(call) + ": at epoch " + std::to_string(epoch) +
                               ", sample " + std::to_string(j) + ", the update of unit " +
                               std::to_string(i) +
                               " overflows (lr times the sample); the weights are those "
                               "before it");
        }
        for (std::size_t k = 0; k < n_features_; ++k) w[k] += delta * x[k];  // w ← w + lr(t−y)x
        b_[i] += delta;                                                       // b ← b + lr(t−y)
      }
    }
    mistakes.push_back(wrong);
    const bool go_on = !on_epoch || on_epoch(epoch, wrong);
    if (wrong == 0 || !go_on) break;  // wrong = 0: converged, nothing moved and nothing ever will
  }
  return mistakes;
}

template class Perceptron<float>;
template class Perceptron<double>;

}  // namespace blasnet
