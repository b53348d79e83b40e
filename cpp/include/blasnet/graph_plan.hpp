#pragma once
// A GraphSpec checked and resolved: nodes in topological order, every reference an index,
// tied weights traced to the node that owns them, and the flat parameter layout. Nothing here
// depends on the element type; a Graph<T> executes a plan.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "blasnet/graph_spec.hpp"

namespace blasnet {

// Where one parameter lives in the flat buffers: a weight matrix (rows = n_out, cols = n_in,
// row-major) or a bias vector (cols = 0).
struct ParameterInfo {
  std::string name;  // "<node>.W" or "<node>.b"
  std::size_t offset = 0;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t size() const { return cols == 0 ? rows : rows * cols; }
};

// One block of a node's input: a graph input or the output of an earlier node.
struct PlannedSource {
  bool is_input = false;
  std::size_t index = 0;  // into GraphPlan::inputs or GraphPlan::nodes
  std::size_t dim = 0;
  // Whether this block's dX is the first to reach its source node in the backward pass
  // (written, not added): later ones accumulate, so fan-out sums dJ/dy.
  bool first_gradient = false;
};

struct PlannedNode {
  std::string name;
  std::vector<PlannedSource> sources;
  std::size_t units = 0;
  Activation activation = Activation::identity;

  // Offsets into the flat buffers of the W and b this node uses, its own or shared.
  std::size_t weight_offset = 0;
  std::size_t bias_offset = 0;
  bool transposed = false;  // uses another node's W transposed
  double dropout = 0;
  // Whether this node is the first, in backward order, to write the gradient of its W / b;
  // later users of a shared block add theirs.
  bool first_weight_gradient = true;
  bool first_bias_gradient = true;

  bool has_consumers = false;        // some later node reads its output
  std::optional<std::size_t> output;  // index into GraphPlan::outputs

  std::size_t n_in() const;
  std::vector<std::size_t> input_dims() const;
};

struct PlannedOutput {
  std::size_t node = 0;  // index into GraphPlan::nodes
  Loss loss = Loss::mse;
  double weight = 1.0;
  std::optional<std::size_t> target_input;  // index into GraphPlan::inputs
};

struct GraphPlan {
  GraphSpec spec;  // as declared, what a model file records
  std::vector<InputSpec> inputs;
  std::vector<PlannedNode> nodes;  // topological order
  std::vector<PlannedOutput> outputs;
  std::vector<ParameterInfo> parameters;  // declaration order
  std::size_t parameter_count = 0;
  bool shares_parameters = false;

  // Checks spec and resolves it. Throws std::invalid_argument naming the problem: no input,
  // node or output; an empty, unknown or duplicate name; a size of 0; a cycle (listing its
  // nodes); a shared weight whose shape does not fit; a node that reaches no output; an input
  // nothing reads; a dropout rate outside [0, 1) or on an output; an output twice on one node,
  // with a loss its unit cannot feed, a weight that is not positive, or a target input of the
  // wrong width. Throws std::overflow_error, naming the node, if a node's input width, its
  // weight count or the graph's parameter count does not fit in a size_t.
  static GraphPlan build(const GraphSpec& spec);

  std::optional<std::size_t> find_input(const std::string& name) const;
  std::optional<std::size_t> find_node(const std::string& name) const;
};

}  // namespace blasnet
