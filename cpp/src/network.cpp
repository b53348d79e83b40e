#include "blasnet/network.hpp"

#include <stdexcept>
#include <string>
#include <unordered_set>

namespace blasnet {

namespace {

GraphSpec stack(std::size_t input_dim, const std::vector<DenseSpec>& layers) {
  if (input_dim == 0) throw std::invalid_argument("network: input_dim must be positive, got 0");
  if (layers.empty()) throw std::invalid_argument("network: needs at least one layer");
  GraphSpec spec = chain_spec(input_dim, layers);
  std::unordered_set<std::string> names;
  for (const NodeSpec& node : spec.nodes) {
    if (!names.insert(node.name).second) {
      throw std::invalid_argument("network: duplicate layer name '" + node.name + "'");
    }
  }
  return spec;
}

}  // namespace

template <typename T>
Network<T>::Network(std::size_t input_dim, const std::vector<DenseSpec>& layers,
                    std::uint64_t seed)
    : graph_(stack(input_dim, layers), seed) {}

template <typename T>
MatrixView<const T> Network<T>::forward(MatrixView<const T> X, Checks checks, Mode mode) {
  graph_.forward({&X, 1}, checks, mode);
  return graph_.output(0);
}

template <typename T>
double Network<T>::backward(MatrixView<const T> X, Loss loss, const Targets<T>& targets,
                            Checks checks) {
  graph_.set_loss(0, loss);
  return graph_.backward({{&X, 1}, {&targets, 1}}, checks);
}

template <typename T>
double Network<T>::sgd_step(MatrixView<const T> X, Loss loss, const Targets<T>& targets, T lr,
                            Checks checks) {
  graph_.set_loss(0, loss);
  return graph_.sgd_step({{&X, 1}, {&targets, 1}}, lr, checks);
}

template <typename T>
void Network<T>::check_input(MatrixView<const T> X) const {
  graph_.check_inputs({&X, 1});
}

template <typename T>
void Network<T>::check_trainable(Loss loss, const Targets<T>& targets, std::size_t n) {
  graph_.set_loss(0, loss);
  graph_.check_trainable({&targets, 1}, n);
}

template <typename T>
void Network<T>::check_batch(MatrixView<const T> X, Loss loss, const Targets<T>& targets) {
  check_input(X);
  check_trainable(loss, targets, X.cols);
}

template class Network<float>;
template class Network<double>;

}  // namespace blasnet
