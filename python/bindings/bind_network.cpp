#include <blasnet/network.hpp>
#include <blasnet/schedules.hpp>
#include <blasnet/training.hpp>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "fitting.hpp"
#include "guarded.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

// One batch of a network call, viewed in place: X, its targets for the call's loss, and sample
// weights if given. batch() points at these members, so it lives as long as the call.
template <typename T>
struct NetworkBatch {
  NetworkBatch(py::handle X, py::handle targets, std::string_view loss_name,
               py::handle weights = py::none())
      : x(as_columns<T>(X)),
        loss(parse_loss(loss_name)),
        t(as_targets<T>(targets, loss)),
        w(as_weights<T>(weights)) {}
  NetworkBatch(const NetworkBatch&) = delete;
  NetworkBatch& operator=(const NetworkBatch&) = delete;

  Batch<T> batch() const { return {{&x, 1}, {&t, 1}, w}; }

  MatrixView<const T> x;
  Loss loss;
  Targets<T> t;
  const T* w;
};

template <typename T>
void bind_network_type(py::module_& m, const char* name) {
  using Shared = Guarded<Network<T>>;
  py::class_<Shared>(m, name)
      .def(py::init<std::size_t, const std::vector<DenseSpec>&, std::uint64_t>(),
           py::arg("input_dim"), py::arg("layers"), py::arg("seed"))
      .def_property_readonly("input_dim", [](const Shared& s) { return s.model.input_dim(); })
      .def_property_readonly("output_dim", [](const Shared& s) { return s.model.output_dim(); })
      .def_property_readonly("layers",
                             [](const Shared& s)
                                 -> py::typing::List<py::typing::Tuple<
                                     std::string, std::size_t, std::size_t, std::string>> {
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
           [](Shared& s, py::handle X, bool training) {
             const MatrixView<const T> x = as_columns<T>(X);
             CArray<T> Y = new_samples<T>(x.cols, s.model.output_dim());
             T* out = Y.mutable_data();
             {
               py::gil_scoped_release release;
               Lock lock(s.busy);
               copy_samples(s.model.forward(x, Checks::on,
                                            training ? Mode::training : Mode::inference),
                            out);
             }
             return Y;
           },
           py::arg("X"), py::arg("training") = false)
      .def("predict",
           // The inference pass straight into the result, sharing the model with other
           // predictions (see guarded.hpp).
           [](const Shared& s, py::handle X) {
             const MatrixView<const T> x = as_columns<T>(X);
             CArray<T> Y = new_samples<T>(x.cols, s.model.output_dim());
             const MatrixView<T> y{Y.mutable_data(), s.model.output_dim(), x.cols};
             {
               py::gil_scoped_release release;
               ReadLock lock(s.busy);
               s.model.predict(x, y, thread_scratch<T>());
             }
             return Y;
           },
           py::arg("X"))
      .def("evaluate",
           [](Shared& s, py::handle X, py::handle T_, std::string_view loss,
              py::handle sample_weight) {
             const NetworkBatch<T> b(X, T_, loss, sample_weight);
             py::gil_scoped_release release;
             Lock lock(s.busy);
             s.model.graph().set_loss(0, b.loss);
             return s.model.graph().evaluate(b.batch());
           },
           py::arg("X"), py::arg("T"), py::arg("loss"), py::arg("sample_weight") = py::none())
      .def("backward",
           [](Shared& s, py::handle X, py::handle T_, std::string_view loss,
              py::handle sample_weight) {
             const NetworkBatch<T> b(X, T_, loss, sample_weight);
             py::gil_scoped_release release;
             Lock lock(s.busy);
             s.model.graph().set_loss(0, b.loss);
             return s.model.graph().backward(b.batch());
           },
           py::arg("X"), py::arg("T"), py::arg("loss"), py::arg("sample_weight") = py::none())
      .def("train_step",
           [](Shared& s, py::handle X, py::handle T_, std::string_view loss,
              Optimizer& optimizer, py::handle sample_weight) {
             const NetworkBatch<T> b(X, T_, loss, sample_weight);
             py::gil_scoped_release release;
             Lock lock(s.busy);
             if (b.w == nullptr) return train_step(s.model, b.x, b.loss, b.t, optimizer);
             s.model.graph().set_loss(0, b.loss);
             return train_step(s.model.graph(), b.batch(), optimizer);
           },
           py::arg("X"), py::arg("T"), py::arg("loss"), py::arg("optimizer"),
           py::arg("sample_weight") = py::none())
      .def("fit",
           // Returns run_fit's dict: the epochs' records and why training stopped.
           [](Shared& s, py::handle X, py::handle T_, std::string_view loss,
              Optimizer& optimizer, std::size_t epochs, std::size_t batch_size, bool shuffle,
              std::uint64_t seed, py::handle sample_weight, py::handle X_val, py::handle T_val,
              std::optional<std::size_t> patience, double min_delta, bool restore_best,
              Schedule* schedule, const py::object& on_epoch) {
             const NetworkBatch<T> data(X, T_, loss, sample_weight);
             std::optional<NetworkBatch<T>> held_out;
             if (!X_val.is_none()) held_out.emplace(X_val, T_val, loss);
             const FitOptions options = fit_options(epochs, batch_size, shuffle, seed, patience,
                                                    min_delta, restore_best, schedule);
             return run_fit(options, on_epoch, [&](const FitOptions& o, const EpochCallback& cb) {
               Lock lock(s.busy);
               s.model.graph().set_loss(0, data.loss);
               const Batch<T> validation = held_out ? held_out->batch() : Batch<T>{};
               return fit(s.model.graph(), data.batch(), optimizer, o,
                          held_out ? &validation : nullptr, cb);
             });
           },
           py::arg("X"), py::arg("T"), py::arg("loss"), py::arg("optimizer"), py::arg("epochs"),
           py::arg("batch_size"), py::arg("shuffle"), py::arg("seed"),
           py::arg("sample_weight") = py::none(), py::arg("X_val") = py::none(),
           py::arg("T_val") = py::none(), py::arg("patience") = py::none(),
           py::arg("min_delta") = 0.0, py::arg("restore_best") = true,
           py::arg("schedule") = nullptr, py::arg("on_epoch") = py::none());
}

}  // namespace

ParameterInfoList parameter_info_list(const std::vector<ParameterInfo>& info) {
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
  py::register_exception<NonFiniteError>(m, "NonFiniteError", PyExc_FloatingPointError)
      .attr("__doc__") = R"doc(A NaN or infinite loss or gradient, or an update that would make a parameter or the optimizer's state NaN or infinite; the step changed neither.

A FloatingPointError.

Examples
--------
>>> import blasnet as bn
>>> net = bn.Sequential([bn.Dense(1)], input_dim=1, seed=0)
>>> try:
...     net.fit([[1.0], [2.0]], [[1e200], [-1e200]], loss="mse", optimizer=bn.SGD(lr=1.0))
... except bn.NonFiniteError as error:
...     print(error)
training stopped at epoch 0, step 1 (the batch from sample 0): the loss of output '0' is inf; no parameter was changed; the parameters and the optimizer's state are those fit started with
)doc";
  bind_network_type<double>(m, "NetworkF64");
  bind_network_type<float>(m, "NetworkF32");
}

}  // namespace blasnet::python
