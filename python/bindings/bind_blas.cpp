#include <blasnet/blas.hpp>
#include <blasnet/gemm_timer.hpp>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "bindings.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

const char* const set_num_threads_doc = R"doc(
Set the number of threads of the BLAS library blasnet links.

Examples
--------
>>> import blasnet as bn
>>> before = bn.get_num_threads()
>>> bn.set_num_threads(1)
>>> bn.get_num_threads()
1
>>> bn.set_num_threads(before)
)doc";

const char* const get_num_threads_doc = R"doc(
Threads the BLAS library uses.

Examples
--------
>>> import blasnet as bn
>>> bn.get_num_threads() >= 1
True
)doc";

const char* const blas_config_doc = R"doc(
The BLAS library's own description of its build.

Examples
--------
>>> import blasnet as bn
>>> bn.blas_config().split()[0]  # the wheel links scipy-openblas32
'OpenBLAS'
)doc";

}  // namespace

void bind_blas(py::module_& m) {
  m.def("set_num_threads", &set_num_threads, py::arg("n"), set_num_threads_doc);
  m.def("get_num_threads", &get_num_threads, get_num_threads_doc);
  m.def("blas_config", &blas_config, blas_config_doc);
  m.def(
      "time_gemm",
      [](bool trans_a, bool trans_b, std::size_t m_, std::size_t n, std::size_t k,
         const std::string& dtype, std::size_t repeats) {
        const Transpose ta = trans_a ? Transpose::yes : Transpose::no;
        const Transpose tb = trans_b ? Transpose::yes : Transpose::no;
        py::gil_scoped_release release;
        if (dtype == "float32") return time_gemm<float>(ta, tb, m_, n, k, repeats);
        if (dtype == "float64") return time_gemm<double>(ta, tb, m_, n, k, repeats);
        throw std::invalid_argument("time_gemm: dtype must be 'float32' or 'float64', got '" +
                                    dtype + "'");
      },
      py::arg("trans_a"), py::arg("trans_b"), py::arg("m"), py::arg("n"), py::arg("k"),
      py::arg("dtype"), py::arg("repeats"),
      "Seconds of each of `repeats` gemm calls C (m×n) = op(A)·op(B), column-major, through "
      "the BLAS blasnet links.");
}

}  // namespace blasnet::python
