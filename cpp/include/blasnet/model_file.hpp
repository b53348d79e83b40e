#pragma once
// Model files one can trust: a graph's architecture, parameters and optimizer state in one
// safetensors file, saved atomically and checked in full before anything of it is used.
//
// The format is safetensors (https://github.com/huggingface/safetensors), so that the
// safetensors package or PyTorch read the weights:
//   8 bytes    N, the header's length, unsigned little-endian
//   N bytes    a JSON object, padded with spaces to a multiple of 8:
//                {"__metadata__": {"format": "blasnet", "blasnet": "<JSON text>"},
//                 "h.W": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]}, ...}
//   the rest   the tensors' bytes, little-endian, one after another
// Tensors are the parameters under their keys ("<node>.W", rows × cols row-major, and
// "<node>.b"), in parameter order, then the optimizer's state buffers
// ("__optimizer__.<buffer>", one value per parameter), all in the network's dtype.
// The "blasnet" metadata string is a JSON object (keys sorted, no spaces):
//   {"architecture": {"inputs": [{"dim", "name"}],
//                     "nodes": [{"activation", "dropout", "inputs", "name", "share",
//                                "transpose", "units"}],
//                     "outputs": [{"loss", "node", "target", "weight"}]},
//    "dtype": "float32" | "float64", "extra": {...}, "format_version": 1, "kind": "...",
//    "optimizer": null | {"name": "SGD" | "Adam" | "AdamW", "lr": α,
//                         "hyperparameters": {"momentum", "nesterov" (a bool),
//                                             "weight_decay"} for SGD,
//                                            {"beta_1", "beta_2", "epsilon",
//                                             "weight_decay"} for Adam and AdamW,
//                         "steps": t, "state": ["m", "v"] (the buffers saved, or [])}}
// Every key is required and no other is allowed.
//
// Loading checks, before allocating anything a file claims: the header's length (at most
// 100 MB and inside the file), its JSON (at most 64 levels deep, no repeated key), every
// tensor's dtype, shape (each size below 2³¹) and byte range (inside the data region,
// contiguous, not overlapping, nothing left over), the architecture (rebuilt through
// GraphPlan::build, so every check of a graph applies), and that the tensors are exactly the
// plan's parameters and the optimizer's buffers, each of its shape.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "blasnet/graph.hpp"
#include "blasnet/graph_spec.hpp"
#include "blasnet/network.hpp"
#include "blasnet/optimizers.hpp"

namespace blasnet {

// The format version this library writes and the only one it reads.
inline constexpr std::uint64_t model_file_version = 1;

// Anything wrong with saving or loading a model file. The message names the file and the
// problem: "model file 'net.safetensors': tensor 'h.W' has shape [4, 2]; the architecture
// needs [4, 3]".
// The message is valid UTF-8 whatever the file held: bytes that are not (quoted from a
// corrupt header), and NUL, are written as \xHH.
class ModelFileError : public std::runtime_error {
 public:
  ModelFileError(const std::string& path, const std::string& problem);
};

// An optimizer's rule, hyperparameters and state, apart from any Optimizer object.
struct OptimizerRecord {
  std::string name;  // "SGD", "Adam" or "AdamW"
  double lr = 0;
  // SGD: momentum, nesterov (0 or 1), weight_decay; Adam and AdamW: beta_1, beta_2,
  // epsilon, weight_decay.
  std::map<std::string, double> hyperparameters;
  std::size_t steps = 0;
  // The state buffers by name, in the order of Optimizer::state_names(), held in the
  // parameters' type; none before the first step.
  using Values = std::variant<std::vector<float>, std::vector<double>>;
  std::vector<std::pair<std::string, Values>> buffers;
};

// The record of SGD, Adam or AdamW. Throws std::invalid_argument for another optimizer.
OptimizerRecord record_optimizer(const Optimizer& optimizer);
// SGD, Adam or AdamW rebuilt from a record, with its steps and buffers. Throws
// std::invalid_argument for an unknown name, missing or unknown hyperparameters, values the
// constructor rejects, or buffers load_state rejects.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerRecord& record);

// What a model file says besides its tensors.
struct ModelFile {
  std::string kind;  // what the saver called the model: "graph", "sequential", ...
  GraphSpec spec;    // as declared, with each output's current loss
  std::string dtype;  // "float32" or "float64"
  std::optional<OptimizerRecord> optimizer;
  std::string extra = "{}";  // a JSON object's text, for the Python side (keys sorted)
};

// A file read back: its description and the graph, in the file's dtype, with its parameters.
struct LoadedModel {
  ModelFile file;
  std::variant<Graph<float>, Graph<double>> graph;
};

// Saves the graph's architecture and parameters, the optimizer's rule and state if given
// (its buffers must belong to this graph's parameters), and extra (a JSON object's text).
// Atomic: the file is written in the same folder, with no name where the filesystem allows
// (O_TMPFILE) and as "<path>.blasnet-<pid>-<random>.tmp" elsewhere, flushed to disk and
// renamed over path; on any failure the temporary file is removed, path is left as it was,
// and ModelFileError is thrown. A process killed while saving leaves at most such a temporary
// file, which the next save into the folder removes once it is stale (its writer no longer
// runs and it is a minute old, or it is a day old). A path holding a NUL byte is refused.
template <typename T>
void save(const std::string& path, const Graph<T>& graph, const std::string& kind = "graph",
          const Optimizer* optimizer = nullptr, const std::string& extra = "{}");
// The same for a network, saved with kind "sequential".
template <typename T>
void save(const std::string& path, const Network<T>& net, const Optimizer* optimizer = nullptr,
          const std::string& extra = "{}");
// size bytes written to path as save writes a model file: atomically, leaving at most a stale
// temporary file if killed, refusing a path holding a NUL byte; for a model file of another
// format (the ONNX export's). Throws ModelFileError.
void write_atomically(const std::string& path, const void* data, std::size_t size);

// Reads and checks a model file, in time linear in its size. Throws ModelFileError naming
// the problem (a path holding a NUL byte is one).
LoadedModel load(const std::string& path);
// The same from bytes in memory; label names them in messages.
LoadedModel load_from_memory(const void* data, std::size_t size,
                             const std::string& label = "<memory>");

// The graph of a file of any kind, or the network of a "sequential" one; throws
// ModelFileError if the file holds the other dtype, or (load_network) another kind.
template <typename T>
Graph<T> load_graph(const std::string& path);
template <typename T>
Network<T> load_network(const std::string& path);

}  // namespace blasnet
