#pragma once
// One function per area; module.cpp calls them in dependency order.

#include <blasnet/graph_plan.hpp>
#include <pybind11/pybind11.h>
#include <pybind11/typing.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace blasnet::python {

void bind_blas(pybind11::module_& m);
void bind_layers(pybind11::module_& m);
void bind_optimizers(pybind11::module_& m);
void bind_schedules(pybind11::module_& m);
void bind_graph_spec(pybind11::module_& m);
void bind_graph(pybind11::module_& m);
void bind_model_file(pybind11::module_& m);
void bind_perceptron(pybind11::module_& m);

// Declared types, so that the signatures and the stubs generated from them
// (tools/generate_stubs.py) say dict[str, Any], not a bare dict.
using StrDict = pybind11::typing::Dict<pybind11::str, pybind11::object>;

// A planned node as Python reads it (bind_graph_spec.cpp).
struct PlannedNodeInfo {
  std::string name;
  std::vector<std::string> reads;
  std::size_t n_in = 0, units = 0;
  std::string activation;
  std::size_t weight_offset = 0, bias_offset = 0;
  bool transposed = false;
  double dropout = 0;
};

// A planned output as Python reads it.
struct PlannedOutputInfo {
  std::string name;
  std::size_t units = 0;
  std::string loss;
  double weight = 1;
  std::optional<std::string> target;
};

std::vector<PlannedNodeInfo> planned_nodes(const GraphPlan& plan);
std::vector<PlannedOutputInfo> planned_outputs(const GraphPlan& plan);

}  // namespace blasnet::python
