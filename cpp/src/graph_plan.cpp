#include "blasnet/graph_plan.hpp"

#include "blasnet/checked_size.hpp"

#include <cmath>
#include <functional>
#include <numeric>
#include <queue>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace blasnet {
namespace {

[[noreturn]] void fail(const std::string& message) {
  throw std::invalid_argument("graph: " + message);
}

std::string shape(std::size_t rows, std::size_t cols) {
  return "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")";
}

// A name's meaning: a graph input or a node, by its index in the spec.
struct Named {
  bool is_input;
  std::size_t index;
};

std::unordered_map<std::string, Named> index_names(const GraphSpec& spec) {
  std::unordered_map<std::string, Named> names;
  auto add = [&](const std::string& name, Named what, const char* kind) {
    if (name.empty()) fail(std::string("an ") + kind + " needs a name");
    if (!names.emplace(name, what).second) fail("duplicate name '" + name + "'");
  };
  for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
    add(spec.inputs[i].name, {true, i}, "input");
    if (spec.inputs[i].dim == 0) fail("input '" + spec.inputs[i].name + "' has 0 features");
  }
  for (std::size_t k = 0; k < spec.nodes.size(); ++k) add(spec.nodes[k].name, {false, k}, "node");
  return names;
}

// Node k's input blocks, resolved; a node reading a node gives an edge of the data flow.
std::vector<std::vector<Named>> resolve_sources(const GraphSpec& spec,
                                                const std::unordered_map<std::string, Named>& names) {
  std::vector<std::vector<Named>> sources(spec.nodes.size());
  for (std::size_t k = 0; k < spec.nodes.size(); ++k) {
    const NodeSpec& node = spec.nodes[k];
    if (node.units == 0) fail("node '" + node.name + "' has 0 units; sizes must be positive");
    if (!(node.dropout >= 0 && node.dropout < 1)) {
      std::ostringstream rate;
      rate << node.dropout;
      fail("node '" + node.name + "' has dropout " + rate.str() + "; it must be in [0, 1)");
    }
    if (node.inputs.empty()) fail("node '" + node.name + "' reads nothing; give it an input");
    for (const std::string& from : node.inputs) {
      const auto it = names.find(from);
      if (it == names.end()) {
        fail("node '" + node.name + "' reads '" + from + "', which is neither an input nor a node");
      }
      sources[k].push_back(it->second);
    }
  }
  return sources;
}

// Kahn's algorithm, taking ready nodes in declaration order so that a chain keeps its order.
// On a cycle, names one: "a -> b -> a".
std::vector<std::size_t> topological_order(const GraphSpec& spec,
                                            const std::vector<std::vector<Named>>& sources) {
  const std::size_t n = spec.nodes.size();
  std::vector<std::size_t> pending(n, 0);
  std::vector<std::vector<std::size_t>> readers(n);
  for (std::size_t k = 0; k < n; ++k) {
    for (const Named& s : sources[k]) {
      if (s.is_input) continue;
      ++pending[k];
      readers[s.index].push_back(k);
    }
  }
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t k = 0; k < n; ++k) {
    if (pending[k] == 0) ready.push(k);
  }
  std::vector<std::size_t> order;
  while (!ready.empty()) {
    const std::size_t k = ready.top();
    ready.pop();
    order.push_back(k);
    for (std::size_t r : readers[k]) {
      if (--pending[r] == 0) ready.push(r);
    }
  }
  if (order.size() == n) return order;

  // Every node left waits on another node left: walk back along such sources until one repeats.
  std::size_t k = 0;
  while (pending[k] == 0) ++k;
  std::vector<std::size_t> path;
  std::unordered_map<std::size_t, std::size_t> position;
  while (position.emplace(k, path.size()).second) {
    path.push_back(k);
    for (const Named& s : sources[k]) {
      if (!s.is_input && pending[s.index] != 0) {
        k = s.index;
        break;
      }
    }
  }
  // path[position[k]..] is the cycle, each node reading the next: print it in data-flow order.
  std::string cycle;
  for (std::size_t i = path.size(); i-- > position[k];) cycle += spec.nodes[path[i]].name + " -> ";
  fail("the nodes form a cycle, " + cycle + spec.nodes[path.back()].name +
       "; a feed-forward graph must have no loop");
}

