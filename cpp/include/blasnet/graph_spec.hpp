#pragma once
// What a user declares: a loop-free network of named inputs and dense nodes, and the costs at
// its outputs. The note: "we can design arbitrary structures as long as no loop exists".

#include <cstddef>
#include <string>
#include <vector>

#include "blasnet/activations.hpp"
#include "blasnet/layer.hpp"
#include "blasnet/losses.hpp"

namespace blasnet {

// A data input of dim features per sample.
struct InputSpec {
  std::string name;
  std::size_t dim = 0;
};

// A dense node y = f(W·[x_1; …; x_k] + b) over the concatenation of the named inputs or nodes.
// share names a node whose parameters this one uses: W and b as they are (a recurrent cell
// applied at every step), or, with transpose, Wᵀ and a bias of its own (a tied decoder).
// dropout is the probability that a training pass zeroes each of its outputs (inverted
// dropout: the kept ones are scaled by 1/(1 − dropout)); inference passes never drop.
struct NodeSpec {
  std::string name;
  std::vector<std::string> inputs;
  std::size_t units = 0;
  Activation activation = Activation::identity;
  std::string share;
  bool transpose = false;
  double dropout = 0;
};

// A cost J_i on a node's output, weighted into J = Σ_i weight_i·J_i. Its targets come with each
// batch, or, when target names an input, from that input (an autoencoder's reconstruction).
struct OutputSpec {
  std::string node;
  Loss loss = Loss::mse;
  double weight = 1.0;
  std::string target;
};

struct GraphSpec {
  std::vector<InputSpec> inputs;
  std::vector<NodeSpec> nodes;
  std::vector<OutputSpec> outputs;
};

// Whether two specs declare the same graph, field by field.
inline bool operator==(const InputSpec& a, const InputSpec& b) {
  return a.name == b.name && a.dim == b.dim;
}
inline bool operator==(const NodeSpec& a, const NodeSpec& b) {
  return a.name == b.name && a.inputs == b.inputs && a.units == b.units &&
         a.activation == b.activation && a.share == b.share && a.transpose == b.transpose &&
         a.dropout == b.dropout;
}
inline bool operator==(const OutputSpec& a, const OutputSpec& b) {
  return a.node == b.node && a.loss == b.loss && a.weight == b.weight && a.target == b.target;
}
inline bool operator==(const GraphSpec& a, const GraphSpec& b) {
  return a.inputs == b.inputs && a.nodes == b.nodes && a.outputs == b.outputs;
}

// The classical stack of the note's Figure 3 as a graph: input "x", layers in order (unnamed
// ones named by their index), one output on the last layer with the given loss.
GraphSpec chain_spec(std::size_t input_dim, const std::vector<DenseSpec>& layers,
                     Loss loss = Loss::mse);

}  // namespace blasnet
