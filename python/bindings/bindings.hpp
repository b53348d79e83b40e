#pragma once
// One function per area; module.cpp calls them in dependency order.

#include <pybind11/pybind11.h>

namespace blasnet::python {

void bind_blas(pybind11::module_& m);
void bind_layers(pybind11::module_& m);
void bind_optimizers(pybind11::module_& m);
void bind_network(pybind11::module_& m);

}  // namespace blasnet::python
