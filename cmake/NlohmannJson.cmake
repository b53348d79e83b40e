# nlohmann/json, header-only, used by cpp/src/model_file.cpp, safetensors.cpp and strict_json.cpp
# alone. Defines nlohmann_json::nlohmann_json. The wheel's build takes the headers of the PyPI
# package nlohmann-json (a build requirement, which ships no CMake package); a plain CMake build
# takes the system's (Debian: nlohmann-json3-dev). Either way blasnet links it privately and only
# at build time, so the installed package does not depend on it.
if(blasnet_python_build)
  find_package(Python REQUIRED COMPONENTS Interpreter)
  # Located without importing the package, whose __init__ needs importlib_resources.
  execute_process(
    COMMAND "${Python_EXECUTABLE}" -c
      "import importlib.util, os; s = importlib.util.find_spec('nlohmann_json'); print(os.path.join(s.submodule_search_locations[0], 'include'))"
    OUTPUT_VARIABLE nlohmann_json_include_dir
    OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE nlohmann_json_status)
  if(NOT nlohmann_json_status EQUAL 0 OR NOT EXISTS "${nlohmann_json_include_dir}/nlohmann/json.hpp")
    message(FATAL_ERROR "nlohmann-json is a build requirement: pip install nlohmann-json")
  endif()
  message(STATUS "blasnet: nlohmann/json from ${nlohmann_json_include_dir}")
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  target_include_directories(nlohmann_json::nlohmann_json SYSTEM INTERFACE
    "${nlohmann_json_include_dir}")
else()
  find_package(nlohmann_json 3 REQUIRED)
endif()
