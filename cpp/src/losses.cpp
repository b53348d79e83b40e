#include "blasnet/losses.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace blasnet {
namespace {

constexpr std::array<Loss, 3> all_losses = {Loss::mse, Loss::binary_cross_entropy,
                                            Loss::softmax_cross_entropy};

// log(1 + e^x) without overflow.
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

// log Σ_i e^{z_i} of one column, shifted by its maximum so exp never overflows.
template <typename T>
double log_sum_exp(const T* z, std::size_t n) {
  const double zmax = *std::max_element(z, z + n);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += std::exp(double(z[i]) - zmax);
  return zmax + std::log(sum);
}

bool is_fused(Loss loss, Activation output) {
  return (loss == Loss::softmax_cross_entropy && output == Activation::softmax) ||
         (loss == Loss::binary_cross_entropy && output == Activation::sigmoid);
}

// 1 − y_i of an output column, without the cancellation of 1 − y where y rounds to 1:
// σ(−z) for a sigmoid unit, the sum of the other outputs for softmax.
template <typename T>
T complement(Activation output, const T* z, const T* y, std::size_t i, std::size_t n) {
  if (output == Activation::sigmoid) return sigmoid(-z[i]);
  if (output == Activation::softmax) {
    T others = 0;
    for (std::size_t k = 0; k < n; ++k) {
      if (k != i) others += y[k];
    }
    return others;
  }
  return T(1) - y[i];
}

}  // namespace

Loss parse_loss(std::string_view name) {
  for (Loss l : all_losses) {
    if (loss_name(l) == name) return l;
  }
  throw std::invalid_argument("unknown loss '" + std::string(name) +
                              "'; valid losses: " + loss_names());
}

std::string_view loss_name(Loss loss) {
  switch (loss) {
    case Loss::mse: return "mse";
    case Loss::binary_cross_entropy: return "binary_cross_entropy";
    case Loss::softmax_cross_entropy: return "softmax_cross_entropy";
  }
  return "?";
}

std::string loss_names() {
  std::string names;
  for (Loss l : all_losses) {
    if (!names.empty()) names += ", ";
    names += loss_name(l);
  }
  return names;
}

void check_loss_supports(Loss loss, Activation output) {
  if (!is_differentiable(output)) {
    throw std::invalid_argument("cannot train through a '" + std::string(activation_name(output)) +
                                "' output: it has no gradient");
  }
  if (loss == Loss::mse) return;
  if (output != Activation::sigmoid && output != Activation::softmax) {
    throw std::invalid_argument("loss '" + std::string(loss_name(loss)) +
                                "' takes log y and needs outputs in (0, 1): use a sigmoid or "
                                "softmax output layer, not '" +
                                std::string(activation_name(output)) + "'");
  }
}

template <typename T>
void check_targets(Loss loss, const Targets<T>& targets, std::size_t n_out, std::size_t n) {
  const std::string where = "targets for loss '" + std::string(loss_name(loss)) + "'";
  if (targets.has_labels()) {
    if (loss != Loss::softmax_cross_entropy) {
      throw std::invalid_argument(where + ": integer class labels are only accepted by "
                                  "softmax_cross_entropy; give a float array of shape (n, " +
                                  std::to_string(n_out) + ")");
    }
    if (targets.n_labels != n) {
      throw std::invalid_argument(where + ": " + std::to_string(targets.n_labels) +
                                  " labels for " + std::to_string(n) + " samples");
    }
    for (std::size_t j = 0; j < n; ++j) {
      const std::int64_t c = targets.labels[j];
      if (c < 0 || c >= static_cast<std::int64_t>(n_out)) {
        throw std::invalid_argument(where + ": class label " + std::to_string(c) +
                                    " of sample " + std::to_string(j) + " is outside [0, " +
                                    std::to_string(n_out) + ")");
      }
    }
    return;
  }
  const MatrixView<const T>& t = targets.values;
  if (t.rows != n_out || t.cols != n) {
    throw std::invalid_argument(where + ": expected shape (" + std::to_string(n) + ", " +
                                std::to_string(n_out) + "), got (" + std::to_string(t.cols) +
                                ", " + std::to_string(t.rows) + ")");
  }
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < n_out; ++i) {
      const T v = t(i, j);
      if (!std::isfinite(v)) {
        throw std::invalid_argument(where + " contain NaN or Inf (sample " + std::to_string(j) +
                                    ", output " + std::to_string(i) + ")");
      }
      const bool outside = (loss == Loss::binary_cross_entropy && (v < 0 || v > 1)) ||
                           (loss == Loss::softmax_cross_entropy && v < 0);
      if (outside) {
        throw std::invalid_argument(
            where + ": value " + std::to_string(v) + " (sample " + std::to_string(j) +
            ") is outside " +
            (loss == Loss::binary_cross_entropy ? "[0, 1]" : "[0, ∞)"));
      }
    }
  }
}