// The node whose W node k uses, and whether k uses it transposed; likewise for b (a node
// sharing transposed keeps a bias of its own).
struct Sharing {
  std::size_t weight_owner;
  bool transposed;
  std::size_t bias_owner;
};

std::vector<Sharing> resolve_sharing(const GraphSpec& spec,
                                     const std::unordered_map<std::string, Named>& names) {
  const std::size_t n = spec.nodes.size();
  std::vector<std::ptrdiff_t> shares(n, -1);
  for (std::size_t k = 0; k < n; ++k) {
    const NodeSpec& node = spec.nodes[k];
    if (node.share.empty()) {
      if (node.transpose) fail("node '" + node.name + "' asks for transpose without share");
      continue;
    }
    const auto it = names.find(node.share);
    if (it == names.end() || it->second.is_input) {
      fail("node '" + node.name + "' shares the weights of '" + node.share +
           "', which is not a node");
    }
    if (it->second.index == k) fail("node '" + node.name + "' shares its own weights");
    shares[k] = static_cast<std::ptrdiff_t>(it->second.index);
  }
  // Each node's resolution is its share's, composed with its own step, so the chains are
  // followed once each (a file may declare thousands of nodes): resolve along a path until a
  // resolved node or an owner, then assign back.
  std::vector<Sharing> out(n);
  enum class State { unresolved, on_path, resolved };
  std::vector<State> state(n, State::unresolved);
  std::vector<std::size_t> path;
  for (std::size_t k = 0; k < n; ++k) {
    path.clear();
    std::size_t at = k;
    while (state[at] == State::unresolved && shares[at] >= 0) {
      state[at] = State::on_path;
      path.push_back(at);
      at = static_cast<std::size_t>(shares[at]);
    }
    if (state[at] == State::on_path) {
      fail("node '" + spec.nodes[at].name + "' is part of a cycle of shares");
    }
    if (state[at] == State::unresolved) {  // an owner
      out[at] = Sharing{at, false, at};
      state[at] = State::resolved;
    }
    for (std::size_t i = path.size(); i-- > 0;) {
      const std::size_t node = path[i];
      const Sharing& next = out[static_cast<std::size_t>(shares[node])];
      const bool transpose = spec.nodes[node].transpose;
      // A transposed share keeps its own bias; a plain one takes its share's.
      out[node] = Sharing{next.weight_owner, next.transposed != transpose,
                          transpose ? node : next.bias_owner};
      state[node] = State::resolved;
    }
  }
  return out;
}

// The width of node k's concatenated input.
std::size_t width(std::size_t k, const std::vector<Named>& sources, const GraphSpec& spec) {
  std::size_t total = 0;
  for (const Named& s : sources) {
    total = checked_add(total, s.is_input ? spec.inputs[s.index].dim : spec.nodes[s.index].units,
                        [&] { return "graph: the inputs of node '" + spec.nodes[k].name + "'"; });
  }
  return total;
}

}  // namespace

std::size_t PlannedNode::n_in() const {
  std::size_t total = 0;
  for (const PlannedSource& s : sources) total += s.dim;
  return total;
}

std::vector<std::size_t> PlannedNode::input_dims() const {
  std::vector<std::size_t> dims;
  for (const PlannedSource& s : sources) dims.push_back(s.dim);
  return dims;
}

std::optional<std::size_t> GraphPlan::find_input(const std::string& name) const {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].name == name) return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> GraphPlan::find_node(const std::string& name) const {
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    if (nodes[k].name == name) return k;
  }
  return std::nullopt;
}

