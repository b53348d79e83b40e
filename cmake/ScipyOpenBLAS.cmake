# The OpenBLAS of the scipy-openblas32 wheel, located through its Python helpers (its
# pkg-config route loses the library under --as-needed and bakes a temporary build path into
# RUNPATH). Defines blasnet_cblas_headers and blasnet_blas_library.
find_package(Python REQUIRED COMPONENTS Interpreter Development.Module)

execute_process(
  COMMAND "${Python_EXECUTABLE}" -c
    "import scipy_openblas32 as s; print(s.get_include_dir()); print(s.get_lib_dir()); print(s.get_library())"
  OUTPUT_VARIABLE scipy_openblas_info
  OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE scipy_openblas_status)
if(NOT scipy_openblas_status EQUAL 0)
  message(FATAL_ERROR "scipy-openblas32 is a build requirement: pip install scipy-openblas32")
endif()
string(REPLACE "\n" ";" scipy_openblas_info "${scipy_openblas_info}")
list(GET scipy_openblas_info 0 scipy_openblas_include_dir)
list(GET scipy_openblas_info 1 scipy_openblas_lib_dir)
list(GET scipy_openblas_info 2 scipy_openblas_name)

# Searched anew on every configure: the build environment, and so the path, is temporary.
find_library(scipy_openblas_library NAMES ${scipy_openblas_name}
  PATHS "${scipy_openblas_lib_dir}" NO_DEFAULT_PATH NO_CACHE REQUIRED)
message(STATUS "blasnet: BLAS is ${scipy_openblas_library}")

# The paths are the build's own: the CMake package inside the wheel finds the library again
# beside itself (WheelPackage.cmake), so they stay out of its exported targets.
add_library(blasnet_cblas_headers INTERFACE)
target_include_directories(blasnet_cblas_headers INTERFACE
  "$<BUILD_INTERFACE:${scipy_openblas_include_dir}>")
target_compile_definitions(blasnet_cblas_headers INTERFACE BLAS_SYMBOL_PREFIX=scipy_)

add_library(blasnet_blas_library INTERFACE)
target_link_libraries(blasnet_blas_library INTERFACE "$<BUILD_INTERFACE:${scipy_openblas_library}>")
