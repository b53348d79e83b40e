#include "blasnet/network.hpp"

#include <stdexcept>
#include <string>
#include <unordered_set>

namespace blasnet {

GraphSpec network_spec(std::size_t input_dim, const std::vector<DenseSpec>& layers) {
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

namespace {

// Passes a graph through unless it is not a chain (see Network(Graph&&)).
template <typename T>
Graph<T>&& chain(Graph<T>&& graph) {
  const GraphPlan& plan = graph.plan();
  auto fail = [](const std::string& why) {
    throw std::invalid_argument("network: a graph is a network only as a chain: " + why);
  };
  if (plan.inputs.size() != 1) fail(std::to_string(plan.inputs.size()) + " inputs, not 1");
  if (plan.shares_parameters) fail("it shares weights");
  for (std::size_t k = 0; k < plan.nodes.size(); ++k) {
    const std::vector<PlannedSource>& sources = plan.nodes[k].sources;
    const bool reads_previous = sources.size() == 1 && sources[0].is_input == (k == 0) &&
                                sources[0].index == (k == 0 ? 0 : k - 1);
    if (!reads_previous) {
      fail("node '" + plan.nodes[k].name + "' does not read only " +
           (k == 0 ? "the input" : "node '" + plan.nodes[k - 1].name + "'"));
    }
  }
  if (plan.outputs.size() != 1) fail(std::to_string(plan.outputs.size()) + " outputs, not 1");
  const PlannedOutput& out = plan.outputs[0];
  if (out.weight != 1.0 || out.target_input) {
    fail("its output has a weight other than 1 or a target input");
  }
  return std::move(graph);
}

}  // namespace

template <typename T>
Network<T>::Network(std::size_t input_dim, const std::vector<DenseSpec>& layers,
                    std::uint64_t seed)
    : graph_(network_spec(input_dim, layers), seed) {}

template <typename T>
Network<T>::Network(Graph<T>&& graph) : graph_(chain(std::move(graph))) {}

template <typename T>
MatrixView<const T> Network<T>::forward(MatrixView<const T> X, Checks checks, Mode mode) {
  graph_.forward({&X, 1}, checks, mode);
  return graph_.output(0);
}

template <typename T>
void Network<T>::predict(MatrixView<const T> X, MatrixView<T> Y, InferenceScratch<T>& scratch,
                         Checks checks) const {
  graph_.predict({&X, 1}, {&Y, 1}, scratch, checks);
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
