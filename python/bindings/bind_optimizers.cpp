#include <blasnet/optimizers.hpp>

#include "bindings.hpp"

namespace py = pybind11;

namespace blasnet::python {

void bind_optimizers(py::module_& m) {
  py::class_<Optimizer>(m, "Optimizer")
      .def("__repr__", &Optimizer::describe);

  py::class_<SGD, Optimizer>(m, "SGD")
      .def(py::init<double>(), py::arg("lr"))
      .def_property("lr", &SGD::lr, &SGD::set_lr);
}

}  // namespace blasnet::python
