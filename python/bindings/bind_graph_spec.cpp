// The records that describe a graph across the boundary, by name rather than by position:
// what a user declares (GraphSpec and its parts) and what the planner resolved (each node's
// parameter blocks, each output, the flat layout).

#include <blasnet/graph_plan.hpp>
#include <blasnet/network.hpp>
#include <pybind11/typing.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings.hpp"

namespace py = pybind11;

namespace blasnet::python {

// (rows, cols) of a W, (rows,) of a b.
py::typing::Tuple<std::size_t, py::ellipsis> shape_of(const ParameterInfo& p) {
  py::typing::Tuple<std::size_t, py::ellipsis> shape(p.cols == 0 ? 1 : 2);
  shape[0] = py::int_(p.rows);
  if (p.cols != 0) shape[1] = py::int_(p.cols);
  return shape;
}

std::vector<PlannedNodeInfo> planned_nodes(const GraphPlan& plan) {
  std::vector<PlannedNodeInfo> out;
  for (const PlannedNode& node : plan.nodes) {
    PlannedNodeInfo info{node.name, {}, node.n_in(), node.units,
                         std::string(activation_name(node.activation)), node.weight_offset,
                         node.bias_offset, node.transposed, node.dropout};
    for (const PlannedSource& src : node.sources) {
      info.reads.push_back(src.is_input ? plan.inputs[src.index].name : plan.nodes[src.index].name);
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<PlannedOutputInfo> planned_outputs(const GraphPlan& plan) {
  std::vector<PlannedOutputInfo> out;
  for (const PlannedOutput& o : plan.outputs) {
    std::optional<std::string> target;
    if (o.target_input) target = plan.inputs[*o.target_input].name;
    out.push_back({plan.nodes[o.node].name, plan.nodes[o.node].units,
                   std::string(loss_name(o.loss)), o.weight, target});
  }
  return out;
}

void bind_graph_spec(py::module_& m) {
  py::class_<InputSpec>(m, "InputSpec", "A data input of dim features per sample.")
      .def(py::init([](std::string name, std::size_t dim) { return InputSpec{std::move(name), dim}; }),
           py::arg("name"), py::arg("dim"))
      .def_readonly("name", &InputSpec::name)
      .def_readonly("dim", &InputSpec::dim);
  py::class_<NodeSpec>(m, "NodeSpec",
                       "A dense node as declared: what it reads, its units and activation, the "
                       "node whose parameters it shares (transposed or not) and its dropout.")
      .def(py::init([](std::string name, std::vector<std::string> inputs, std::size_t units,
                       const std::string& activation, std::string share, bool transpose,
                       double dropout) {
             return NodeSpec{std::move(name), std::move(inputs), units,
                             parse_activation(activation), std::move(share), transpose, dropout};
           }),
           py::arg("name"), py::arg("inputs"), py::arg("units"), py::arg("activation"),
           py::arg("share") = "", py::arg("transpose") = false, py::arg("dropout") = 0.0)
      .def_readonly("name", &NodeSpec::name)
      .def_readonly("inputs", &NodeSpec::inputs)
      .def_readonly("units", &NodeSpec::units)
      .def_property_readonly("activation",
                             [](const NodeSpec& s) { return std::string(activation_name(s.activation)); })
      .def_readonly("share", &NodeSpec::share)
      .def_readonly("transpose", &NodeSpec::transpose)
      .def_readonly("dropout", &NodeSpec::dropout);
  py::class_<OutputSpec>(m, "OutputSpec",
                         "A cost on a node's output, its weight in J, and the input its "
                         "targets come from (empty: the targets of each call).")
      .def(py::init([](std::string node, const std::string& loss, double weight, std::string target) {
             return OutputSpec{std::move(node), parse_loss(loss), weight, std::move(target)};
           }),
           py::arg("node"), py::arg("loss"), py::arg("weight") = 1.0, py::arg("target") = "")
      .def_readonly("node", &OutputSpec::node)
      .def_property_readonly("loss", [](const OutputSpec& s) { return std::string(loss_name(s.loss)); })
      .def_readonly("weight", &OutputSpec::weight)
      .def_readonly("target", &OutputSpec::target);
  py::class_<GraphSpec>(m, "GraphSpec", "What a graph declares: its inputs, nodes and outputs.")
      .def(py::init([](std::vector<InputSpec> inputs, std::vector<NodeSpec> nodes,
                       std::vector<OutputSpec> outputs) {
             return GraphSpec{std::move(inputs), std::move(nodes), std::move(outputs)};
           }),
           py::arg("inputs"), py::arg("nodes"), py::arg("outputs"))
      .def("declares_same",
           [](const GraphSpec& a, const GraphSpec& b) { return a == b; }, py::arg("other"),
           "Whether other declares the same graph, field by field.")
      .def_readonly("inputs", &GraphSpec::inputs)
      .def_readonly("nodes", &GraphSpec::nodes)
      .def_readonly("outputs", &GraphSpec::outputs);
  m.def("network_spec", &network_spec, py::arg("input_dim"), py::arg("layers"),
        "The chain graph of a stack of Dense layers: input 'x', one output on the last layer.");

  py::class_<ParameterInfo>(m, "ParameterInfo",
                            "Where one parameter lives in the flat buffers: W (n_out, n_in) or b (n_out,).")
      .def_readonly("name", &ParameterInfo::name)
      .def_readonly("offset", &ParameterInfo::offset)
      .def_property_readonly("shape", &shape_of)
      .def_property_readonly("size", &ParameterInfo::size);
  py::class_<PlannedNodeInfo>(m, "PlannedNode",
                              "A dense node as the planner resolved it, in forward order: the "
                              "names it reads, its widths, and the offsets of the W and b it "
                              "applies (its own, or those it shares; W transposed when "
                              "`transposed`).")
      .def_readonly("name", &PlannedNodeInfo::name)
      .def_readonly("reads", &PlannedNodeInfo::reads)
      .def_readonly("n_in", &PlannedNodeInfo::n_in)
      .def_readonly("units", &PlannedNodeInfo::units)
      .def_readonly("activation", &PlannedNodeInfo::activation)
      .def_readonly("weight_offset", &PlannedNodeInfo::weight_offset)
      .def_readonly("bias_offset", &PlannedNodeInfo::bias_offset)
      .def_readonly("transposed", &PlannedNodeInfo::transposed)
      .def_readonly("dropout", &PlannedNodeInfo::dropout);
  py::class_<PlannedOutputInfo>(m, "PlannedOutput",
                                "An output as the planner resolved it: its node, units, loss, "
                                "weight and the input its targets come from (None: given).")
      .def_readonly("name", &PlannedOutputInfo::name)
      .def_readonly("units", &PlannedOutputInfo::units)
      .def_readonly("loss", &PlannedOutputInfo::loss)
      .def_readonly("weight", &PlannedOutputInfo::weight)
      .def_readonly("target", &PlannedOutputInfo::target);
}

}  // namespace blasnet::python
