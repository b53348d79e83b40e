#include "blasnet/activations.hpp"

#include "exp_nonpositive.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace blasnet {
namespace {

// Y(:, j) = softmax(Z(:, j)), shifted by the column maximum so exp never overflows.
template <typename T>
void softmax_column(const T* z, T* y, std::size_t n) {
  const T zmax = *std::max_element(z, z + n);
  for (std::size_t i = 0; i < n; ++i) y[i] = detail::exp_nonpositive(z[i] - zmax);
  T sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += y[i];
  const T inv = T(1) / sum;
  for (std::size_t i = 0; i < n; ++i) y[i] *= inv;
}

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
      // σ(z) from e = e^{−|z|} ≤ 1 on either side of 0, without a branch: the loop vectorizes.
      return map_columns(b, Z, Y, [](T z) {
        const T e = detail::exp_nonpositive(z < 0 ? z : -z);
        return (z < 0 ? e : T(1)) / (T(1) + e);
      });
    case Activation::tanh:
      return map_columns(b, Z, Y, [](T z) { return std::tanh(z); });
    case Activation::relu:
      return map_columns(b, Z, Y, [](T z) { return z > 0 ? z : T(0); });
    case Activation::step:
      // The note's sgn unit as a 0/1 indicator: y = 1 if z ≥ 0, else 0.
      return map_columns(b, Z, Y, [](T z) { return z >= 0 ? T(1) : T(0); });
    case Activation::softmax:
      map_columns(b, Z, Z, [](T z) { return z; });
      for (std::size_t j = 0; j < Z.cols; ++j) softmax_column(Z.column(j), Y.column(j), Z.rows);
      return;
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
