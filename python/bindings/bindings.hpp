#pragma once
// One function per area; module.cpp calls them in dependency order.

#include <blasnet/graph_plan.hpp>
#include <pybind11/pybind11.h>

#include <vector>

namespace blasnet::python {

void bind_blas(pybind11::module_& m);
void bind_layers(pybind11::module_& m);
void bind_optimizers(pybind11::module_& m);
void bind_schedules(pybind11::module_& m);
void bind_network(pybind11::module_& m);
void bind_graph(pybind11::module_& m);
void bind_model_file(pybind11::module_& m);
void bind_perceptron(pybind11::module_& m);
void bind_distributed(pybind11::module_& m);

// [(name, offset, shape)] of the flat buffers, shape (rows, cols) or (rows,).
pybind11::list parameter_info_list(const std::vector<ParameterInfo>& info);

}  // namespace blasnet::python
