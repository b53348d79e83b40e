# The extension blasnet._core, built only by scikit-build-core.
find_package(pybind11 CONFIG REQUIRED)

pybind11_add_module(_core
  python/bindings/module.cpp
  python/bindings/bind_blas.cpp
  python/bindings/bind_graph.cpp
  python/bindings/bind_graph_spec.cpp
  python/bindings/bind_layers.cpp
  python/bindings/bind_model_file.cpp
  python/bindings/bind_optimizers.cpp
  python/bindings/bind_perceptron.cpp
  python/bindings/bind_schedules.cpp
)
target_include_directories(_core PRIVATE python/bindings)
target_link_libraries(_core PRIVATE blasnet)
target_compile_definitions(_core PRIVATE BLASNET_VERSION="${PROJECT_VERSION}")
# blasnet/__init__.py imports scipy_openblas32 first, which loads the library; this RUNPATH
# is the fallback for a plain `import blasnet._core`.
set_target_properties(_core PROPERTIES INSTALL_RPATH "$ORIGIN/../scipy_openblas32/lib")
install(TARGETS _core LIBRARY DESTINATION blasnet)
