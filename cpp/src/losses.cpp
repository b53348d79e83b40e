#include "blasnet/losses.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace blasnet {
namespace {

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

// out[k] = log Σ_{m≠k} e^{z_m} for every k of one column (−∞ when n = 1), from the logits,
// so that log(1 − softmax(z)_k) = out[k] − log Σ e^z stays finite where y_k rounds to 1.
// O(n): for k other than the arg-max, S − e^{z_k−M} keeps the arg-max's term 1 and cannot
// cancel; the arg-max's own sum is taken directly.
template <typename T>
void log_sum_exp_excluding(const T* z, std::size_t n, double* out) {
  const std::size_t top = static_cast<std::size_t>(std::max_element(z, z + n) - z);
  const double zmax = z[top];
  double sum = 0;
  double second = -std::numeric_limits<double>::infinity();
  for (std::size_t m = 0; m < n; ++m) {
    sum += std::exp(double(z[m]) - zmax);
    if (m != top) second = std::max(second, double(z[m]));
  }
  double others = 0;
  for (std::size_t m = 0; m < n; ++m) {
    if (m == top) continue;
    others += std::exp(double(z[m]) - second);
    out[m] = zmax + std::log(sum - std::exp(double(z[m]) - zmax));
  }
  out[top] = n == 1 ? -std::numeric_limits<double>::infinity() : second + std::log(others);
}

// Scratch of one column's log_sum_exp_excluding, grown once per thread: a step in steady
// state allocates nothing.
double* column_scratch(std::size_t n) {
  thread_local std::vector<double> scratch;
  if (scratch.size() < n) scratch.resize(n);
  return scratch.data();
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
  // Built only when throwing: a check that passes allocates nothing.
  const auto where = [loss] { return "targets for loss '" + std::string(loss_name(loss)) + "'"; };
  if (targets.has_labels()) {
    if (loss != Loss::softmax_cross_entropy) {
      throw std::invalid_argument(where() + ": integer class labels are only accepted by "
                                  "softmax_cross_entropy; give a float array of shape (n, " +
                                  std::to_string(n_out) + ")");
    }
    if (targets.n_labels != n) {
      throw std::invalid_argument(where() + ": " + std::to_string(targets.n_labels) +
                                  " labels for " + std::to_string(n) + " samples");
    }
    for (std::size_t j = 0; j < n; ++j) {
      const std::int64_t c = targets.labels[j];
      if (c < 0 || c >= static_cast<std::int64_t>(n_out)) {
        throw std::invalid_argument(where() + ": class label " + std::to_string(c) +
                                    " of sample " + std::to_string(j) + " is outside [0, " +
                                    std::to_string(n_out) + ")");
      }
    }
    return;
  }
  const MatrixView<const T>& t = targets.values;
  if (t.rows != n_out || t.cols != n) {
    throw std::invalid_argument(where() + ": expected shape (" + std::to_string(n) + ", " +
                                std::to_string(n_out) + "), got (" + std::to_string(t.cols) +
                                ", " + std::to_string(t.rows) + ")");
  }
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < n_out; ++i) {
      const T v = t(i, j);
      if (!std::isfinite(v)) {
        throw std::invalid_argument(where() + " contain NaN or Inf (sample " + std::to_string(j) +
                                    ", output " + std::to_string(i) + ")");
      }
      const bool outside = (loss == Loss::binary_cross_entropy && (v < 0 || v > 1)) ||
                           (loss == Loss::softmax_cross_entropy && v < 0);
      if (outside) {
        throw std::invalid_argument(
            where() + ": value " + std::to_string(v) + " (sample " + std::to_string(j) +
            ") is outside " +
            (loss == Loss::binary_cross_entropy ? "[0, 1]" : "[0, ∞)"));
      }
    }
  }
}

