#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "blasnet's C++ core: dense networks whose passes are BLAS matrix products";
  m.attr("__version__") = BLASNET_VERSION;
  blasnet::python::bind_blas(m);
  blasnet::python::bind_layers(m);
  blasnet::python::bind_optimizers(m);
  blasnet::python::bind_schedules(m);
  blasnet::python::bind_graph_spec(m);
  blasnet::python::bind_graph(m);
  blasnet::python::bind_model_file(m);
  blasnet::python::bind_perceptron(m);
}
