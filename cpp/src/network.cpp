#include "blasnet/network.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <unordered_set>

#include "blasnet/initializers.hpp"
#include "blasnet/random.hpp"

namespace blasnet {

namespace {

// The exponent bits of a float type, all ones exactly for NaN and ±Inf.
template <typename T>
struct ExponentBits;
template <>
struct ExponentBits<float> {
  using Bits = std::uint32_t;
  static constexpr Bits mask = 0x7f800000u;
};
template <>
struct ExponentBits<double> {
  using Bits = std::uint64_t;
  static constexpr Bits mask = 0x7ff0000000000000ull;
};

// Whether a column holds NaN or ±Inf, from integer operations only, so the scan vectorizes.
template <typename T>
bool column_not_finite(const T* x, std::size_t n) {
  using Bits = typename ExponentBits<T>::Bits;
  constexpr Bits mask = ExponentBits<T>::mask;
  Bits worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    Bits bits;
    std::memcpy(&bits, &x[i], sizeof bits);
    worst |= static_cast<Bits>((bits & mask) == mask);
  }
  return worst != 0;
}

}  // namespace

template <typename T>
void check_finite(MatrixView<const T> X, const char* what) {
  for (std::size_t j = 0; j < X.cols; ++j) {
    const T* x = X.column(j);
    if (!column_not_finite(x, X.rows)) continue;
    for (std::size_t i = 0; i < X.rows; ++i) {
      if (!std::isfinite(x[i])) {
        throw std::invalid_argument(std::string(what) + " contain NaN or Inf (sample " +
                                    std::to_string(j) + ", feature " + std::to_string(i) + ")");
      }
    }
  }
}

template <typename T>
Network<T>::Network(std::size_t input_dim, const std::vector<DenseSpec>& layers,
                    std::uint64_t seed)
    : input_dim_(input_dim) {
  if (input_dim == 0) throw std::invalid_argument("network: input_dim must be positive, got 0");
  if (layers.empty()) throw std::invalid_argument("network: needs at least one layer");

  std::unordered_set<std::string> names;
  std::size_t n_in = input_dim;
  std::size_t total = 0;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const DenseSpec& spec = layers[k];
    std::string name = spec.name.empty() ? std::to_string(k) : spec.name;
    if (!names.insert(name).second) {
      throw std::invalid_argument("network: duplicate layer name '" + name + "'");
    }
    if (spec.units == 0) {
      throw std::invalid_argument("network: layer '" + name + "' has 0 units; sizes must be positive");
    }
    info_.push_back({name + ".W", total, spec.units, n_in});
    info_.push_back({name + ".b", total + spec.units * n_in, spec.units, 0});
    total += spec.units * n_in + spec.units;
    nodes_.push_back({Dense<T>(n_in, spec.units, spec.activation, std::move(name)),
                      static_cast<std::ptrdiff_t>(k) - 1});
    n_in = spec.units;
  }

  // Allocated once: the layers' views stay valid for the network's lifetime.
  params_.assign(total, T(0));
  grads_.assign(total, T(0));
  Rng rng(seed);
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    Dense<T>& layer = nodes_[k].layer;
    const ParameterInfo& W = info_[2 * k];
    const ParameterInfo& b = info_[2 * k + 1];
    layer.bind(&params_[W.offset], &params_[b.offset], &grads_[W.offset], &grads_[b.offset]);
    initialize_weights(default_init(layer.activation()), Span<T>{&params_[W.offset], W.size()},
                       layer.n_in(), layer.n_out(), rng);
  }
  work_.resize(nodes_.size());
}

template <typename T>
void Network<T>::reserve(std::size_t n) {
  if (n <= capacity_) return;
  const std::size_t last = nodes_.size() - 1;
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    const std::size_t size = nodes_[k].layer.n_out() * n;
    Workspace& w = work_[k];
    w.Z.resize(size);
    if (k == last && nodes_[k].layer.activation() != Activation::identity) w.Y.resize(size);
    w.dY.resize(size);
  }
  capacity_ = n;
}

template <typename T>
MatrixView<T> Network<T>::z_of(std::size_t k, std::size_t n) {
  return {work_[k].Z.data(), nodes_[k].layer.n_out(), n};
}

template <typename T>
MatrixView<T> Network<T>::y_of(std::size_t k, std::size_t n) {
  std::vector<T>& y = work_[k].Y.empty() ? work_[k].Z : work_[k].Y;
  return {y.data(), nodes_[k].layer.n_out(), n};
}