GraphPlan GraphPlan::build(const GraphSpec& spec) {
  if (spec.inputs.empty()) fail("needs at least one input");
  if (spec.nodes.empty()) fail("needs at least one node");
  if (spec.outputs.empty()) fail("needs at least one output: declare which nodes carry a cost");

  const auto names = index_names(spec);
  const auto sources = resolve_sources(spec, names);
  const std::vector<std::size_t> order = topological_order(spec, sources);
  const std::vector<Sharing> sharing = resolve_sharing(spec, names);

  GraphPlan plan;
  plan.spec = spec;
  plan.inputs = spec.inputs;

  // Shapes of shared weights, and the parameter layout in declaration order.
  std::vector<std::size_t> n_in(spec.nodes.size());
  for (std::size_t k = 0; k < spec.nodes.size(); ++k) n_in[k] = width(k, sources[k], spec);
  std::vector<std::size_t> weight_offset(spec.nodes.size()), bias_offset(spec.nodes.size());
  for (std::size_t k = 0; k < spec.nodes.size(); ++k) {
    const NodeSpec& node = spec.nodes[k];
    const Sharing& s = sharing[k];
    const std::size_t owner_rows = spec.nodes[s.weight_owner].units;
    const std::size_t owner_cols = n_in[s.weight_owner];
    const std::size_t rows = s.transposed ? owner_cols : owner_rows;
    const std::size_t cols = s.transposed ? owner_rows : owner_cols;
    if (rows != node.units || cols != n_in[k]) {
      fail("node '" + node.name + "' shares the weights of '" + spec.nodes[s.weight_owner].name +
           "'" + (s.transposed ? " transposed" : "") + ": it needs W of shape " +
           shape(node.units, n_in[k]) + ", but " + spec.nodes[s.weight_owner].name + ".W" +
           (s.transposed ? "ᵀ" : "") + " is " + shape(rows, cols));
    }
    // Every offset and size of the flat buffers below is then a checked count.
    const auto total = [&] { return "graph: the parameter count up to node '" + node.name + "'"; };
    if (node.share.empty()) {
      const std::size_t weights = checked_mul(node.units, n_in[k], [&] {
        return "graph: the weights of node '" + node.name + "' (" + std::to_string(node.units) +
               " units over " + std::to_string(n_in[k]) + " inputs)";
      });
      weight_offset[k] = plan.parameter_count;
      plan.parameters.push_back({node.name + ".W", plan.parameter_count, node.units, n_in[k]});
      plan.parameter_count = checked_add(plan.parameter_count, weights, total);
    }
    if (node.share.empty() || node.transpose) {
      bias_offset[k] = plan.parameter_count;
      plan.parameters.push_back({node.name + ".b", plan.parameter_count, node.units, 0});
      plan.parameter_count = checked_add(plan.parameter_count, node.units, total);
    } else {
      plan.shares_parameters = true;
    }
    if (node.transpose) plan.shares_parameters = true;
  }

  std::vector<std::size_t> topo_index(spec.nodes.size());
  for (std::size_t t = 0; t < order.size(); ++t) topo_index[order[t]] = t;
  for (std::size_t k : order) {
    const NodeSpec& node = spec.nodes[k];
    PlannedNode planned;
    planned.name = node.name;
    planned.units = node.units;
    planned.activation = node.activation;
    planned.weight_offset = weight_offset[sharing[k].weight_owner];
    planned.bias_offset = bias_offset[sharing[k].bias_owner];
    planned.transposed = sharing[k].transposed;
    planned.dropout = node.dropout;
    for (const Named& s : sources[k]) {
      planned.sources.push_back(
          s.is_input ? PlannedSource{true, s.index, spec.inputs[s.index].dim, false}
                     : PlannedSource{false, topo_index[s.index], spec.nodes[s.index].units, false});
    }
    plan.nodes.push_back(std::move(planned));
  }

  for (const OutputSpec& out : spec.outputs) {
    const auto it = names.find(out.node);
    if (it == names.end()) fail("output '" + out.node + "' names no node");
    if (it->second.is_input) fail("output '" + out.node + "' is an input, not a node");
    const std::size_t k = topo_index[it->second.index];
    PlannedNode& node = plan.nodes[k];
    if (node.output) fail("node '" + out.node + "' is an output twice");
    if (node.dropout > 0) {
      fail("node '" + out.node + "' is an output and has dropout; dropout belongs on hidden nodes");
    }
    // A step output has no gradient at all: training says so, forward works.
    try {
      if (is_differentiable(node.activation)) check_loss_supports(out.loss, node.activation);
    } catch (const std::invalid_argument& e) {
      fail("output '" + out.node + "': " + e.what());
    }
    if (!(std::isfinite(out.weight) && out.weight > 0)) {
      std::ostringstream weight;
      weight << out.weight;
      fail("output '" + out.node + "' has weight " + weight.str() +
           "; weights must be positive and finite");
    }
    PlannedOutput planned{k, out.loss, out.weight, std::nullopt};
    if (!out.target.empty()) {
      const auto target = names.find(out.target);
      if (target == names.end() || !target->second.is_input) {
        fail("output '" + out.node + "' takes its target from '" + out.target +
             "', which is not an input");
      }
      const std::size_t dim = spec.inputs[target->second.index].dim;
      if (dim != node.units) {
        fail("output '" + out.node + "' has " + std::to_string(node.units) +
             " units but its target input '" + out.target + "' has " + std::to_string(dim) +
             " features");
      }
      planned.target_input = target->second.index;
    }
    node.output = plan.outputs.size();
    plan.outputs.push_back(planned);
  }

  // Backward order is reverse topological order: the first block to reach a node's delta, or
  // a shared parameter's gradient, writes it; later ones add to it.
  std::vector<bool> reaches_output(plan.nodes.size(), false);
  std::vector<bool> input_read(plan.inputs.size(), false);
  std::unordered_set<std::size_t> weights_seen, biases_seen;
  for (std::size_t t = plan.nodes.size(); t-- > 0;) {
    PlannedNode& node = plan.nodes[t];
    if (node.output) reaches_output[t] = true;
    if (!reaches_output[t]) {
      fail("node '" + node.name + "' feeds no output; declare it an output or remove it");
    }
    node.first_weight_gradient = weights_seen.insert(node.weight_offset).second;
    node.first_bias_gradient = biases_seen.insert(node.bias_offset).second;
    for (PlannedSource& s : node.sources) {
      if (s.is_input) {
        input_read[s.index] = true;
        continue;
      }
      PlannedNode& source = plan.nodes[s.index];
      s.first_gradient = !source.has_consumers;
      source.has_consumers = true;
      reaches_output[s.index] = true;
    }
  }
  for (const PlannedOutput& out : plan.outputs) {
    if (out.target_input) input_read[*out.target_input] = true;
  }
  for (std::size_t i = 0; i < plan.inputs.size(); ++i) {
    if (!input_read[i]) fail("input '" + plan.inputs[i].name + "' is not used by any node");
  }
  return plan;
}

GraphSpec chain_spec(std::size_t input_dim, const std::vector<DenseSpec>& layers, Loss loss) {
  GraphSpec spec;
  std::unordered_set<std::string> names;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    spec.nodes.push_back({layers[k].name.empty() ? std::to_string(k) : layers[k].name,
                          {},
                          layers[k].units,
                          layers[k].activation,
                          "",
                          false,
                          layers[k].dropout});
    names.insert(spec.nodes.back().name);
  }
  // The input's name is "x" unless a layer has taken it.
  std::string previous = "x";
  while (names.count(previous) != 0) previous += "_";
  spec.inputs.push_back({previous, input_dim});
  for (NodeSpec& node : spec.nodes) {
    node.inputs = {previous};
    previous = node.name;
  }
  if (!layers.empty()) spec.outputs.push_back({previous, loss, 1.0, ""});
  return spec;
}

}  // namespace blasnet
