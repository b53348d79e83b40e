// libFuzzer target: any bytes given to load_from_memory must either load or throw
// ModelFileError; a crash, a sanitizer report, another exception or a leak is a bug.
// A model that loads is run forward once, to check that what loading accepted is usable.

#include <blasnet/model_file.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

template <typename T>
void run_forward(blasnet::Graph<T>& graph) {
  std::vector<std::vector<T>> data;
  std::vector<blasnet::MatrixView<const T>> inputs;
  for (const blasnet::InputSpec& input : graph.plan().inputs) {
    if (input.dim > 4096) return;  // large but valid: nothing to learn from running it
    data.emplace_back(input.dim, T(0.5));
  }
  for (std::size_t i = 0; i < data.size(); ++i) {
    inputs.push_back({data[i].data(), data[i].size(), 1, data[i].size()});
  }
  graph.forward({inputs.data(), inputs.size()});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    blasnet::LoadedModel model = blasnet::load_from_memory(data, size, "fuzz");
    if (auto* graph = std::get_if<blasnet::Graph<float>>(&model.graph)) run_forward(*graph);
    if (auto* graph = std::get_if<blasnet::Graph<double>>(&model.graph)) run_forward(*graph);
    if (model.file.optimizer) blasnet::make_optimizer(*model.file.optimizer);
  } catch (const blasnet::ModelFileError&) {
    // The expected answer to bad bytes.
  }
  return 0;
}
