#include <blasnet/graph.hpp>
#include <blasnet/schedules.hpp>
#include <blasnet/training.hpp>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "fitting.hpp"
#include "guarded.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

using InputTuple = std::tuple<std::string, std::size_t>;
using NodeTuple = std::tuple<std::string, std::vector<std::string>, std::size_t, std::string,
                             std::string, bool, double>;
using OutputTuple = std::tuple<std::string, std::string, double, std::string>;

GraphSpec to_spec(const std::vector<InputTuple>& inputs, const std::vector<NodeTuple>& nodes,
                  const std::vector<OutputTuple>& outputs) {
  GraphSpec spec;
  for (const auto& [name, dim] : inputs) spec.inputs.push_back({name, dim});
  for (const auto& [name, from, units, activation, share, transpose, dropout] : nodes) {
    spec.nodes.push_back({name, from, units, parse_activation(activation), share, transpose,
                          dropout});
  }
  for (const auto& [node, loss, weight, target] : outputs) {
    spec.outputs.push_back({node, parse_loss(loss), weight, target});
  }
  return spec;
}

// A call's arrays, one per input or output, as the stubs show them: list[Any].
using Arrays = py::typing::List<py::object>;

// The batch of a call, viewed in place: one array per input, one target per output (None
// for an output whose target is an input).
template <typename T>
struct BatchViews {
  std::vector<MatrixView<const T>> inputs;
  std::vector<Targets<T>> targets;
  const T* sample_weights = nullptr;

  BatchViews(const GraphPlan& plan, const py::list& X, const py::list& targets_,
             py::handle weights = py::none()) {
    for (py::handle x : X) inputs.push_back(as_columns<T>(x));
    for (std::size_t o = 0; o < plan.outputs.size() && o < targets_.size(); ++o) {
      targets.push_back(plan.outputs[o].target_input ? Targets<T>{}
                                                     : as_targets<T>(targets_[o], plan.outputs[o].loss));
    }
    sample_weights = as_weights<T>(weights);
  }
  Batch<T> batch() const {
    return {{inputs.data(), inputs.size()}, {targets.data(), targets.size()}, sample_weights};
  }
};