template <typename T>
double loss_value(Loss loss, Activation output, MatrixView<const T> Z, MatrixView<const T> Y,
                  const Targets<T>& targets) {
  const std::size_t n_out = Y.rows;
  const std::size_t n = Y.cols;
  double total = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const T* z = Z.column(j);
    const T* y = Y.column(j);
    switch (loss) {
      case Loss::mse:
        for (std::size_t i = 0; i < n_out; ++i) {
          const double r = double(y[i]) - double(targets(i, j));
          total += 0.5 * r * r;
        }
        break;
      case Loss::binary_cross_entropy: {
        const double lse = output == Activation::softmax ? log_sum_exp(z, n_out) : 0.0;
        for (std::size_t i = 0; i < n_out; ++i) {
          const double t = targets(i, j);
          if (output == Activation::sigmoid) {
            // −[t log σ(z) + (1 − t) log(1 − σ(z))] = softplus(z) − t·z
            total += softplus(z[i]) - t * double(z[i]);
          } else {
            if (t > 0) total -= t * (double(z[i]) - lse);
            if (t < 1) total -= (1 - t) * std::log(double(complement(output, z, y, i, n_out)));
          }
        }
        break;
      }
      case Loss::softmax_cross_entropy: {
        // log softmax(z)_i = z_i − log Σ e^z;  log σ(z) = −softplus(−z)
        const double lse = output == Activation::softmax ? log_sum_exp(z, n_out) : 0.0;
        for (std::size_t i = 0; i < n_out; ++i) {
          const double t = targets(i, j);
          if (t == 0) continue;  // 0·log y is 0 even where y rounds to 0
          const double log_yi =
              output == Activation::softmax ? double(z[i]) - lse : -softplus(-double(z[i]));
          total -= t * log_yi;
        }
        break;
      }
    }
  }
  return total / double(n);
}

template <typename T>
void loss_backward(Loss loss, Activation output, MatrixView<const T> Z, MatrixView<const T> Y,
                   const Targets<T>& targets, MatrixView<T> dZ) {
  const std::size_t n_out = Y.rows;
  const std::size_t n = Y.cols;
  if (is_fused(loss, output)) {
    for (std::size_t j = 0; j < n; ++j) {
      const T* y = Y.column(j);
      T* d = dZ.column(j);
      T mass = 1;  // 1ᵀt: sigmoid units are independent, each with its own two-class target
      if (loss == Loss::softmax_cross_entropy && !targets.has_labels()) {
        mass = 0;
        for (std::size_t i = 0; i < n_out; ++i) mass += targets(i, j);
      }
      for (std::size_t i = 0; i < n_out; ++i) d[i] = y[i] * mass - targets(i, j);
    }
    return;
  }
  if (loss == Loss::softmax_cross_entropy && output == Activation::sigmoid) {
    // −t log σ(z) has dZ = −t·(1 − σ(z)) = −t·σ(−z): the chain through dY = −t/y would
    // divide by a y that underflows to 0.
    for (std::size_t j = 0; j < n; ++j) {
      const T* z = Z.column(j);
      T* d = dZ.column(j);
      for (std::size_t i = 0; i < n_out; ++i) d[i] = -targets(i, j) * sigmoid(-z[i]);
    }
    return;
  }
  for (std::size_t j = 0; j < n; ++j) {
    const T* z = Z.column(j);
    const T* y = Y.column(j);
    T* d = dZ.column(j);
    for (std::size_t i = 0; i < n_out; ++i) {
      const T t = targets(i, j);
      switch (loss) {
        case Loss::mse:  // ∂/∂y ½(y − t)²
          d[i] = y[i] - t;
          break;
        case Loss::binary_cross_entropy:  // ∂/∂y −[t log y + (1 − t) log(1 − y)]
          // A term whose weight is 0 contributes 0, even where its y saturates.
          d[i] = (t > 0 ? -t / y[i] : T(0)) +
                 (t < 1 ? (T(1) - t) / complement(output, z, y, i, n_out) : T(0));
          break;
        case Loss::softmax_cross_entropy:  // ∂/∂y −t log y
          d[i] = t == 0 ? T(0) : -t / y[i];
          break;
      }
    }
  }
  activation_backward(output, Z, Y, dZ);
}

#define BLASNET_INSTANTIATE(T)                                                            \
  template void check_targets<T>(Loss, const Targets<T>&, std::size_t, std::size_t);     \
  template double loss_value<T>(Loss, Activation, MatrixView<const T>, MatrixView<const T>, \
                                const Targets<T>&);                                       \
  template void loss_backward<T>(Loss, Activation, MatrixView<const T>, MatrixView<const T>, \
                                 const Targets<T>&, MatrixView<T>);
BLASNET_INSTANTIATE(float)
BLASNET_INSTANTIATE(double)
#undef BLASNET_INSTANTIATE

}  // namespace blasnet
