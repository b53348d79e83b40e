#include <blasnet/model_file.hpp>
#include <blasnet/network.hpp>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "bindings.hpp"
#include "guarded.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

// The optimizer is optional (None saves none); std::optional, not a bare pointer, so that the
// signature, and the stubs, say so.
template <typename T>
void bind_savers(py::module_& m) {
  m.def("save_graph",
        [](Guarded<Graph<T>>& s, const std::string& path, const std::string& kind,
           std::optional<const Optimizer*> optimizer, const std::string& extra) {
          py::gil_scoped_release release;
          Lock lock(s.busy);
          save(path, s.model, kind, optimizer.value_or(nullptr), extra);
        },
        py::arg("graph"), py::arg("path"), py::arg("kind"), py::arg("optimizer"),
        py::arg("extra"));
}

// The loaded graph, held as every Python model holds its core. A "sequential" file whose
// graph is no chain is a bad file, refused as load_network refuses it.
template <typename T>
py::object wrap(Graph<T>&& graph, const std::string& kind, const std::string& path) {
  if (kind == "sequential") {
    try {
      Network<T> chain(std::move(graph));
      return py::cast(std::make_unique<Guarded<Graph<T>>>(std::move(chain.graph())));
    } catch (const std::invalid_argument& e) {
      throw ModelFileError(path, e.what());
    }
  }
  return py::cast(std::make_unique<Guarded<Graph<T>>>(std::move(graph)));
}

// What load_model returns: the file's parts, and its graph as its kind's model holds it.
StrDict loaded_dict(LoadedModel&& loaded, const std::string& label) {
  const ModelFile& file = loaded.file;
  StrDict out;
  out["kind"] = file.kind;
  out["dtype"] = file.dtype;
  out["extra"] = file.extra;
  out["spec"] = file.spec;
  out["optimizer"] = file.optimizer ? py::cast(make_optimizer(*file.optimizer))
                                    : py::object(py::none());
  out["core"] = std::visit([&](auto& graph) { return wrap(std::move(graph), file.kind, label); },
                           loaded.graph);
  return out;
}

}  // namespace

void bind_model_file(py::module_& m) {
  py::register_exception<ModelFileError>(m, "ModelFileError", PyExc_ValueError).attr("__doc__") =
      R"doc(A model file that cannot be read or written; the message names the problem.

A ValueError.

Examples
--------
>>> import blasnet as bn
>>> try:
...     bn.load("missing.safetensors")
... except bn.ModelFileError as error:
...     print(error)
model file 'missing.safetensors': cannot open it: No such file or directory
)doc";
  bind_savers<double>(m);
  bind_savers<float>(m);
  m.def(
      "load_model",
      [](const std::string& path) -> StrDict {
        std::optional<LoadedModel> loaded;
        {
          py::gil_scoped_release release;
          loaded.emplace(load(path));
        }
        return loaded_dict(std::move(*loaded), path);
      },
      py::arg("path"),
      "Reads and checks a model file: {kind, dtype, extra, spec, optimizer, core}.");
  m.def(
      "load_model_bytes",
      [](const py::bytes& data) -> StrDict {
        const std::string_view bytes = data;  // data, alive and immutable, outlives the call
        std::optional<LoadedModel> loaded;
        {
          py::gil_scoped_release release;
          loaded.emplace(load_from_memory(bytes.data(), bytes.size(), "model bytes"));
        }
        return loaded_dict(std::move(*loaded), "model bytes");
      },
      py::arg("data"), "The same for the bytes of a model file.");
  m.def(
      "write_atomically",
      [](const std::string& path, const py::bytes& data) {
        const std::string_view bytes = data;  // data, alive and immutable, outlives the call
        py::gil_scoped_release release;
        write_atomically(path, bytes.data(), bytes.size());
      },
      py::arg("path"), py::arg("data"),
      "Writes data to path as model files are saved: atomically, leaving no litter.");
}

}  // namespace blasnet::python
