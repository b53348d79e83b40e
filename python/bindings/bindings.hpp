#pragma once
// One function per area; module.cpp calls them in dependency order.

#include <blasnet/graph_plan.hpp>
#include <pybind11/pybind11.h>
#include <pybind11/typing.h>

#include <cstddef>
#include <string>
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

// Declared types, so that the signatures and the stubs generated from them
// (tools/generate_stubs.py) say dict[str, Any] and [(name, offset, shape)], not a bare dict
// and list.
using StrDict = pybind11::typing::Dict<pybind11::str, pybind11::object>;
using ParameterInfoList = pybind11::typing::List<pybind11::typing::Tuple<
    std::string, std::size_t, pybind11::typing::Tuple<std::size_t, pybind11::ellipsis>>>;

// [(name, offset, shape)] of the flat buffers, shape (rows, cols) or (rows,).
ParameterInfoList parameter_info_list(const std::vector<ParameterInfo>& info);

}  // namespace blasnet::python
