#include "blasnet/activations.hpp"

#include "exp_nonpositive.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace blasnet {
namespace {

// One pass per column: z += b, y = f(z).
template <typename T, typename F>
void map_columns(const T* b, MatrixView<T> Z, MatrixView<T> Y, F f) {
  for (std::size_t j = 0; j < Z.cols; ++j) {
    T* z = Z.column(j);
    T* y = Y.column(j);
    for (std::size_t i = 0; i < Z.rows; ++i) {
      const T zi = z[i] + b[i];
      z[i] = zi;
      y[i] = f(zi);
    }
  }
}

// y = f(z) for an f dear enough (an exponential) that it pays to run it as one long loop over
// the whole block: short columns (a few output units) would leave the vectorized loop's
// iterations too few to overlap the polynomial's latency. Z and Y are contiguous here.
template <typename T, typename F>
void map_block(MatrixView<const T> Z, MatrixView<T> Y, F f) {
  const T* z = Z.data;
  T* y = Y.data;
  const std::size_t size = Z.rows * Z.cols;
  for (std::size_t k = 0; k < size; ++k) y[k] = f(z[k]);
}

template <typename T>
bool contiguous(const MatrixView<T>& M) {
  return M.ld == M.rows;
}

// σ(z) from e = e^{−|z|} ≤ 1 on either side of 0, without a branch, so loops vectorize.
template <typename T>
T sigmoid_nonbranching(T z) {
  const T e = detail::exp_nonpositive(z < 0 ? z : -z);
  return (z < 0 ? e : T(1)) / (T(1) + e);
}

// Y(:, j) = softmax(Z(:, j)) = e^{z − max z} / Σ e^{z − max z}: the shift keeps exp from
// overflowing. Bias and shift per column, the exponentials over the whole block, then each
// column normalised.
template <typename T>
void softmax_forward(const T* b, MatrixView<T> Z, MatrixView<T> Y) {
  const std::size_t n = Z.rows;
  for (std::size_t j = 0; j < Z.cols; ++j) {
    T* z = Z.column(j);
    T* y = Y.column(j);
    for (std::size_t i = 0; i < n; ++i) z[i] += b[i];
    const T zmax = *std::max_element(z, z + n);
    for (std::size_t i = 0; i < n; ++i) y[i] = z[i] - zmax;
  }
  const auto exp = [](T v) { return detail::exp_nonpositive(v); };
  if (contiguous(Y)) {
    map_block<T>(Y, Y, exp);
  } else {
    for (std::size_t j = 0; j < Y.cols; ++j) {
      map_block<T>(MatrixView<const T>(Y.column(j), n, 1), MatrixView<T>(Y.column(j), n, 1), exp);
    }
  }
  for (std::size_t j = 0; j < Y.cols; ++j) {
    T* y = Y.column(j);
    T sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += y[i];
    const T inv = T(1) / sum;
    for (std::size_t i = 0; i < n; ++i) y[i] *= inv;
  }
}

}  // namespace

Activation parse_activation(std::string_view name) {
  for (Activation a : all_activations) {
    if (activation_name(a) == name) return a;
  }
  throw std::invalid_argument("unknown activation '" + std::string(name) +
                              "'; valid activations: " + activation_names());
}

std::string_view activation_name(Activation a) {
  switch (a) {
    case Activation::identity: return "identity";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
    case Activation::relu: return "relu";
    case Activation::softmax: return "softmax";
    case Activation::step: return "step";
  }
  return "?";
}

std::string activation_names() {
  std::string names;
  for (Activation a : all_activations) {
    if (!names.empty()) names += ", ";
    names += activation_name(a);
  }
  return names;
}

bool is_differentiable(Activation a) { return a != Activation::step; }

