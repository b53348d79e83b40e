#include <blasnet/graph.hpp>
#include <blasnet/metrics.hpp>
#include <blasnet/network.hpp>
#include <blasnet/random.hpp>
#include <pybind11/numpy.h>

#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "guarded.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

// The sample order of each epoch of fit with shuffle=True: one Rng from the seed and one
// Fisher–Yates shuffle of the previous order per epoch, as training.cpp draws them, so a loop
// in Python (blasnet.distributed) visits the samples exactly as the C++ loop does.
class EpochOrder {
 public:
  EpochOrder(std::size_t n, std::uint64_t seed) : rng_(seed), order_(n) {
    std::iota(order_.begin(), order_.end(), std::size_t(0));
  }

  py::array_t<std::int64_t> next() {
    rng_.shuffle(order_);
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(order_.size()));
    std::int64_t* data = out.mutable_data();
    for (std::size_t j = 0; j < order_.size(); ++j) data[j] = static_cast<std::int64_t>(order_[j]);
    return out;
  }

 private:
  Rng rng_;
  std::vector<std::size_t> order_;
};

// The graph of a core network or graph of element type T, else nullptr.
template <typename T>
Graph<T>* graph_of(py::handle model) {
  if (py::isinstance<Guarded<Network<T>>>(model)) {
    return &model.cast<Guarded<Network<T>>&>().model.graph();
  }
  if (py::isinstance<Guarded<Graph<T>>>(model)) return &model.cast<Guarded<Graph<T>>&>().model;
  return nullptr;
}

// Right predictions of output i in the graph's last pass, as the core's training tally counts
// them (metrics.hpp): a canonical targets array of the graph's dtype, or int64 labels.
template <typename T>
std::size_t correct_of(const Graph<T>& graph, std::size_t i, py::handle targets) {
  if (i >= graph.plan().outputs.size()) {
    throw py::index_error("count_correct: no output " + std::to_string(i));
  }
  const Loss loss = graph.plan().outputs[i].loss;
  return count_correct<T>(loss, graph.output(i), as_targets<T>(targets, loss));
}

}  // namespace

void bind_distributed(py::module_& m) {
  py::class_<EpochOrder>(m, "EpochOrder",
                         "The sample order of each epoch of a shuffling fit, from its seed.")
      .def(py::init<std::size_t, std::uint64_t>(), py::arg("n"), py::arg("seed"))
      .def("next", &EpochOrder::next, "The next epoch's order: a permutation of range(n).");
  // Called by the one thread that trains, between its own calls: no lock is taken.
  m.def(
      "count_correct",
      [](py::handle model, std::size_t output, py::handle targets) {
        if (const Graph<double>* g = graph_of<double>(model)) return correct_of(*g, output, targets);
        if (const Graph<float>* g = graph_of<float>(model)) return correct_of(*g, output, targets);
        throw py::type_error("count_correct: not a core network or graph");
      },
      py::arg("model"), py::arg("output"), py::arg("targets"),
      "Samples whose output ``output`` in the model's last forward is right against\n"
      "``targets``, as fit's accuracy counts them.");
  m.def(
      "seed_dropout",
      [](py::handle model, std::uint64_t seed) {
        if (Graph<double>* g = graph_of<double>(model)) return g->seed_dropout(seed);
        if (Graph<float>* g = graph_of<float>(model)) return g->seed_dropout(seed);
        throw py::type_error("seed_dropout: not a core network or graph");
      },
      py::arg("model"), py::arg("seed"),
      "Restarts the stream the model's dropout masks are drawn from.");
}

}  // namespace blasnet::python