template <typename T>
MatrixView<T> Network<T>::dy_of(std::size_t k, std::size_t n) {
  return {work_[k].dY.data(), nodes_[k].layer.n_out(), n};
}

template <typename T>
MatrixView<const T> Network<T>::input_of(std::size_t k, MatrixView<const T> X, std::size_t n) {
  const std::ptrdiff_t from = nodes_[k].input;
  return from < 0 ? X : MatrixView<const T>(y_of(static_cast<std::size_t>(from), n));
}

template <typename T>
void Network<T>::check_input(MatrixView<const T> X) const {
  if (X.rows != input_dim_) {
    throw std::invalid_argument("input has " + std::to_string(X.rows) +
                                " features per sample, the network expects " +
                                std::to_string(input_dim_));
  }
  if (X.cols == 0) throw std::invalid_argument("empty batch: the input has no samples");
  check_finite(X, "inputs");
}

template <typename T>
void Network<T>::check_trainable(Loss loss, const Targets<T>& targets, std::size_t n) const {
  for (const Node& node : nodes_) {
    if (!is_differentiable(node.layer.activation())) {
      throw std::invalid_argument("layer '" + node.layer.name() + "' uses activation '" +
                                  std::string(activation_name(node.layer.activation())) +
                                  "', which has no gradient; it cannot be trained by "
                                  "backpropagation");
    }
  }
  check_loss_supports(loss, nodes_.back().layer.activation());
  check_targets(loss, targets, output_dim(), n);
}

template <typename T>
void Network<T>::check_batch(MatrixView<const T> X, Loss loss, const Targets<T>& targets) const {
  check_input(X);
  check_trainable(loss, targets, X.cols);
}

template <typename T>
MatrixView<const T> Network<T>::forward(MatrixView<const T> X, Checks checks) {
  if (checks == Checks::on) check_input(X);
  const std::size_t n = X.cols;
  reserve(n);
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    nodes_[k].layer.forward(input_of(k, X, n), z_of(k, n), y_of(k, n));
  }
  return y_of(nodes_.size() - 1, n);
}

template <typename T>
double Network<T>::backward(MatrixView<const T> X, Loss loss, const Targets<T>& targets,
                            Checks checks) {
  if (checks == Checks::on) check_batch(X, loss, targets);
  return backward_pass(X, loss, targets, nullptr);
}

template <typename T>
double Network<T>::sgd_step(MatrixView<const T> X, Loss loss, const Targets<T>& targets, T lr,
                            Checks checks) {
  if (checks == Checks::on) check_batch(X, loss, targets);
  return backward_pass(X, loss, targets, &lr);
}

template <typename T>
double Network<T>::backward_pass(MatrixView<const T> X, Loss loss, const Targets<T>& targets,
                                 const T* sgd_lr) {
  const std::size_t n = X.cols;
  forward(X, Checks::off);
  const std::size_t last = nodes_.size() - 1;
  const Activation out = nodes_[last].layer.activation();
  const double J = loss_value<T>(loss, out, z_of(last, n), y_of(last, n), targets);
  loss_backward<T>(loss, out, z_of(last, n), y_of(last, n), targets, dy_of(last, n));

  for (std::size_t k = nodes_.size(); k-- > 0;) {
    const Node& node = nodes_[k];
    const MatrixView<const T> input = input_of(k, X, n);
    MatrixView<T> dY = dy_of(k, n);
    // The first layer's dX would be the gradient of the data: skip that gemm.
    MatrixView<T> dX;
    MatrixView<T>* dX_or_null = nullptr;
    if (node.input >= 0) {
      dX = dy_of(static_cast<std::size_t>(node.input), n);
      dX_or_null = &dX;
    }
    if (sgd_lr != nullptr) {
      node.layer.sgd_backward(input, y_of(k, n), dY, k == last, dX_or_null, *sgd_lr);
    } else {
      if (k == last) {
        node.layer.bias_backward(dY, false);
      } else {
        node.layer.activation_and_bias_backward(y_of(k, n), dY, false);
      }
      node.layer.product_backward(input, dY, dX_or_null, false);
    }
  }
  return J;
}

template class Network<float>;
template class Network<double>;
template void check_finite<float>(MatrixView<const float>, const char*);
template void check_finite<double>(MatrixView<const double>, const char*);

}  // namespace blasnet
