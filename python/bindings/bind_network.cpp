#include <blasnet/network.hpp>
#include <blasnet/training.hpp>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "guarded.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

template <typename T>
void bind_network_type(py::module_& m, const char* name) {
  using Shared = Guarded<Network<T>>;
  py::class_<Shared>(m, name)
      .def(py::init<std::size_t, const std::vector<DenseSpec>&, std::uint64_t>(),
           py::arg("input_dim"), py::arg("layers"), py::arg("seed"))
      .def_property_readonly("input_dim", [](const Shared& s) { return s.model.input_dim(); })
      .def_property_readonly("output_dim", [](const Shared& s) { return s.model.output_dim(); })
      .def_property_readonly("layers",
                             [](const Shared& s) {
                               py::list out;
                               for (std::size_t k = 0; k < s.model.layer_count(); ++k) {
                                 const Dense<T>& l = s.model.layer(k);
                                 out.append(py::make_tuple(
                                     l.name(), l.n_in(), l.n_out(),
                                     std::string(activation_name(l.activation()))));
                               }
                               return out;
                             })
      .def("parameter_info",
           [](const Shared& s) { return parameter_info_list(s.model.parameter_info()); })
      .def("parameter_buffer",
           [](py::object self) { return buffer_view(self.cast<Shared&>().model.parameters(), self); })
      .def("gradient_buffer",
           [](py::object self) { return buffer_view(self.cast<Shared&>().model.gradients(), self); })
      .def("forward",
           [](Shared& s, py::handle X) {
             const MatrixView<const T> x = as_columns<T>(X);
             CArray<T> Y = new_samples<T>(x.cols, s.model.output_dim());
             T* out = Y.mutable_data();
             {
               py::gil_scoped_release release;
               Lock lock(s.busy);
               copy_samples(s.model.forward(x), out);
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
             return s.model.backward(x, l, t);
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
             return train_step(s.model, x, l, t, optimizer);
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
               losses = fit(s.model, x, l, t, optimizer, options, stop_on_signal(interrupted));
             }
             return py::make_tuple(losses, interrupted);
           },
           py::arg("X"), py::arg("T"), py::arg("loss"), py::arg("optimizer"), py::arg("epochs"),
           py::arg("batch_size"), py::arg("shuffle"), py::arg("seed"));
}

}  // namespace

py::list parameter_info_list(const std::vector<ParameterInfo>& info) {
  py::list out;
  for (const ParameterInfo& p : info) {
    py::tuple shape = p.cols == 0 ? py::tuple(py::make_tuple(p.rows))
                                  : py::tuple(py::make_tuple(p.rows, p.cols));
    out.append(py::make_tuple(p.name, p.offset, shape));
  }
  return out;
}

void bind_network(py::module_& m) {
  py::register_exception<NotCanonical>(m, "NotCanonical", PyExc_TypeError);
  bind_network_type<double>(m, "NetworkF64");
  bind_network_type<float>(m, "NetworkF32");
}

}  // namespace blasnet::python
