#include <blasnet/activations.hpp>
#include <blasnet/layer.hpp>
#include <blasnet/losses.hpp>

#include <optional>
#include <stdexcept>
#include <string>

#include <pybind11/stl.h>

#include "bindings.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

DenseSpec make_dense(long long units, const std::string& activation,
                     const std::optional<std::string>& name, double dropout) {
  if (units <= 0) {
    throw std::invalid_argument("Dense: units must be positive, got " + std::to_string(units));
  }
  if (!(dropout >= 0 && dropout < 1)) {
    throw std::invalid_argument("Dense: dropout must be in [0, 1), got " + std::to_string(dropout));
  }
  return DenseSpec{static_cast<std::size_t>(units), parse_activation(activation),
                   name.value_or(""), dropout};
}

const char* const dense_doc = R"doc(
A fully connected layer, as declared to a network: ``Z = W·X + b·1ᵀ``, ``Y = f(Z)``. The
network that receives it sizes its weights from the layer before.

Parameters
----------
units : int
    Output units, positive.
activation : str, default "identity"
    One of ``blasnet.ACTIVATIONS``.
name : str, optional
    The layer's name in ``parameters()`` keys; its index when omitted.
dropout : float, default 0.0
    The fraction of the layer's outputs zeroed in training (inverted dropout), in [0, 1).

Examples
--------
>>> import blasnet as bn
>>> bn.Dense(16, activation="relu", name="hidden", dropout=0.1)
Dense(16, activation='relu', name='hidden', dropout=0.1)
>>> net = bn.Sequential([bn.Dense(4, activation="tanh"), bn.Dense(1)], input_dim=2, seed=0)
>>> {key: value.shape for key, value in net.parameters().items()}
{'0.W': (4, 2), '0.b': (4,), '1.W': (1, 4), '1.b': (1,)}
)doc";

// The names of every value of an enum, in declaration order.
template <typename Enum, std::size_t N, typename Name>
py::tuple names_of(const std::array<Enum, N>& values, Name name) {
  py::tuple out(N);
  for (std::size_t i = 0; i < N; ++i) out[i] = std::string(name(values[i]));
  return out;
}

}  // namespace

void bind_layers(py::module_& m) {
  using Names = py::typing::Tuple<py::str, py::ellipsis>;
  m.attr_with_type_hint<Names>("ACTIVATIONS") = names_of(all_activations, activation_name);
  m.attr_with_type_hint<Names>("LOSSES") = names_of(all_losses, loss_name);

  py::class_<DenseSpec>(m, "Dense", dense_doc)
      .def(py::init(&make_dense), py::arg("units"), py::arg("activation") = "identity",
           py::arg("name") = py::none(), py::arg("dropout") = 0.0)
      .def_property_readonly("units", [](const DenseSpec& s) { return s.units; }, "Output units.")
      .def_property_readonly("activation",
                             [](const DenseSpec& s) { return std::string(activation_name(s.activation)); },
                             "The activation's name.")
      .def_property_readonly("name", [](const DenseSpec& s) -> std::optional<std::string> {
        if (s.name.empty()) return std::nullopt;
        return s.name;
      }, "The layer's name, or None for its index.")
      .def_property_readonly("dropout", [](const DenseSpec& s) { return s.dropout; },
                             "The fraction of outputs zeroed in training.")
      .def("__repr__", [](const DenseSpec& s) {
        std::string r = "Dense(" + std::to_string(s.units) + ", activation='" +
                        std::string(activation_name(s.activation)) + "'";
        if (!s.name.empty()) r += ", name='" + s.name + "'";
        if (s.dropout > 0) r += ", dropout=" + py::repr(py::float_(s.dropout)).cast<std::string>();
        return r + ")";
      });
}

}  // namespace blasnet::python
