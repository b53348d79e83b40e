#include <blasnet/graph.hpp>
#include <blasnet/schedules.hpp>
#include <blasnet/training.hpp>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <stdexcept>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "fitting.hpp"
#include "guarded.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

// One array per input or per output, as the stubs then say.
using Arrays = py::typing::List<py::object>;

// The loss of a call: for a one-output graph (a Sequential) the call may name it, and it
// stays the output's loss afterwards, as Network's calls set it.
std::optional<Loss> call_loss(const GraphPlan& plan, const std::optional<std::string>& loss) {
  if (!loss) return std::nullopt;
  if (plan.outputs.size() != 1) {
    throw std::invalid_argument("loss= is for a graph of one output; this one has " +
                                std::to_string(plan.outputs.size()));
  }
  return parse_loss(*loss);
}

// The batch of a call: one array per input, one target per output (None for an output whose
// target is an input), and sample weights, read in place or converted once (arrays.hpp). An
// error names an array as the user knows it: X and T for a graph of one input and one output
// with targets (a Sequential), else by input and output name; "validation " before either for
// fit's validation data.
std::string input_label(const GraphPlan& plan, std::size_t i) {
  return plan.inputs.size() == 1 ? "X" : "input '" + plan.inputs[i].name + "'";
}

std::string target_label(const GraphPlan& plan, std::size_t o) {
  std::size_t given = 0;
  for (const PlannedOutput& out : plan.outputs) given += out.target_input ? 0 : 1;
  return given == 1 ? "T" : "targets of '" + plan.nodes[plan.outputs[o].node].name + "'";
}

