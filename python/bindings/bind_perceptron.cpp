#include <Python.h>
#include <blasnet/perceptron.hpp>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

// A perceptron as Python holds it: its calls run without the GIL, and the lock makes calls
// from several Python threads take turns instead of updating W at the same time.
template <typename T>
struct SharedPerceptron {
  SharedPerceptron(std::size_t n_features, std::size_t n_outputs) : model(n_features, n_outputs) {}

  Perceptron<T> model;
  std::mutex busy;
};

template <typename T>
void bind_perceptron_type(py::module_& m, const char* name) {
  using Shared = SharedPerceptron<T>;
  py::class_<Shared>(m, name)
      .def(py::init<std::size_t, std::size_t>(), py::arg("n_features"), py::arg("n_outputs"))
      .def_property_readonly("n_features", [](const Shared& s) { return s.model.n_features(); })
      .def_property_readonly("n_outputs", [](const Shared& s) { return s.model.n_outputs(); })
      .def("weight_buffer",
           [](py::object self) { return buffer_view(self.cast<Shared&>().model.weights(), self); })
      .def("bias_buffer",
           [](py::object self) { return buffer_view(self.cast<Shared&>().model.bias(), self); })
      .def("predict",
           // X (n, n_features) -> (n, n_outputs) of 0.0 and 1.0, written in place by the core:
           // that array is the column-major n_outputs × n matrix.
           [](Shared& s, py::handle X) {
             const MatrixView<const T> x = as_columns<T>(X);
             const std::size_t n_out = s.model.n_outputs();
             CArray<T> Y = new_samples<T>(x.cols, n_out);
             const MatrixView<T> out(Y.mutable_data(), n_out, x.cols);
             {
               py::gil_scoped_release release;
               std::lock_guard<std::mutex> lock(s.busy);
               s.model.predict(x, out);
             }
             return Y;
           },
           py::arg("X"))
      .def("fit",
           // Returns (mistakes per epoch, interrupted): Ctrl-C is honoured between epochs and
           // reported, so the caller keeps the epochs that completed.
           [](Shared& s, py::handle X, py::handle T_, double lr, std::size_t epochs, bool shuffle,
              std::uint64_t seed) {
             const MatrixView<const T> x = as_columns<T>(X);
             const MatrixView<const T> t = as_columns<T>(T_);
             // A double beyond T's range becomes Inf (a plain cast would be undefined), which
             // the core then names.
             constexpr T inf = std::numeric_limits<T>::infinity();
             const T rate = std::abs(lr) > static_cast<double>(std::numeric_limits<T>::max())
                                ? (lr > 0 ? inf : -inf)
                                : static_cast<T>(lr);
             bool interrupted = false;
             const PerceptronCallback stop_on_signal = [&interrupted](std::size_t, std::size_t) {
               py::gil_scoped_acquire acquire;
               if (PyErr_CheckSignals() != 0) {
                 PyErr_Clear();
                 interrupted = true;
                 return false;
               }
               return true;
             };
             std::vector<std::size_t> mistakes;
             {
               py::gil_scoped_release release;
               std::lock_guard<std::mutex> lock(s.busy);
               mistakes = s.model.fit(x, t, rate, epochs, shuffle, seed,
                                      stop_on_signal);
             }
             return py::make_tuple(mistakes, interrupted);
           },
           py::arg("X"), py::arg("T"), py::arg("lr"), py::arg("epochs"), py::arg("shuffle"),
           py::arg("seed"));
}

}  // namespace

void bind_perceptron(py::module_& m) {
  bind_perceptron_type<double>(m, "PerceptronF64");
  bind_perceptron_type<float>(m, "PerceptronF32");
}

}  // namespace blasnet::python
