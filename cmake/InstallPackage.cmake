# Installs the library, its headers and a CMake package: find_package(blasnet) then
# target_link_libraries(app PRIVATE blasnet::blasnet).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(BLASNET_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/blasnet)

install(TARGETS blasnet blasnet_cblas_headers blasnet_blas_library EXPORT blasnetTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY cpp/include/blasnet DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT blasnetTargets NAMESPACE blasnet:: DESTINATION ${BLASNET_INSTALL_CMAKEDIR})

configure_package_config_file(cmake/blasnetConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/blasnetConfig.cmake
  INSTALL_DESTINATION ${BLASNET_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/blasnetConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/blasnetConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/blasnetConfigVersion.cmake
  DESTINATION ${BLASNET_INSTALL_CMAKEDIR})