// Up to four values side by side without a heap allocation (a small step's every call has one
// input and one target), more in a vector.
template <typename V>
class FewValues {
 public:
  void push_back(const V& v) {
    if (size_ < few_.size()) {
      few_[size_] = v;
    } else {
      if (more_.empty()) more_.assign(few_.begin(), few_.end());
      more_.push_back(v);
    }
    ++size_;
  }
  const V* data() const { return size_ <= few_.size() ? few_.data() : more_.data(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const V& operator[](std::size_t i) const { return data()[i]; }

 private:
  std::array<V, 4> few_{};
  std::vector<V> more_;
  std::size_t size_ = 0;
};

template <typename T>
struct BatchViews {
  CallArrays<T> arrays;
  FewValues<MatrixView<const T>> inputs;
  FewValues<Targets<T>> targets;
  const T* sample_weights = nullptr;

  BatchViews(const GraphPlan& plan, const Arrays& X, const Arrays& targets_,
             py::handle weights = py::none(), std::optional<Loss> loss = std::nullopt,
             const char* prefix = "") {
    if (X.size() != plan.inputs.size()) {
      throw std::invalid_argument("graph: " + std::to_string(X.size()) + " input arrays for " +
                                  std::to_string(plan.inputs.size()) + " inputs");
    }
    for (std::size_t i = 0; i < plan.inputs.size(); ++i) {
      inputs.push_back(arrays.samples(X[i], [&] { return prefix + input_label(plan, i); }));
    }
    for (std::size_t o = 0; o < plan.outputs.size() && o < targets_.size(); ++o) {
      const PlannedOutput& out = plan.outputs[o];
      if (out.target_input) {
        targets.push_back(Targets<T>{});
        continue;
      }
      targets.push_back(arrays.targets(targets_[o], loss.value_or(out.loss),
                                       plan.nodes[out.node].units,
                                       [&] { return prefix + target_label(plan, o); }));
    }
    sample_weights = arrays.weights(weights, inputs.empty() ? 0 : inputs[0].cols);
  }
  Batch<T> batch() const {
    return {{inputs.data(), inputs.size()}, {targets.data(), targets.size()}, sample_weights};
  }
};

// call(batch) on the graph, held exclusively and without the GIL, after setting the loss the
// call names (a Sequential's): evaluate, backward and train_step.
template <typename T, typename Call>
double on_batch(Guarded<Graph<T>>& s, const Arrays& X, const Arrays& targets,
                py::handle sample_weight, const std::optional<std::string>& loss, Call&& call) {
  const std::optional<Loss> set = call_loss(s.model.plan(), loss);
  const BatchViews<T> views(s.model.plan(), X, targets, sample_weight, set);
  py::gil_scoped_release release;
  Lock lock(s.busy);
  if (set) s.model.set_loss(0, *set);
  return call(views.batch());
}

template <typename T>
void bind_graph_type(py::module_& m, const char* name) {
  using Shared = Guarded<Graph<T>>;
  py::class_<Shared>(m, name)
      .def(py::init([](const GraphSpec& spec, std::uint64_t seed) {
             return std::make_unique<Shared>(spec, seed);
           }),
           py::arg("spec"), py::arg("seed"))
      .def(py::init([](const GraphSpec& spec, Shared& owner) {
             return std::make_unique<Shared>(ShareLock{owner.lock}, GraphPlan::build(spec),
                                             owner.model.parameters(), owner.model.gradients());
           }),
           // A graph over the buffers of `owner`, which it keeps alive, and under its lock.
           py::arg("spec"), py::arg("owner"), py::keep_alive<1, 3>())
      .def_property_readonly("spec", [](const Shared& s) { return s.model.plan().spec; },
                             "The declarations the graph was built from.")
      .def_property_readonly("inputs", [](const Shared& s) { return s.model.plan().inputs; })
      .def_property_readonly("nodes", [](const Shared& s) { return planned_nodes(s.model.plan()); },
                             "The dense nodes in the order the forward pass runs them.")
      .def_property_readonly("outputs",
                             [](const Shared& s) { return planned_outputs(s.model.plan()); })
      .def_property_readonly(
          "input_labels",
          [](const Shared& s) {
            std::vector<std::string> out;
            for (std::size_t i = 0; i < s.model.plan().inputs.size(); ++i) {
              out.push_back(input_label(s.model.plan(), i));
            }
            return out;
          },
          "How errors name each input: X for a graph of one, else by name.")
      .def_property_readonly(
          "target_labels",
          [](const Shared& s) {
            std::vector<std::string> out;
            for (std::size_t o = 0; o < s.model.plan().outputs.size(); ++o) {
              out.push_back(target_label(s.model.plan(), o));
            }
            return out;
          },
          "How errors name each output's targets: T where one output has targets, else by name.")
      .def("parameter_info", [](const Shared& s) { return s.model.parameter_info(); })
      .def("parameter_buffer",
           [](py::object self) { return buffer_view(self.cast<Shared&>().model.parameters(), self); })
      .def("gradient_buffer",
           [](py::object self) { return buffer_view(self.cast<Shared&>().model.gradients(), self); })
      .def("output_losses", [](const Shared& s) { return s.model.output_losses(); })
      .def("forward",
           [](Shared& s, const Arrays& X, bool training) {
             const BatchViews<T> views(s.model.plan(), X, Arrays());
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
             const BatchViews<T> views(s.model.plan(), X, Arrays());
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
           [](Shared& s, const Arrays& X, const Arrays& targets, py::handle sample_weight,
              const std::optional<std::string>& loss) {
             return on_batch(s, X, targets, sample_weight, loss,
                             [&](const Batch<T>& b) { return s.model.evaluate(b); });
           },
           py::arg("inputs"), py::arg("targets"), py::arg("sample_weight") = py::none(),
           py::arg("loss") = py::none())
      .def("backward",
           [](Shared& s, const Arrays& X, const Arrays& targets, py::handle sample_weight,
              const std::optional<std::string>& loss) {
             return on_batch(s, X, targets, sample_weight, loss,
                             [&](const Batch<T>& b) { return s.model.backward(b); });
           },
           py::arg("inputs"), py::arg("targets"), py::arg("sample_weight") = py::none(),
           py::arg("loss") = py::none())
      .def("train_step",
           [](Shared& s, const Arrays& X, const Arrays& targets, Optimizer& optimizer,
              py::handle sample_weight, const std::optional<std::string>& loss) {
             return on_batch(s, X, targets, sample_weight, loss,
                             [&](const Batch<T>& b) { return train_step(s.model, b, optimizer); });
           },
           py::arg("inputs"), py::arg("targets"), py::arg("optimizer"),
           py::arg("sample_weight") = py::none(), py::arg("loss") = py::none())
      .def("fit",
           // Returns run_fit's dict: the epochs' records and why training stopped.
           [](py::object self, const Arrays& X, const Arrays& targets, Optimizer& optimizer,
              std::size_t epochs, std::size_t batch_size, bool shuffle, std::uint64_t seed,
              py::handle sample_weight, const std::optional<Arrays>& X_val,
              const std::optional<Arrays>& targets_val, std::optional<std::size_t> patience,
              double min_delta, bool restore_best, Schedule* schedule, const py::object& on_epoch,
              const std::optional<std::string>& loss,
              const std::optional<std::pair<std::size_t, std::size_t>>& shard,
              const py::object& hook) {
             Shared& s = self.cast<Shared&>();
             const std::optional<Loss> set = call_loss(s.model.plan(), loss);
             const BatchViews<T> views(s.model.plan(), X, targets, sample_weight, set);
             std::optional<BatchViews<T>> validation;
             if (X_val) {
               validation.emplace(s.model.plan(), *X_val, targets_val.value_or(Arrays()),
                                  py::none(), set, "validation ");
             }
             FitOptions options = fit_options(epochs, batch_size, shuffle, seed, patience,
                                              min_delta, restore_best, schedule);
             if (shard) options.shard = {shard->first, shard->second};
             std::optional<PythonHook> python_hook;
             if (!hook.is_none()) options.hook = &python_hook.emplace(hook, self);
             return run_fit(options, on_epoch, [&](const FitOptions& o, const EpochCallback& cb) {
               Lock lock(s.busy);
               if (set) s.model.set_loss(0, *set);
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
           py::arg("schedule") = nullptr, py::arg("on_epoch") = py::none(),
           py::arg("loss") = py::none(), py::arg("shard") = py::none(),
           py::arg("hook") = py::none(),
           "Epochs of minibatch training in C++ (training.hpp). With shard=(rank, size) and a\n"
           "hook, one process of a data-parallel run: hook.gradient(g) gets the flat gradient\n"
           "buffer after each backward pass and hook.epoch_sums(a) each epoch's sums, and each\n"
           "must replace its array's values in place by their sums over the processes.");
}

}  // namespace

void bind_graph(py::module_& m) {
  m.def(
      "shard_part",
      [](std::size_t count, std::size_t rank, std::size_t size) {
        const RowShard shard{rank, size};
        shard.check();
        return shard.part(count);
      },
      py::arg("count"), py::arg("rank"), py::arg("size"),
      R"doc((first, count) of the part of a batch of count samples that rank computes in a
data-parallel fit of size processes (RowShard::part, training.hpp).

Examples
--------
>>> from blasnet import _core
>>> [_core.shard_part(10, rank, 3) for rank in range(3)]
[(0, 4), (4, 3), (7, 3)]
)doc");
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
  bind_graph_type<double>(m, "GraphF64");
  bind_graph_type<float>(m, "GraphF32");
}

}  // namespace blasnet::python
