#pragma once
// The classical stack of the note's Figure 3 — dense layers one after another — as the thin
// case of a Graph it is: one input, a chain of nodes, one output whose loss each call names.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "blasnet/graph.hpp"
#include "blasnet/layer.hpp"
#include "blasnet/losses.hpp"
#include "blasnet/matrix.hpp"

namespace blasnet {

// The graph of a Network over input_dim features: chain_spec's stack, its output's loss mse
// until a call sets one. Throws std::invalid_argument for no layer, an input_dim of 0 or a
// layer name used twice.
GraphSpec network_spec(std::size_t input_dim, const std::vector<DenseSpec>& layers);

template <typename T>
class Network {
 public:
  // A stack of dense layers over input_dim inputs, initialised from seed (Glorot uniform,
  // He uniform for relu layers; zero biases). Throws std::invalid_argument for non-positive
  // sizes, no layers, or duplicate layer names.
  Network(std::size_t input_dim, const std::vector<DenseSpec>& layers, std::uint64_t seed);
  // The network a chain graph is (load_network reads one back this way): one input, each node
  // reading only the one before it (the first only the input), no shared weights, and one
  // output, on the last node, of weight 1 with no target input. Throws std::invalid_argument
  // naming what differs.
  explicit Network(Graph<T>&& graph);

  std::size_t input_dim() const { return graph_.plan().inputs[0].dim; }
  std::size_t output_dim() const { return graph_.plan().nodes.back().units; }
  std::size_t layer_count() const { return graph_.node_count(); }
  const Dense<T>& layer(std::size_t i) const { return graph_.node(i); }

  Span<T> parameters() { return graph_.parameters(); }
  Span<const T> parameters() const { return graph_.parameters(); }
  Span<T> gradients() { return graph_.gradients(); }
  Span<const T> gradients() const { return graph_.gradients(); }
  const std::vector<ParameterInfo>& parameter_info() const { return graph_.parameter_info(); }

  // The graph this network is; training loops run on it.
  Graph<T>& graph() { return graph_; }
  const Graph<T>& graph() const { return graph_; }

  // X (input_dim × n) -> Y (output_dim × n). The view points into the network's workspace
  // and stays valid until the next forward or backward.
  // Throws std::invalid_argument for a wrong number of rows, an empty batch, NaN or Inf.
  MatrixView<const T> forward(MatrixView<const T> X, Checks checks = Checks::on,
                              Mode mode = Mode::inference);

  // X (input_dim × n) -> Y (output_dim × n, the caller's), the inference pass of forward with
  // the hidden activations in scratch: the network is not modified, so threads may predict on
  // one network at once, each with its own scratch, while nobody trains it or writes its
  // parameters (forward, backward and the training calls need the network to themselves).
  // Allocates nothing once scratch has grown to the batch. Throws as forward does, and for a
  // Y of the wrong shape.
  void predict(MatrixView<const T> X, MatrixView<T> Y, InferenceScratch<T>& scratch,
               Checks checks = Checks::on) const;

  // Forward and backward on one batch: returns J and fills the gradient buffer with ∇J.
  // Throws std::invalid_argument for bad X or targets, a loss the output unit cannot feed, or
  // a layer without a gradient (step).
  double backward(MatrixView<const T> X, Loss loss, const Targets<T>& targets,
                  Checks checks = Checks::on);

  // One step of plain gradient descent Θ ← Θ − α·∇J on one batch, eq. (9) folded into the
  // update (see Dense::sgd_update): the weight gradients are never formed.
  // Returns J before the step; throws as backward does, before changing anything.
  double sgd_step(MatrixView<const T> X, Loss loss, const Targets<T>& targets, T lr,
                  Checks checks = Checks::on);

  // The checks forward and backward make, on their own; check_batch is both, and also sets
  // the output's loss.
  void check_input(MatrixView<const T> X) const;
  void check_trainable(Loss loss, const Targets<T>& targets, std::size_t n);
  void check_batch(MatrixView<const T> X, Loss loss, const Targets<T>& targets);

 private:
  Graph<T> graph_;
};

}  // namespace blasnet
