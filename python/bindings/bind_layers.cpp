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
                     const std::optional<std::string>& name) {
  if (units <= 0) {
    throw std::invalid_argument("Dense: units must be positive, got " + std::to_string(units));
  }
  return DenseSpec{static_cast<std::size_t>(units), parse_activation(activation),
                   name.value_or("")};
}

py::tuple split_names(const std::string& names) {
  py::list out;
  std::size_t start = 0;
  while (start <= names.size()) {
    const std::size_t comma = names.find(", ", start);
    const std::size_t end = comma == std::string::npos ? names.size() : comma;
    out.append(names.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  return py::tuple(out);
}

}  // namespace

void bind_layers(py::module_& m) {
  m.attr("ACTIVATIONS") = split_names(activation_names());
  m.attr("LOSSES") = split_names(loss_names());

  py::class_<DenseSpec>(m, "Dense")
      .def(py::init(&make_dense), py::arg("units"), py::arg("activation") = "identity",
           py::arg("name") = py::none())
      .def_property_readonly("units", [](const DenseSpec& s) { return s.units; })
      .def_property_readonly("activation",
                             [](const DenseSpec& s) { return std::string(activation_name(s.activation)); })
      .def_property_readonly("name", [](const DenseSpec& s) -> std::optional<std::string> {
        if (s.name.empty()) return std::nullopt;
        return s.name;
      })
      .def("__repr__", [](const DenseSpec& s) {
        std::string r = "Dense(" + std::to_string(s.units) + ", activation='" +
                        std::string(activation_name(s.activation)) + "'";
        if (!s.name.empty()) r += ", name='" + s.name + "'";
        return r + ")";
      });
}

}  // namespace blasnet::python