template <typename T>
void bind_graph_type(py::module_& m, const char* name) {
  using Shared = Guarded<Graph<T>>;
  py::class_<Shared>(m, name)
      .def(py::init([](const std::vector<InputTuple>& inputs, const std::vector<NodeTuple>& nodes,
                       const std::vector<OutputTuple>& outputs, std::uint64_t seed) {
             return std::make_unique<Shared>(to_spec(inputs, nodes, outputs), seed);
           }),
           py::arg("inputs"), py::arg("nodes"), py::arg("outputs"), py::arg("seed"))
      .def(py::init([](const std::vector<InputTuple>& inputs, const std::vector<NodeTuple>& nodes,
                       const std::vector<OutputTuple>& outputs, Shared& owner) {
             return std::make_unique<Shared>(ShareLock{owner.lock},
                                             GraphPlan::build(to_spec(inputs, nodes, outputs)),
                                             owner.model.parameters(), owner.model.gradients());
           }),
           // A graph over the buffers of `owner`, which it keeps alive, and under its lock.
           py::arg("inputs"), py::arg("nodes"), py::arg("outputs"), py::arg("owner"),
           py::keep_alive<1, 5>())
      .def_property_readonly("inputs",
                             [](const Shared& s)
                                 -> py::typing::List<py::typing::Tuple<std::string, std::size_t>> {
                               py::list out;
                               for (const InputSpec& in : s.model.plan().inputs) {
                                 out.append(py::make_tuple(in.name, in.dim));
                               }
                               return out;
                             })
      .def_property_readonly("outputs",
                             [](const Shared& s)
                                 -> py::typing::List<py::typing::Tuple<
                                     std::string, std::size_t, std::string, double,
                                     py::typing::Optional<py::str>>> {
                               const GraphPlan& plan = s.model.plan();
                               py::list out;
                               for (const PlannedOutput& o : plan.outputs) {
                                 py::object target = py::none();
                                 if (o.target_input) target = py::str(plan.inputs[*o.target_input].name);
                                 out.append(py::make_tuple(plan.nodes[o.node].name, plan.nodes[o.node].units,
                                                           std::string(loss_name(o.loss)), o.weight,
                                                           target));
                               }
                               return out;
                             })
      .def_property_readonly("nodes",
                             [](const Shared& s)
                                 -> py::typing::List<py::typing::Tuple<
                                     std::string, py::typing::List<py::str>, std::size_t,
                                     std::size_t, std::string>> {
                               const GraphPlan& plan = s.model.plan();
                               py::list out;
                               for (const PlannedNode& node : plan.nodes) {
                                 py::list from;
                                 for (const PlannedSource& src : node.sources) {
                                   from.append(src.is_input ? plan.inputs[src.index].name
                                                            : plan.nodes[src.index].name);
                                 }
                                 out.append(py::make_tuple(
                                     node.name, from, node.n_in(), node.units,
                                     std::string(activation_name(node.activation))));
                               }
                               return out;
                             })
      .def("parameter_info",
           [](const Shared& s) { return parameter_info_list(s.model.parameter_info()); })
      .def("parameter_buffer",
           [](py::object self) { return buffer_view(self.cast<Shared&>().model.parameters(), self); })
      .def("gradient_buffer",
           [](py::object self) { return buffer_view(self.cast<Shared&>().model.gradients(), self); })
      .def("output_losses", [](const Shared& s) { return s.model.output_losses(); })
      .def("forward",
           [](Shared& s, const Arrays& X, bool training) {
             const BatchViews<T> views(s.model.plan(), X, py::list());
             const GraphPlan& plan = s.model.plan();
             const std::size_t n = views.inputs.empty() ? 0 : views.inputs[0].cols;
             std::vector<CArray<T>> outs;
             std::vector<T*> data;
             for (const PlannedOutput& o : plan.outputs) {
               outs.push_back(new_samples<T>(n, plan.nodes[o.node].units));
               data.push_back(outs.back().mutable_data());
             }
             {
               py::gil_scoped_release release;
               Lock lock(s.busy);
               s.model.forward({views.inputs.data(), views.inputs.size()}, Checks::on,
                               training ? Mode::training : Mode::inference);
               for (std::size_t o = 0; o < data.size(); ++o) copy_samples(s.model.output(o), data[o]);
             }
             return outs;
           },
           py::arg("inputs"), py::arg("training") = false)
      .def("predict",
           // The inference pass straight into the results, sharing the graph with other
           // predictions (see guarded.hpp).
           [](const Shared& s, const Arrays& X) {
             const BatchViews<T> views(s.model.plan(), X, py::list());
             const GraphPlan& plan = s.model.plan();
             const std::size_t n = views.inputs.empty() ? 0 : views.inputs[0].cols;
             std::vector<CArray<T>> outs;
             std::vector<MatrixView<T>> Y;
             for (const PlannedOutput& o : plan.outputs) {
               const std::size_t units = plan.nodes[o.node].units;
               outs.push_back(new_samples<T>(n, units));
               Y.push_back({outs.back().mutable_data(), units, n});
             }
             {
               py::gil_scoped_release release;
               ReadLock lock(s.busy);
               s.model.predict({views.inputs.data(), views.inputs.size()}, {Y.data(), Y.size()},
                               thread_scratch<T>());
             }
             return outs;
           },
           py::arg("inputs"))
      .def("evaluate",
           [](Shared& s, const Arrays& X, const Arrays& targets, py::handle sample_weight) {
             const BatchViews<T> views(s.model.plan(), X, targets, sample_weight);
             py::gil_scoped_release release;
             Lock lock(s.busy);
             return s.model.evaluate(views.batch());
           },
           py::arg("inputs"), py::arg("targets"), py::arg("sample_weight") = py::none())
      .def("backward",
           [](Shared& s, const Arrays& X, const Arrays& targets, py::handle sample_weight) {
             const BatchViews<T> views(s.model.plan(), X, targets, sample_weight);
             py::gil_scoped_release release;
             Lock lock(s.busy);
             return s.model.backward(views.batch());
           },
           py::arg("inputs"), py::arg("targets"), py::arg("sample_weight") = py::none())
      .def("train_step",
           [](Shared& s, const Arrays& X, const Arrays& targets, Optimizer& optimizer,
              py::handle sample_weight) {
             const BatchViews<T> views(s.model.plan(), X, targets, sample_weight);
             py::gil_scoped_release release;
             Lock lock(s.busy);
             return train_step(s.model, views.batch(), optimizer);
           },
           py::arg("inputs"), py::arg("targets"), py::arg("optimizer"),
           py::arg("sample_weight") = py::none())
      .def("fit",
           // Returns run_fit's dict: the epochs' records and why training stopped.
           [](Shared& s, const Arrays& X, const Arrays& targets, Optimizer& optimizer,
              std::size_t epochs, std::size_t batch_size, bool shuffle, std::uint64_t seed,
              py::handle sample_weight, const std::optional<Arrays>& X_val,
              const std::optional<Arrays>& targets_val, std::optional<std::size_t> patience,
              double min_delta, bool restore_best, Schedule* schedule, const py::object& on_epoch) {
             const BatchViews<T> views(s.model.plan(), X, targets, sample_weight);
             std::optional<BatchViews<T>> validation;
             if (X_val) validation.emplace(s.model.plan(), *X_val, targets_val.value_or(py::list()));
             const FitOptions options = fit_options(epochs, batch_size, shuffle, seed, patience,
                                                    min_delta, restore_best, schedule);
             return run_fit(options, on_epoch, [&](const FitOptions& o, const EpochCallback& cb) {
               Lock lock(s.busy);
               const Batch<T> held_out = validation ? validation->batch() : Batch<T>{};
               return fit(s.model, views.batch(), optimizer, o, validation ? &held_out : nullptr,
                          cb);
             });
           },
           py::arg("inputs"), py::arg("targets"), py::arg("optimizer"), py::arg("epochs"),
           py::arg("batch_size"), py::arg("shuffle"), py::arg("seed"),
           py::arg("sample_weight") = py::none(), py::arg("X_val") = py::none(),
           py::arg("targets_val") = py::none(), py::arg("patience") = py::none(),
           py::arg("min_delta") = 0.0, py::arg("restore_best") = true,
           py::arg("schedule") = nullptr, py::arg("on_epoch") = py::none());
}

}  // namespace

void bind_graph(py::module_& m) {
  bind_graph_type<double>(m, "GraphF64");
  bind_graph_type<float>(m, "GraphF32");
}

}  // namespace blasnet::python
