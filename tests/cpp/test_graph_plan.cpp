// graph_plan.hpp and graph_spec.hpp: GraphPlan::build orders the nodes, resolves every name to
// an index and every tied weight to its owner, lays out the flat buffers, and refuses each kind
// of bad spec with a message that names the problem; chain_spec spells the classical stack.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "blasnet/graph_plan.hpp"
#include "blasnet/graph_spec.hpp"

namespace {

using blasnet::Activation;
using blasnet::DenseSpec;
using blasnet::GraphPlan;
using blasnet::GraphSpec;
using blasnet::Loss;
using blasnet::NodeSpec;
using blasnet::OutputSpec;

NodeSpec node(std::string name, std::vector<std::string> inputs, std::size_t units,
              Activation activation = Activation::tanh, std::string share = "",
              bool transpose = false) {
  return {std::move(name), std::move(inputs), units, activation, std::move(share), transpose};
}

OutputSpec output(std::string name, Loss loss = Loss::mse, double weight = 1.0,
                  std::string target = "") {
  return {std::move(name), loss, weight, std::move(target)};
}

// x (3) -> h (4, tanh) -> y (2, sigmoid), mse on y: valid, and the base most error cases break.
GraphSpec small() {
  GraphSpec spec;
  spec.inputs = {{"x", 3}};
  spec.nodes = {node("h", {"x"}, 4), node("y", {"h"}, 2, Activation::sigmoid)};
  spec.outputs = {output("y")};
  return spec;
}

// The message of the std::invalid_argument that build throws, or a failure if it throws none.
std::string build_error(const GraphSpec& spec) {
  try {
    GraphPlan::build(spec);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "GraphPlan::build accepted the spec";
  return "";
}

// build throws std::invalid_argument whose message contains every one of the pieces.
void expect_error(const GraphSpec& spec, std::initializer_list<const char*> pieces) {
  const std::string message = build_error(spec);
  for (const char* piece : pieces) {
    EXPECT_NE(message.find(piece), std::string::npos)
        << "message \"" << message << "\" lacks \"" << piece << "\"";
  }
}

bool contains(const std::string& s, const std::string& piece) {
  return s.find(piece) != std::string::npos;
}

std::vector<std::string> names(const GraphPlan& plan) {
  std::vector<std::string> out;
  for (const auto& n : plan.nodes) out.push_back(n.name);
  return out;
}

TEST(GraphPlanBuild, SmallChainResolves) {
  const GraphPlan plan = GraphPlan::build(small());
  EXPECT_EQ(names(plan), (std::vector<std::string>{"h", "y"}));
  ASSERT_EQ(plan.inputs.size(), 1u);
  EXPECT_EQ(plan.inputs[0].name, "x");
  EXPECT_EQ(plan.inputs[0].dim, 3u);
  EXPECT_EQ(plan.parameter_count, 4u * 3 + 4 + 2 * 4 + 2);
  EXPECT_FALSE(plan.shares_parameters);
  EXPECT_EQ(plan.find_input("x"), 0u);
  EXPECT_EQ(plan.find_node("y"), 1u);
  EXPECT_FALSE(plan.find_input("h").has_value()) << "h is a node";
  EXPECT_FALSE(plan.find_node("x").has_value()) << "x is an input";
  EXPECT_FALSE(plan.find_node("nothing").has_value());
}

// Kahn's algorithm with the ready nodes taken lowest declaration index first: a chain declared
// backwards comes out forwards, and a node that becomes ready jumps ahead of a later-declared
// one that was ready all along.
TEST(GraphPlanBuild, TopologicalOrderOfNodesDeclaredOutOfOrder) {
  GraphSpec spec;
  spec.inputs = {{"x", 2}};
  spec.nodes = {node("c", {"b"}, 2), node("b", {"a"}, 2), node("a", {"x"}, 2)};
  spec.outputs = {output("c")};
  GraphPlan plan = GraphPlan::build(spec);
  EXPECT_EQ(names(plan), (std::vector<std::string>{"a", "b", "c"}));
  // Every source is an earlier node, and the indices point at the right ones.
  ASSERT_EQ(plan.nodes[2].sources.size(), 1u);
  EXPECT_FALSE(plan.nodes[2].sources[0].is_input);
  EXPECT_EQ(plan.nodes[2].sources[0].index, 1u);
  EXPECT_TRUE(plan.nodes[0].sources[0].is_input);
  EXPECT_EQ(plan.nodes[0].sources[0].index, 0u);
  EXPECT_EQ(plan.outputs[0].node, 2u);

  // d (declared first) reads a; a and b read x. Ready at start: a, b; a goes first (index 1),
  // which makes d (index 0) ready ahead of b (index 2).
  spec.nodes = {node("d", {"a"}, 2), node("a", {"x"}, 2), node("b", {"x"}, 2),
                node("e", {"d", "b"}, 1)};
  spec.outputs = {output("e")};
  plan = GraphPlan::build(spec);
  EXPECT_EQ(names(plan), (std::vector<std::string>{"a", "d", "b", "e"}));
  EXPECT_EQ(plan.nodes[3].sources[0].index, 1u) << "e's first block is d";
  EXPECT_EQ(plan.nodes[3].sources[1].index, 2u) << "e's second block is b";

  // Independent nodes keep their declaration order.
  spec.nodes = {node("p", {"x"}, 1), node("q", {"x"}, 1), node("r", {"x"}, 1)};
  spec.outputs = {output("r"), output("p"), output("q")};
  plan = GraphPlan::build(spec);
  EXPECT_EQ(names(plan), (std::vector<std::string>{"p", "q", "r"}));
  EXPECT_EQ(plan.outputs[0].node, 2u);
  EXPECT_EQ(plan.outputs[1].node, 0u);
  EXPECT_EQ(plan.outputs[2].node, 1u);
}

TEST(GraphPlanErrors, MissingInputsNodesOrOutputs) {
  GraphSpec spec = small();
  spec.inputs.clear();
  const std::string no_input = build_error(spec);
  EXPECT_TRUE(contains(no_input, "input")) << no_input;
  spec = small();
  spec.nodes.clear();
  const std::string no_node = build_error(spec);
  EXPECT_TRUE(contains(no_node, "node")) << no_node;
  spec = small();
  spec.outputs.clear();
  const std::string no_output = build_error(spec);
  EXPECT_TRUE(contains(no_output, "output")) << no_output;
  // Three problems, three messages.
  EXPECT_NE(no_input, no_node);
  EXPECT_NE(no_node, no_output);
  EXPECT_NE(no_input, no_output);
}

TEST(GraphPlanErrors, EmptyNames) {
  GraphSpec spec = small();
  spec.inputs[0].name = "";
  expect_error(spec, {"input", "name"});
  spec = small();
  spec.nodes[0].name = "";
  expect_error(spec, {"node", "name"});
}

TEST(GraphPlanErrors, DuplicateNames) {
  GraphSpec spec = small();
  spec.inputs.push_back({"x", 2});
  expect_error(spec, {"duplicate", "'x'"});
  spec = small();
  spec.nodes.push_back(node("h", {"x"}, 2));
  expect_error(spec, {"duplicate", "'h'"});
  spec = small();  // an input and a node may not share a name either
  spec.nodes[0].name = "x";
  spec.nodes[1].inputs = {"x"};
  expect_error(spec, {"duplicate", "'x'"});
}

TEST(GraphPlanErrors, ZeroSizes) {
  GraphSpec spec = small();
  spec.nodes[0].units = 0;
  expect_error(spec, {"'h'", "0 units"});
  spec = small();
  spec.inputs[0].dim = 0;
  expect_error(spec, {"'x'", "0 features"});
}

TEST(GraphPlanErrors, NodeReadingNothingOrAnUnknownName) {
  GraphSpec spec = small();
  spec.nodes[1].inputs = {};
  expect_error(spec, {"'y'", "reads nothing"});
  spec = small();
  spec.nodes[1].inputs = {"h", "ghost"};
  expect_error(spec, {"'y'", "'ghost'", "neither an input nor a node"});
}

// The cycle's nodes, in data-flow order from any one of them, and no node off the cycle.
void expect_cycle(const GraphSpec& spec, const std::vector<std::string>& rotations,
                  const std::vector<std::string>& absent) {
  const std::string message = build_error(spec);
  EXPECT_TRUE(contains(message, "cycle")) << message;
  bool found = false;
  for (const std::string& r : rotations) found = found || contains(message, r);
  EXPECT_TRUE(found) << "message \"" << message << "\" does not list the cycle";
  for (const std::string& name : absent) EXPECT_FALSE(contains(message, name)) << message;
}

TEST(GraphPlanErrors, CycleIsListed) {
  GraphSpec spec;
  spec.inputs = {{"x", 2}};
  spec.nodes = {node("a", {"x", "b"}, 2), node("b", {"a"}, 2), node("out", {"b"}, 1)};
  spec.outputs = {output("out")};
  expect_cycle(spec, {"a -> b -> a", "b -> a -> b"}, {"out"});

  // A node reading itself.
  spec.nodes = {node("a", {"x", "a"}, 2), node("out", {"a"}, 1)};
  expect_cycle(spec, {"a -> a"}, {"out"});

  // A three-node loop a -> b -> c -> a, fed by "feeder" and read by "tail" (declared first, so
  // the search starts off the cycle).
  spec.nodes = {node("tail", {"a"}, 1), node("feeder", {"x"}, 2), node("a", {"feeder", "c"}, 2),
                node("b", {"a"}, 2), node("c", {"b"}, 2)};
  spec.outputs = {output("tail")};
  expect_cycle(spec, {"a -> b -> c -> a", "b -> c -> a -> b", "c -> a -> b -> c"},
               {"tail", "feeder"});
}

// x (3) -> a (4): the owner every sharing case below ties to.
GraphSpec with_owner() {
  GraphSpec spec;
  spec.inputs = {{"x", 3}};
  spec.nodes = {node("a", {"x"}, 4)};
  spec.outputs = {output("a")};
  return spec;
}

TEST(GraphPlanErrors, BadShares) {
  GraphSpec spec = with_owner();
  spec.nodes.push_back(node("s", {"x"}, 4, Activation::tanh, "ghost"));
  spec.outputs.push_back(output("s"));
  expect_error(spec, {"'s'", "'ghost'", "not a node"});

  spec.nodes[1].share = "x";
  expect_error(spec, {"'s'", "'x'", "not a node"});

  spec.nodes[1].share = "s";
  expect_error(spec, {"'s'", "its own weights"});

  spec.nodes[1].share = "";
  spec.nodes[1].transpose = true;
  expect_error(spec, {"'s'", "transpose without share"});
}

TEST(GraphPlanErrors, CycleOfShares) {
  GraphSpec spec = with_owner();
  spec.nodes[0].share = "b";
  spec.nodes.push_back(node("b", {"x"}, 4, Activation::tanh, "a"));
  spec.outputs.push_back(output("b"));
  expect_error(spec, {"cycle of shares"});

  // Through three nodes, transposes included (shapes that would fit either way).
  spec.inputs = {{"x", 4}};
  spec.nodes = {node("a", {"x"}, 4, Activation::tanh, "c", true),
                node("b", {"a"}, 4, Activation::tanh, "a"),
                node("c", {"b"}, 4, Activation::tanh, "b", true)};
  spec.outputs = {output("c")};
  expect_error(spec, {"cycle of shares"});
}

TEST(GraphPlanErrors, SharedWeightShapeMismatch) {
  // Plain: s needs W (5, 3), a.W is (4, 3).
  GraphSpec spec = with_owner();
  spec.nodes.push_back(node("s", {"x"}, 5, Activation::tanh, "a"));
  spec.outputs.push_back(output("s"));
  expect_error(spec, {"'s'", "'a'", "(5, 3)", "(4, 3)"});

  // Plain, right units but the wrong input width: s reads a (4 features), a.W is (4, 3).
  spec.nodes[1] = node("s", {"a"}, 4, Activation::tanh, "a");
  expect_error(spec, {"'s'", "(4, 4)", "(4, 3)"});

  // Transposed: d reads a (4) with 2 units, so needs (2, 4); a.Wᵀ is (3, 4).
  spec.nodes[1] = node("d", {"a"}, 2, Activation::tanh, "a", true);
  spec.outputs[1] = output("d");
  expect_error(spec, {"'d'", "transposed", "(2, 4)", "(3, 4)"});

  // The same shape as the owner's W fails transposed when W is not square.
  spec.nodes[1] = node("d", {"x"}, 4, Activation::tanh, "a", true);
  expect_error(spec, {"'d'", "transposed", "(4, 3)", "(3, 4)"});
}

TEST(GraphPlanErrors, NodeFeedingNoOutput) {
  GraphSpec spec = small();
  spec.nodes.push_back(node("dangling", {"h"}, 2));
  expect_error(spec, {"'dangling'", "feeds no output"});
}

TEST(GraphPlanErrors, UnusedInput) {
  GraphSpec spec = small();
  spec.inputs.push_back({"unused", 2});
  expect_error(spec, {"'unused'", "not used"});
}

TEST(GraphPlanErrors, BadOutputs) {
  GraphSpec spec = small();
  spec.outputs = {output("ghost")};
  expect_error(spec, {"'ghost'", "names no node"});

  spec.outputs = {output("x")};
  expect_error(spec, {"'x'", "is an input"});

  spec.outputs = {output("y"), output("y", Loss::binary_cross_entropy)};
  expect_error(spec, {"'y'", "output twice"});
}

TEST(GraphPlanErrors, CrossEntropyNeedsSigmoidOrSoftmax) {
  for (Activation unit : {Activation::identity, Activation::tanh, Activation::relu}) {
    for (Loss loss : {Loss::binary_cross_entropy, Loss::softmax_cross_entropy}) {
      GraphSpec spec = small();
      spec.nodes[1].activation = unit;
      spec.outputs = {output("y", loss)};
      SCOPED_TRACE(std::string(blasnet::activation_name(unit)) + " " +
                   std::string(blasnet::loss_name(loss)));
      expect_error(spec, {"'y'", std::string(blasnet::loss_name(loss)).c_str()});
      spec.outputs = {output("y", Loss::mse)};
      EXPECT_NO_THROW(GraphPlan::build(spec)) << "mse takes any unit";
    }
  }
  for (Activation unit : {Activation::sigmoid, Activation::softmax}) {
    for (Loss loss : blasnet::all_losses) {
      GraphSpec spec = small();
      spec.nodes[1].activation = unit;
      spec.outputs = {output("y", loss)};
      EXPECT_NO_THROW(GraphPlan::build(spec));
    }
  }
  // A step output has no gradient at all: build accepts it (forward works), training refuses.
  GraphSpec spec = small();
  spec.nodes[1].activation = Activation::step;
  spec.outputs = {output("y", Loss::binary_cross_entropy)};
  EXPECT_NO_THROW(GraphPlan::build(spec));
}

TEST(GraphPlanErrors, OutputWeightMustBePositiveAndFinite) {
  for (double w : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                   std::numeric_limits<double>::infinity()}) {
    GraphSpec spec = small();
    spec.outputs[0].weight = w;
    SCOPED_TRACE(w);
    expect_error(spec, {"'y'", "weight"});
  }
  GraphSpec spec = small();
  spec.outputs[0].weight = 1e-3;
  EXPECT_EQ(GraphPlan::build(spec).outputs[0].weight, 1e-3);
}

TEST(GraphPlanErrors, TargetMustBeAnInputOfTheOutputsWidth) {
  GraphSpec spec = small();
  spec.outputs[0].target = "h";  // a node, not an input
  expect_error(spec, {"'y'", "'h'", "not an input"});
  spec.outputs[0].target = "ghost";
  expect_error(spec, {"'y'", "'ghost'", "not an input"});

  spec.outputs[0].target = "x";  // y has 2 units, x has 3 features
  expect_error(spec, {"'y'", "2 units", "'x'", "3 features"});
}

// An autoencoder: the reconstruction's target is the input itself.
TEST(GraphPlanBuild, TargetInputResolves) {
  GraphSpec spec;
  spec.inputs = {{"noise", 2}, {"x", 3}};
  spec.nodes = {node("code", {"x", "noise"}, 2), node("recon", {"code"}, 3, Activation::sigmoid)};
  spec.outputs = {output("recon", Loss::binary_cross_entropy, 0.5, "x")};
  const GraphPlan plan = GraphPlan::build(spec);
  ASSERT_EQ(plan.outputs.size(), 1u);
  EXPECT_EQ(plan.outputs[0].target_input, 1u);
  EXPECT_EQ(plan.outputs[0].loss, Loss::binary_cross_entropy);
  EXPECT_EQ(plan.outputs[0].weight, 0.5);
  EXPECT_EQ(plan.outputs[0].node, 1u);
  EXPECT_FALSE(GraphPlan::build(small()).outputs[0].target_input.has_value());

  // An input read only as a target counts as used.
  spec.nodes[0].inputs = {"noise"};
  EXPECT_NO_THROW(GraphPlan::build(spec));
}

// inputs x (3); nodes, declared in this order:
//   a: x -> 4 (tanh), owns W and b
//   b: a -> 3 (identity), shares a transposed: a.Wᵀ and a bias of its own; output, target x
//   c: a -> 3 (sigmoid), shares b: through b, a.W transposed, and b's bias; output
//   e: x -> 4 (tanh), shares a as it is: a.W and a.b
//   m: [e, x] -> 2 (softmax), owns W (2 × 7) and b; output
GraphSpec tied() {
  GraphSpec spec;
  spec.inputs = {{"x", 3}};
  spec.nodes = {node("a", {"x"}, 4), node("b", {"a"}, 3, Activation::identity, "a", true),
                node("c", {"a"}, 3, Activation::sigmoid, "b"),
                node("e", {"x"}, 4, Activation::tanh, "a"),
                node("m", {"e", "x"}, 2, Activation::softmax)};
  spec.outputs = {output("b", Loss::mse, 1.0, "x"), output("c", Loss::binary_cross_entropy, 2.0),
                  output("m", Loss::softmax_cross_entropy)};
  return spec;
}

TEST(GraphPlanLayout, ParametersInDeclarationOrderSharedNodesOwnNothing) {
  const GraphPlan plan = GraphPlan::build(tied());
  struct Row {
    const char* name;
    std::size_t offset, rows, cols, size;
  };
  const Row expected[] = {
      {"a.W", 0, 4, 3, 12}, {"a.b", 12, 4, 0, 4},  {"b.b", 16, 3, 0, 3},
      {"m.W", 19, 2, 7, 14}, {"m.b", 33, 2, 0, 2},
  };
  ASSERT_EQ(plan.parameters.size(), 5u);
  for (std::size_t k = 0; k < 5; ++k) {
    SCOPED_TRACE(expected[k].name);
    EXPECT_EQ(plan.parameters[k].name, expected[k].name);
    EXPECT_EQ(plan.parameters[k].offset, expected[k].offset);
    EXPECT_EQ(plan.parameters[k].rows, expected[k].rows);
    EXPECT_EQ(plan.parameters[k].cols, expected[k].cols);
    EXPECT_EQ(plan.parameters[k].size(), expected[k].size);
  }
  EXPECT_EQ(plan.parameter_count, 35u);
  EXPECT_TRUE(plan.shares_parameters);
}

TEST(GraphPlanLayout, WeightAndBiasOffsetsFollowShareChains) {
  const GraphPlan plan = GraphPlan::build(tied());
  ASSERT_EQ(names(plan), (std::vector<std::string>{"a", "b", "c", "e", "m"}));
  struct Row {
    std::size_t weight_offset, bias_offset;
    bool transposed;
  };
  const Row expected[] = {
      {0, 12, false},  // a: its own
      {0, 16, true},   // b: a.Wᵀ, b.b
      {0, 16, true},   // c: b's W as b uses it (a.Wᵀ), and b's bias
      {0, 12, false},  // e: a.W and a.b
      {19, 33, false}, // m: its own
  };
  for (std::size_t k = 0; k < 5; ++k) {
    SCOPED_TRACE(plan.nodes[k].name);
    EXPECT_EQ(plan.nodes[k].weight_offset, expected[k].weight_offset);
    EXPECT_EQ(plan.nodes[k].bias_offset, expected[k].bias_offset);
    EXPECT_EQ(plan.nodes[k].transposed, expected[k].transposed);
  }
  const auto& m = plan.nodes[4];
  EXPECT_EQ(m.n_in(), 7u);
  EXPECT_EQ(m.input_dims(), (std::vector<std::size_t>{4, 3}));
  EXPECT_EQ(m.activation, Activation::softmax);
  EXPECT_EQ(m.units, 2u);
}

// Transposing twice is no transpose: d shares b transposed, b shares a transposed, so d uses
// a.W as it is, with a bias of its own.
TEST(GraphPlanLayout, TwoTransposesCancel) {
  GraphSpec spec;
  spec.inputs = {{"x", 3}};
  spec.nodes = {node("a", {"x"}, 4), node("b", {"a"}, 3, Activation::tanh, "a", true),
                node("d", {"b"}, 4, Activation::tanh, "b", true)};
  spec.outputs = {output("d")};
  const GraphPlan plan = GraphPlan::build(spec);
  ASSERT_EQ(plan.parameters.size(), 4u);
  EXPECT_EQ(plan.parameters[2].name, "b.b");
  EXPECT_EQ(plan.parameters[3].name, "d.b");
  EXPECT_EQ(plan.parameters[3].offset, 19u);
  EXPECT_FALSE(plan.nodes[2].transposed);
  EXPECT_EQ(plan.nodes[2].weight_offset, 0u);
  EXPECT_EQ(plan.nodes[2].bias_offset, 19u);
  EXPECT_TRUE(plan.nodes[1].transposed);
  EXPECT_EQ(plan.nodes[1].bias_offset, 16u);
}

// Backward runs in reverse topological order (m, e, c, b, a): the first user of each block
// there writes its gradient, later ones add.
TEST(GraphPlanLayout, FirstGradientFlags) {
  const GraphPlan plan = GraphPlan::build(tied());
  const bool first_weight[] = {false, false, false, true, true};  // a, b, c, e, m
  const bool first_bias[] = {false, false, true, true, true};
  for (std::size_t k = 0; k < 5; ++k) {
    SCOPED_TRACE(plan.nodes[k].name);
    EXPECT_EQ(plan.nodes[k].first_weight_gradient, first_weight[k]);
    EXPECT_EQ(plan.nodes[k].first_bias_gradient, first_bias[k]);
  }
  // a is read by b and c: c (later in topological order, earlier in backward) writes dY(a).
  EXPECT_FALSE(plan.nodes[1].sources[0].first_gradient) << "b";
  EXPECT_TRUE(plan.nodes[2].sources[0].first_gradient) << "c";
  // m's blocks: e (sole reader) and x (an input, which takes no gradient).
  EXPECT_TRUE(plan.nodes[4].sources[0].first_gradient);
  EXPECT_FALSE(plan.nodes[4].sources[1].first_gradient);
  EXPECT_TRUE(plan.nodes[4].sources[1].is_input);
  EXPECT_EQ(plan.nodes[4].sources[0].index, 3u);
  EXPECT_EQ(plan.nodes[4].sources[0].dim, 4u);
  EXPECT_EQ(plan.nodes[4].sources[1].dim, 3u);
}

// One node read twice by one reader: the first block writes, the second adds.
TEST(GraphPlanLayout, SameSourceTwiceInOneNode) {
  GraphSpec spec;
  spec.inputs = {{"x", 2}};
  spec.nodes = {node("h", {"x"}, 3), node("y", {"h", "x", "h"}, 1)};
  spec.outputs = {output("y")};
  const GraphPlan plan = GraphPlan::build(spec);
  const auto& y = plan.nodes[1];
  EXPECT_EQ(y.n_in(), 8u);
  EXPECT_TRUE(y.sources[0].first_gradient);
  EXPECT_FALSE(y.sources[2].first_gradient);
  EXPECT_TRUE(plan.nodes[0].has_consumers);
}

TEST(GraphPlanLayout, ConsumersAndOutputIndices) {
  const GraphPlan plan = GraphPlan::build(tied());
  const bool consumers[] = {true, false, false, true, false};  // a, b, c, e, m
  const std::vector<std::optional<std::size_t>> outputs = {std::nullopt, 0u, 1u, std::nullopt,
                                                           2u};
  for (std::size_t k = 0; k < 5; ++k) {
    SCOPED_TRACE(plan.nodes[k].name);
    EXPECT_EQ(plan.nodes[k].has_consumers, consumers[k]);
    EXPECT_EQ(plan.nodes[k].output, outputs[k]);
  }
  ASSERT_EQ(plan.outputs.size(), 3u);
  EXPECT_EQ(plan.outputs[0].node, 1u);
  EXPECT_EQ(plan.outputs[0].target_input, 0u);
  EXPECT_EQ(plan.outputs[1].node, 2u);
  EXPECT_EQ(plan.outputs[1].loss, Loss::binary_cross_entropy);
  EXPECT_EQ(plan.outputs[1].weight, 2.0);
  EXPECT_EQ(plan.outputs[2].node, 4u);

  // An output read by another node is both.
  GraphSpec spec = small();
  spec.outputs.push_back(output("h"));
  const GraphPlan both = GraphPlan::build(spec);
  EXPECT_TRUE(both.nodes[0].has_consumers);
  EXPECT_EQ(both.nodes[0].output, 1u);
  EXPECT_FALSE(both.nodes[1].has_consumers);
}

TEST(GraphPlanLayout, SharesParametersOnlyWhenSomeNodeShares) {
  EXPECT_FALSE(GraphPlan::build(small()).shares_parameters);
  GraphSpec plain = with_owner();
  plain.nodes.push_back(node("s", {"x"}, 4, Activation::sigmoid, "a"));
  plain.outputs.push_back(output("s"));
  const GraphPlan p = GraphPlan::build(plain);
  EXPECT_TRUE(p.shares_parameters);
  EXPECT_EQ(p.parameters.size(), 2u) << "s owns nothing";
  EXPECT_EQ(p.nodes[1].first_weight_gradient, true) << "s is first in backward order";
  EXPECT_EQ(p.nodes[0].first_weight_gradient, false);
  EXPECT_EQ(p.nodes[0].first_bias_gradient, false);

  GraphSpec transposed = with_owner();
  transposed.nodes.push_back(node("d", {"a"}, 3, Activation::sigmoid, "a", true));
  transposed.outputs.push_back(output("d"));
  const GraphPlan t = GraphPlan::build(transposed);
  EXPECT_TRUE(t.shares_parameters);
  ASSERT_EQ(t.parameters.size(), 3u);
  EXPECT_EQ(t.parameters[2].name, "d.b");
  EXPECT_TRUE(t.nodes[1].first_bias_gradient) << "d's bias is its own";
  EXPECT_TRUE(t.nodes[0].first_bias_gradient) << "a's bias is its own";
}

TEST(ChainSpec, NamesLayersAndInput) {
  const GraphSpec spec = blasnet::chain_spec(
      3, {{4, Activation::tanh, ""}, {5, Activation::relu, "hidden"}, {2, Activation::sigmoid, ""}},
      Loss::binary_cross_entropy);
  ASSERT_EQ(spec.inputs.size(), 1u);
  EXPECT_EQ(spec.inputs[0].name, "x");
  EXPECT_EQ(spec.inputs[0].dim, 3u);
  ASSERT_EQ(spec.nodes.size(), 3u);
  EXPECT_EQ(spec.nodes[0].name, "0");
  EXPECT_EQ(spec.nodes[1].name, "hidden");
  EXPECT_EQ(spec.nodes[2].name, "2");
  EXPECT_EQ(spec.nodes[0].inputs, (std::vector<std::string>{"x"}));
  EXPECT_EQ(spec.nodes[1].inputs, (std::vector<std::string>{"0"}));
  EXPECT_EQ(spec.nodes[2].inputs, (std::vector<std::string>{"hidden"}));
  EXPECT_EQ(spec.nodes[1].units, 5u);
  EXPECT_EQ(spec.nodes[1].activation, Activation::relu);
  for (const auto& n : spec.nodes) {
    EXPECT_TRUE(n.share.empty());
    EXPECT_FALSE(n.transpose);
  }
  ASSERT_EQ(spec.outputs.size(), 1u);
  EXPECT_EQ(spec.outputs[0].node, "2");
  EXPECT_EQ(spec.outputs[0].loss, Loss::binary_cross_entropy);
  EXPECT_EQ(spec.outputs[0].weight, 1.0);
  EXPECT_TRUE(spec.outputs[0].target.empty());

  const GraphPlan plan = GraphPlan::build(spec);
  EXPECT_EQ(plan.parameter_count, 4u * 3 + 4 + 5 * 4 + 5 + 2 * 5 + 2);
  EXPECT_EQ(plan.parameters[2].name, "hidden.W");
  EXPECT_FALSE(plan.shares_parameters);
  EXPECT_EQ(blasnet::chain_spec(2, {{1, Activation::identity, ""}}).outputs[0].loss, Loss::mse);
}

TEST(ChainSpec, InputNameAvoidsALayerCalledX) {
  GraphSpec spec = blasnet::chain_spec(3, {{4, Activation::tanh, "x"}, {2, Activation::tanh, ""}});
  EXPECT_NE(spec.inputs[0].name, "x");
  EXPECT_EQ(spec.nodes[0].inputs, (std::vector<std::string>{spec.inputs[0].name}));
  EXPECT_EQ(spec.nodes[1].inputs, (std::vector<std::string>{"x"}));
  EXPECT_NO_THROW(GraphPlan::build(spec));

  spec = blasnet::chain_spec(3, {{4, Activation::tanh, "x"}, {2, Activation::tanh, "x_"}});
  EXPECT_NE(spec.inputs[0].name, "x");
  EXPECT_NE(spec.inputs[0].name, "x_");
  EXPECT_NO_THROW(GraphPlan::build(spec));
}

TEST(ChainSpec, NoLayersGivesASpecBuildRefuses) {
  const GraphSpec spec = blasnet::chain_spec(3, {});
  EXPECT_TRUE(spec.nodes.empty());
  EXPECT_TRUE(spec.outputs.empty());
  EXPECT_THROW(GraphPlan::build(spec), std::invalid_argument);
}

}  // namespace

