# The system's OpenBLAS and its cblas.h (Debian: libopenblas-dev), for C++ users.
# Defines blasnet_cblas_headers and blasnet_blas_library.
if(NOT DEFINED BLA_VENDOR)
  set(BLA_VENDOR OpenBLAS)
endif()
find_package(BLAS REQUIRED)

find_path(BLASNET_CBLAS_INCLUDE_DIR cblas.h
  PATH_SUFFIXES openblas openblas-pthread x86_64-linux-gnu/openblas-pthread
  DOC "Folder holding the cblas.h of the BLAS that blasnet links")
if(NOT BLASNET_CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "cblas.h not found: install OpenBLAS's headers (Debian: libopenblas-dev)")
endif()

add_library(blasnet_cblas_headers INTERFACE)
target_include_directories(blasnet_cblas_headers INTERFACE "${BLASNET_CBLAS_INCLUDE_DIR}")

# Exported with blasnet: consumers of the static library link the same BLAS again, found by
# blasnetConfig.cmake.
add_library(blasnet_blas_library INTERFACE)
target_link_libraries(blasnet_blas_library INTERFACE BLAS::BLAS)
