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

// The names of every value of an enum, in declaration order.
template <typename Enum, std::size_t N, typename Name>
py::tuple names_of(const std::array<Enum, N>& values, Name name) {
  py::tuple out(N);
  for (std::size_t i = 0; i < N; ++i) out[i] = std::string(name(values[i]));
  return out;
}

}  // namespace

void bind_layers(py::module_& m) {
  m.attr("ACTIVATIONS") = names_of(all_activations, activation_name);
  m.attr("LOSSES") = names_of(all_losses, loss_name);

  py::class_<DenseSpec>(m, "Dense")
      .def(py::init(&make_dense), py::arg("units"), py::arg("activation") = "identity",
           py::arg("name") = py::none(), py::arg("dropout") = 0.0)
      .def_property_readonly("units", [](const DenseSpec& s) { return s.units; })
      .def_property_readonly("activation",
                             [](const DenseSpec& s) { return std::string(activation_name(s.activation)); })
      .def_property_readonly("name", [](const DenseSpec& s) -> std::optional<std::string> {
        if (s.name.empty()) return std::nullopt;
        return s.name;
      })
      .def_property_readonly("dropout", [](const DenseSpec& s) { return s.dropout; })
      .def("__repr__", [](const DenseSpec& s) {
        std::string r = "Dense(" + std::to_string(s.units) + ", activation='" +
                        std::string(activation_name(s.activation)) + "'";
        if (!s.name.empty()) r += ", name='" + s.name + "'";
        if (s.dropout > 0) r += ", dropout=" + py::repr(py::float_(s.dropout)).cast<std::string>();
        return r + ")";
      });
}

}  // namespace blasnet::python
