# The C++ package inside the wheel: headers, the static library and a CMake config under
# site-packages/blasnet, so that a C++ application can build against a pip install:
#   cmake -DCMAKE_PREFIX_PATH="$(python -m blasnet --cmake-dir)" ...
# The library calls the OpenBLAS of the scipy-openblas32 wheel, which the config finds beside
# blasnet in the same site-packages.
include(CMakePackageConfigHelpers)

install(TARGETS blasnet blasnet_cblas_headers blasnet_blas_library EXPORT blasnetTargets
  ARCHIVE DESTINATION blasnet/lib)
install(DIRECTORY cpp/include/blasnet DESTINATION ${BLASNET_INSTALL_INCLUDEDIR})
install(EXPORT blasnetTargets NAMESPACE blasnet:: DESTINATION blasnet/cmake)

configure_package_config_file(cmake/blasnetWheelConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/wheel/blasnetConfig.cmake
  INSTALL_DESTINATION blasnet/cmake)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/wheel/blasnetConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/wheel/blasnetConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/wheel/blasnetConfigVersion.cmake
  DESTINATION blasnet/cmake)
