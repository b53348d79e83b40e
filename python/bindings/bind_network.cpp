#include <Python.h>
#include <blasnet/network.hpp>
#include <blasnet/training.hpp>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bindings.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

template <typename T>
using CArray = py::array_t<T, py::array::c_style>;

// Raised for an argument the core cannot read in place; the Python package converts it once
// and calls again, so the common case pays for no conversion code at all.
struct NotCanonical : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Whether h is a C-contiguous ndarray of element type E with ndim dimensions.
template <typename E>
bool is_canonical(py::handle h, int ndim) {
  return py::array_t<E, py::array::c_style>::check_(h) &&
         py::detail::array_proxy(h.ptr())->nd == ndim;
}

// A C-contiguous (n_samples, n_features) array of dtype T is the column-major
// n_features × n_samples matrix of the note, used in place.
template <typename T>
MatrixView<const T> as_columns(py::handle h) {
  if (!is_canonical<T>(h, 2)) throw NotCanonical("not a C-contiguous 2-D array of the dtype");
  const auto* a = py::detail::array_proxy(h.ptr());
  const auto n = static_cast<std::size_t>(a->dimensions[0]);
  const auto d = static_cast<std::size_t>(a->dimensions[1]);
  return {reinterpret_cast<const T*>(a->data), d, n, d};
}

// Float targets of shape (n, n_out), or int64 class labels of shape (n,) for the one loss
// that reads labels; for the others, 1-D targets go back to be reshaped.
template <typename T>
Targets<T> as_targets(py::handle h, Loss loss) {
  if (loss == Loss::softmax_cross_entropy && is_canonical<std::int64_t>(h, 1)) {
    const auto* a = py::detail::array_proxy(h.ptr());
    return Targets<T>::classes(reinterpret_cast<const std::int64_t*>(a->data),
                               static_cast<std::size_t>(a->dimensions[0]));
  }
  return Targets<T>::dense(as_columns<T>(h));
}

// A 1-D NumPy view of one of the network's flat buffers; it keeps the network alive.
template <typename T>
py::array_t<T> buffer_view(Span<T> span, py::handle owner) {
  return py::array_t<T>({static_cast<py::ssize_t>(span.size)}, {static_cast<py::ssize_t>(sizeof(T))},
                        span.data, owner);
}

// A network as Python holds it. Its calls run without the GIL, and one network's workspace
// serves one call at a time: the lock makes concurrent calls from Python threads wait
// instead of overwriting each other's activations.
template <typename T>
struct SharedNetwork {
  SharedNetwork(std::size_t input_dim, const std::vector<DenseSpec>& layers, std::uint64_t seed)
      : net(input_dim, layers, seed) {}

  Network<T> net;
  std::mutex busy;
};

template <typename T>
void bind_network_type(py::module_& m, const char* name) {
  using Shared = SharedNetwork<T>;
  using Lock = std::lock_guard<std::mutex>;
  py::class_<Shared>(m, name)
      .def(py::init<std::size_t, const std::vector<DenseSpec>&, std::uint64_t>(),
           py::arg("input_dim"), py::arg("layers"), py::arg("seed"))
      .def_property_readonly("input_dim", [](const Shared& s) { return s.net.input_dim(); })
      .def_property_readonly("output_dim", [](const Shared& s) { return s.net.output_dim(); })
      .def_property_readonly("layers",
                             [](const Shared& s) {
                               py::list out;
                               for (std::size_t k = 0; k < s.net.layer_count(); ++k) {
                                 const Dense<T>& l = s.net.layer(k);
                                 out.append(py::make_tuple(
                                     l.name(), l.n_in(), l.n_out(),
                                     std::string(activation_name(l.activation()))));
                               }
                               return out;
                             })
      .def("parameter_info",
           [](const Shared& s) {
             py::list out;
             for (const ParameterInfo& p : s.net.parameter_info()) {
               py::tuple shape = p.cols == 0 ? py::tuple(py::make_tuple(p.rows))
                                             : py::tuple(py::make_tuple(p.rows, p.cols));
               out.append(py::make_tuple(p.name, p.offset, shape));
             }
             return out;
           })
      .def("parameter_buffer",
           [](py::object self) { return buffer_view(self.cast<Shared&>().net.parameters(), self); })
      .def("gradient_buffer",
           [](py::object self) { return buffer_view(self.cast<Shared&>().net.gradients(), self); })
      .def("forward",
           [](Shared& s, py::handle X) {
             const MatrixView<const T> x = as_columns<T>(X);
             CArray<T> Y({static_cast<py::ssize_t>(x.cols),
                          static_cast<py::ssize_t>(s.net.output_dim())});
             T* out = Y.mutable_data();
             {
               py::gil_scoped_release release;
               Lock lock(s.busy);
               const MatrixView<const T> y = s.net.forward(x);
               std::copy(y.data, y.data + y.rows * y.cols, out);
             }
             return Y;
           },
           py::arg("X"))
      .def("backward",
           [](Shared& s, py::handle X, py::handle T_, std::string_view loss) {
             const MatrixView<const T> x = as_columns<T>(X);
             const Loss l = parse_loss(loss);
             const Targets<T> t = as_targets<T>(T_, l);
             py::gil_scoped_release release;
             Lock lock(s.busy);
             return s.net.backward(x, l, t);
           },
           py::arg("X"), py::arg("T"), py::arg("loss"))
      .def("train_step",
           [](Shared& s, py::handle X, py::handle T_, std::string_view loss,
              Optimizer& optimizer) {
             const MatrixView<const T> x = as_columns<T>(X);
             const Loss l = parse_loss(loss);
             const Targets<T> t = as_targets<T>(T_, l);
             py::gil_scoped_release release;
             Lock lock(s.busy);
             return train_step(s.net, x, l, t, optimizer);
           },
           py::arg("X"), py::arg("T"), py::arg("loss"), py::arg("optimizer"))
      .def("fit",
           // Returns (per-epoch losses, interrupted): Ctrl-C is honoured between epochs and
           // reported, so the caller keeps the losses of the epochs that completed.
           [](Shared& s, py::handle X, py::handle T_, std::string_view loss,
              Optimizer& optimizer, std::size_t epochs, std::size_t batch_size, bool shuffle,
              std::uint64_t seed) {
             const MatrixView<const T> x = as_columns<T>(X);
             const Loss l = parse_loss(loss);
             const Targets<T> t = as_targets<T>(T_, l);
             const FitOptions options{epochs, batch_size, shuffle, seed};
             bool interrupted = false;
             std::vector<double> losses;
             {
               py::gil_scoped_release release;
               Lock lock(s.busy);
               losses = fit(s.net, x, l, t, optimizer, options, [&](std::size_t, double) {
                 py::gil_scoped_acquire acquire;
                 if (PyErr_CheckSignals() != 0) {
                   PyErr_Clear();
                   interrupted = true;
                   return false;
                 }
                 return true;
               });
             }
             return py::make_tuple(losses, interrupted);
           },
           py::arg("X"), py::arg("T"), py::arg("loss"), py::arg("optimizer"), py::arg("epochs"),
           py::arg("batch_size"), py::arg("shuffle"), py::arg("seed"));
}

}  // namespace

void bind_network(py::module_& m) {
  py::register_exception<NotCanonical>(m, "NotCanonical", PyExc_TypeError);
  bind_network_type<double>(m, "NetworkF64");
  bind_network_type<float>(m, "NetworkF32");
}

}  // namespace blasnet::python
