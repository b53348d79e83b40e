#include <blasnet/blas.hpp>

#include "bindings.hpp"

namespace py = pybind11;

namespace blasnet::python {

void bind_blas(py::module_& m) {
  m.def("set_num_threads", &set_num_threads, py::arg("n"),
        "Set the number of threads of the BLAS library blasnet links.");
  m.def("get_num_threads", &get_num_threads, "Threads the BLAS library uses.");
  m.def("blas_config", &blas_config, "The BLAS library's own description of its build.");
}

}  // namespace blasnet::python