// Sizes whose products or sums wrap a size_t: 2^32 units over 2^32 − 1 inputs, with their
// 2^32 biases, made 0 parameters, a buffer of 0 then written past.
namespace {

std::string overflow_error(const GraphSpec& spec) {
  try {
    GraphPlan::build(spec);
  } catch (const std::overflow_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "GraphPlan::build accepted the spec";
  return "";
}

TEST(GraphPlanSizes, ParameterCountThatWrapsIsRefused) {
  GraphSpec spec;
  spec.inputs = {{"x", (std::size_t(1) << 32) - 1}};
  spec.nodes = {node("y", {"x"}, std::size_t(1) << 32, Activation::identity)};
  spec.outputs = {output("y")};
  const std::string message = overflow_error(spec);
  EXPECT_TRUE(contains(message, "graph: the parameter count up to node 'y'")) << message;
  EXPECT_TRUE(contains(message, "does not fit in a 64-bit size")) << message;
}

TEST(GraphPlanSizes, WeightCountThatWrapsIsRefused) {
  GraphSpec spec;  // an RNN cell of 2^33 units over [x (2^33 − 2); h (2^33)]
  spec.inputs = {{"x", (std::size_t(1) << 33) - 2}, {"h0", std::size_t(1) << 33}};
  spec.nodes = {node("cell", {"x", "h0"}, std::size_t(1) << 33)};
  spec.outputs = {output("cell")};
  const std::string message = overflow_error(spec);
  EXPECT_TRUE(contains(message, "the weights of node 'cell' (8589934592 units over 17179869182 "
                                "inputs): 8589934592 × 17179869182"))
      << message;
}

TEST(GraphPlanSizes, InputWidthThatWrapsIsRefused) {
  const std::size_t half = (std::size_t(1) << 63);
  GraphSpec spec;
  spec.inputs = {{"a", half}, {"b", half}};
  spec.nodes = {node("y", {"a", "b"}, 1)};
  spec.outputs = {output("y")};
  EXPECT_TRUE(contains(overflow_error(spec), "graph: the inputs of node 'y'"));
}

TEST(GraphPlanSizes, CountsThatEachFitButNotTogetherAreRefused) {
  GraphSpec spec;  // four nodes of 2^31 × 2^31 weights, each within a model file's limits
  spec.inputs = {{"x", std::size_t(1) << 31}};
  for (const char* name : {"a", "b", "c", "d"}) {
    spec.nodes.push_back(node(name, {"x"}, std::size_t(1) << 31));
    spec.outputs.push_back(output(name));
  }
  EXPECT_TRUE(contains(overflow_error(spec), "the parameter count up to node 'd'"));
}

}  // namespace