template <typename T>
void activation_forward(Activation a, const T* b, MatrixView<T> Z, MatrixView<T> Y) {
  switch (a) {
    case Activation::identity:
      return map_columns(b, Z, Y, [](T z) { return z; });
    case Activation::sigmoid:
      if (contiguous(Z) && contiguous(Y)) {
        map_columns(b, Z, Z, [](T z) { return z; });
        return map_block<T>(Z, Y, sigmoid_nonbranching<T>);
      }
      return map_columns(b, Z, Y, sigmoid_nonbranching<T>);
    case Activation::tanh:
      return map_columns(b, Z, Y, [](T z) { return std::tanh(z); });
    case Activation::relu:
      return map_columns(b, Z, Y, [](T z) { return z > 0 ? z : T(0); });
    case Activation::step:
      // The note's sgn unit as a 0/1 indicator: y = 1 if z ≥ 0, else 0.
      return map_columns(b, Z, Y, [](T z) { return z >= 0 ? T(1) : T(0); });
    case Activation::softmax:
      return softmax_forward(b, Z, Y);
  }
}

template <typename T>
void add_row_sums(ReadView<T> M, T* row_sums, ScalarOf<T> scale) {
  for (std::size_t j = 0; j < M.cols; ++j) {
    const T* m = M.column(j);
    for (std::size_t i = 0; i < M.rows; ++i) row_sums[i] += scale * m[i];
  }
}

namespace {

// dZ = dY ⊙ f' column by column, and, when Sum, scale times the row sums of dZ in the same
// pass.
template <bool Sum, typename T, typename Derivative>
void scale_columns(ReadView<T> Y, MatrixView<T> dY, T* row_sums, T scale, Derivative f_prime) {
  for (std::size_t j = 0; j < dY.cols; ++j) {
    const T* y = Y.column(j);
    T* d = dY.column(j);
    for (std::size_t i = 0; i < dY.rows; ++i) {
      d[i] = f_prime(y[i], d[i]);
      if constexpr (Sum) row_sums[i] += scale * d[i];
    }
  }
}

template <bool Sum, typename T>
void backward_columns(Activation a, ReadView<T> Y, MatrixView<T> dY, T* row_sums, T scale) {
  switch (a) {
    case Activation::identity:
      if constexpr (Sum) add_row_sums<T>(dY, row_sums, scale);
      return;
    case Activation::sigmoid:
      return scale_columns<Sum>(Y, dY, row_sums, scale,
                                [](T y, T d) { return d * y * (T(1) - y); });
    case Activation::tanh:
      return scale_columns<Sum>(Y, dY, row_sums, scale,
                                [](T y, T d) { return d * (T(1) - y * y); });
    case Activation::relu:  // y > 0 exactly where z > 0
      return scale_columns<Sum>(Y, dY, row_sums, scale,
                                [](T y, T d) { return y > 0 ? d : T(0); });
    case Activation::softmax:  // ∂y_i/∂z_k = y_i(δ_ik − y_k)
      for (std::size_t j = 0; j < dY.cols; ++j) {
        const T* y = Y.column(j);
        T* d = dY.column(j);
        T dot = 0;
        for (std::size_t i = 0; i < dY.rows; ++i) dot += y[i] * d[i];
        for (std::size_t i = 0; i < dY.rows; ++i) {
          d[i] = y[i] * (d[i] - dot);
          if constexpr (Sum) row_sums[i] += scale * d[i];
        }
      }
      return;
    case Activation::step:
      return;
  }
}

}  // namespace

template <typename T>
void activation_backward(Activation a, ReadView<T> Y, MatrixView<T> dY, T* row_sums,
                         ScalarOf<T> scale) {
  if (!is_differentiable(a)) {
    throw std::invalid_argument(
        "activation 'step' has no gradient (its derivative is 0 or infinite); "
        "train a step unit with the perceptron rule, or use sigmoid or tanh");
  }
  if (row_sums != nullptr) {
    backward_columns<true>(a, Y, dY, row_sums, scale);
  } else {
    backward_columns<false>(a, Y, dY, row_sums, scale);
  }
}

template void activation_forward<float>(Activation, const float*, MatrixView<float>,
                                        MatrixView<float>);
template void activation_forward<double>(Activation, const double*, MatrixView<double>,
                                         MatrixView<double>);
template void activation_backward<float>(Activation, MatrixView<const float>, MatrixView<float>,
                                         float*, float);
template void activation_backward<double>(Activation, MatrixView<const double>,
                                          MatrixView<double>, double*, double);
template void add_row_sums<float>(MatrixView<const float>, float*, float);
template void add_row_sums<double>(MatrixView<const double>, double*, double);

}  // namespace blasnet