template <typename T>
double loss_value(Loss loss, Activation output, ReadView<T> Z, ReadView<T> Y,
                  const Targets<T>& targets, const T* sample_weights) {
  const std::size_t n_out = Y.rows;
  const std::size_t n = Y.cols;
  // With weights, Σ_j (w_j / Σw)·J_j: each sample's share taken first, so that weights as
  // large as their sum allows (up to the largest double) cannot overflow a finite loss.
  // Without, Σ_j J_j / n.
  double weight_total = double(n);
  if (sample_weights != nullptr) {
    weight_total = 0;
    for (std::size_t j = 0; j < n; ++j) weight_total += double(sample_weights[j]);
    if (!(weight_total > 0)) return 0.0;
  }
  double total = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const double w = sample_weights != nullptr ? double(sample_weights[j]) / weight_total : 1.0;
    if (w == 0) continue;
    const T* z = Z.column(j);
    double ell = 0;  // this sample's loss
    switch (loss) {
      case Loss::mse: {
        const T* y = Y.column(j);
        for (std::size_t i = 0; i < n_out; ++i) {
          const double r = double(y[i]) - double(targets(i, j));
          ell += 0.5 * r * r;
        }
        break;
      }
      case Loss::binary_cross_entropy:
        if (output == Activation::sigmoid) {
          // −[t log σ(z) + (1 − t) log(1 − σ(z))] = softplus(z) − t·z
          for (std::size_t i = 0; i < n_out; ++i) {
            ell += softplus(z[i]) - double(targets(i, j)) * double(z[i]);
          }
        } else {
          // softmax: log y_i = z_i − lse,  log(1 − y_i) = lse_{m≠i} − lse
          const double lse = log_sum_exp(z, n_out);
          double* lse_without = column_scratch(n_out);
          log_sum_exp_excluding(z, n_out, lse_without);
          for (std::size_t i = 0; i < n_out; ++i) {
            const double t = targets(i, j);
            if (t > 0) ell -= t * (double(z[i]) - lse);
            if (t < 1) ell -= (1 - t) * (lse_without[i] - lse);
          }
        }
        break;
      case Loss::softmax_cross_entropy: {
        // log y read off the forward pass's y while y is a normal number (one log, no exps);
        // from the logits where y has underflowed: log softmax(z)_i = z_i − log Σ e^z,
        // log σ(z) = −softplus(−z).
        const T* y = Y.column(j);
        double lse = std::numeric_limits<double>::quiet_NaN();  // computed at most once
        const auto log_y = [&](std::size_t i) {
          if (y[i] >= std::numeric_limits<T>::min()) return std::log(double(y[i]));
          if (output == Activation::sigmoid) return -softplus(-double(z[i]));
          if (std::isnan(lse)) lse = log_sum_exp(z, n_out);
          return double(z[i]) - lse;
        };
        if (targets.has_labels()) {
          ell -= log_y(static_cast<std::size_t>(targets.labels[j]));
          break;
        }
        for (std::size_t i = 0; i < n_out; ++i) {
          const double t = targets(i, j);
          if (t == 0) continue;  // 0·log y is 0 even where y rounds to 0
          ell -= t * log_y(i);
        }
        break;
      }
    }
    total += w * ell;
  }
  return sample_weights != nullptr ? total : total / weight_total;
}

template <typename T>
void loss_backward(Loss loss, Activation output, ReadView<T> Z, ReadView<T> Y,
                   const Targets<T>& targets, MatrixView<T> dZ) {
  check_loss_supports(loss, output);
  const std::size_t n_out = Y.rows;
  const std::size_t n = Y.cols;
  if (loss == Loss::mse) {
    // The general path: dY = ∂/∂y ½‖y − t‖² = y − t, then dZ = dY ⊙ f'(Z).
    for (std::size_t j = 0; j < n; ++j) {
      const T* y = Y.column(j);
      T* d = dZ.column(j);
      for (std::size_t i = 0; i < n_out; ++i) d[i] = y[i] - targets(i, j);
    }
    activation_backward(output, Y, dZ);
    return;
  }
  for (std::size_t j = 0; j < n; ++j) {
    const T* z = Z.column(j);
    const T* y = Y.column(j);
    T* d = dZ.column(j);
    if (output == Activation::sigmoid && loss == Loss::binary_cross_entropy) {
      for (std::size_t i = 0; i < n_out; ++i) d[i] = y[i] - targets(i, j);
    } else if (output == Activation::sigmoid) {
      // −t log σ(z): dZ = −t·(1 − σ(z)) = −t·σ(−z), without dividing by a y that underflows
      for (std::size_t i = 0; i < n_out; ++i) d[i] = -targets(i, j) * sigmoid(-z[i]);
    } else if (loss == Loss::softmax_cross_entropy) {
      // −Σ t log softmax(z): dZ = y·(1ᵀt) − t, which is y − t for targets summing to one
      T mass = 0;
      for (std::size_t i = 0; i < n_out; ++i) mass += targets(i, j);
      for (std::size_t i = 0; i < n_out; ++i) d[i] = y[i] * mass - targets(i, j);
    } else {
      // softmax + binary cross-entropy, differentiated through the logits:
      //   dZ_i = y_i·(1ᵀt) − t_i + (1 − t_i)·y_i − Σ_{k≠i} (1 − t_k)·y_k·y_i/(1 − y_k)
      // with y_i/(1 − y_k) = exp(z_i − lse_{m≠k}) ≤ 1, so nothing divides by a vanishing 1 − y.
      const double lse = log_sum_exp(z, n_out);
      double* lse_without = column_scratch(n_out);
      log_sum_exp_excluding(z, n_out, lse_without);
      double mass = 0;
      for (std::size_t i = 0; i < n_out; ++i) mass += targets(i, j);
      for (std::size_t i = 0; i < n_out; ++i) {
        const double t = targets(i, j);
        const double yi = std::exp(double(z[i]) - lse);
        double coupling = 0;
        for (std::size_t k = 0; k < n_out; ++k) {
          const double tk = targets(k, j);
          if (k == i || tk >= 1) continue;
          coupling += (1 - tk) * std::exp(double(z[k]) - lse) * std::exp(double(z[i]) - lse_without[k]);
        }
        d[i] = static_cast<T>(yi * mass - t + (1 - t) * yi - coupling);
      }
    }
  }
}

#define BLASNET_INSTANTIATE(T)                                                            \
  template void check_targets<T>(Loss, const Targets<T>&, std::size_t, std::size_t);     \
  template double loss_value<T>(Loss, Activation, MatrixView<const T>, MatrixView<const T>, \
                                const Targets<T>&, const T*);                             \
  template void loss_backward<T>(Loss, Activation, MatrixView<const T>, MatrixView<const T>, \
                                 const Targets<T>&, MatrixView<T>);
BLASNET_INSTANTIATE(float)
BLASNET_INSTANTIATE(double)
#undef BLASNET_INSTANTIATE

}  // namespace blasnet
