// predict: a C++ application that loads a model file saved from Python (Sequential.save,
// Graph.save) and prints its predictions, one sample a line, values separated by commas.
//
//   predict MODEL.safetensors [SAMPLES.csv]
//
// Samples are numbers separated by commas or blanks, one sample a line (read from stdin when no
// CSV is given); '#' starts a comment. A "sequential" file is run as a Network, any other kind
// (one input) as a Graph, whose outputs are printed side by side in the file's output order.
// Exits with 1 and a message naming the problem for a bad model file or bad samples.
//
// Build against either install of blasnet (see CMakeLists.txt):
//   cmake -S examples/cpp -B build/predict -DCMAKE_PREFIX_PATH="$(python -m blasnet --cmake-dir)"
//   cmake --build build/predict
//   build/predict/predict net.safetensors samples.csv
// examples/cpp/make_model.py writes a model and the predictions Python makes of its samples.

#include <blasnet/blasnet.hpp>
#include <blasnet/model_file.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Samples as columns: X (dim × n), column-major, one sample per column.
std::vector<double> read_samples(std::istream& in, const std::string& source, std::size_t dim,
                                 std::size_t& n) {
  std::vector<double> X;
  std::string line;
  n = 0;
  for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
    line = line.substr(0, line.find('#'));
    for (char& c : line) {
      if (c == ',' || c == ';' || c == '\t') c = ' ';
    }
    std::istringstream fields(line);
    std::vector<double> sample;
    std::string field;
    while (fields >> field) {
      std::size_t used = 0;
      double value = 0;
      try {
        value = std::stod(field, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != field.size()) {
        throw std::invalid_argument(source + ":" + std::to_string(line_no) + ": '" + field +
                                    "' is not a number");
      }
      sample.push_back(value);
    }
    if (sample.empty()) continue;
    if (sample.size() != dim) {
      throw std::invalid_argument(source + ":" + std::to_string(line_no) + ": " +
                                  std::to_string(sample.size()) + " values, the model takes " +
                                  std::to_string(dim));
    }
    X.insert(X.end(), sample.begin(), sample.end());
    ++n;
  }
  if (n == 0) throw std::invalid_argument(source + ": no samples");
  return X;
}

// Prints Y (rows × n, column-major) one sample a line, exactly enough digits to round-trip.
void print_columns(const std::vector<double>& Y, std::size_t rows, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < rows; ++i) {
      std::printf(i ? ",%.17g" : "%.17g", Y[i + j * rows]);
    }
    std::printf("\n");
  }
}

int run(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s MODEL.safetensors [SAMPLES.csv]  (samples from stdin if none)\n",
                 argv[0]);
    return 2;
  }
  const std::string model_path = argv[1];
  // The description alone decides how to run it (load checks the whole file first).
  const blasnet::LoadedModel loaded = blasnet::load(model_path);
  if (loaded.file.dtype != "float64") {
    // load_graph<double> would refuse a float32 file; a float32 build of this tool would not.
    throw std::invalid_argument("model file '" + model_path + "' holds " + loaded.file.dtype +
                                " parameters; this tool predicts in float64");
  }
  if (loaded.file.spec.inputs.size() != 1) {
    throw std::invalid_argument("model file '" + model_path + "' has " +
                                std::to_string(loaded.file.spec.inputs.size()) +
                                " inputs; this tool feeds one");
  }
  const std::size_t dim = loaded.file.spec.inputs[0].dim;

  std::size_t n = 0;
  std::vector<double> X;
  if (argc == 3) {
    std::ifstream file(argv[2]);
    if (!file) throw std::invalid_argument(std::string("cannot open '") + argv[2] + "'");
    X = read_samples(file, argv[2], dim, n);
  } else {
    X = read_samples(std::cin, "<stdin>", dim, n);
  }
  const blasnet::MatrixView<const double> x(X.data(), dim, n);
  blasnet::InferenceScratch<double> scratch;

  if (loaded.file.kind == "sequential") {
    const blasnet::Network<double> net = blasnet::load_network<double>(model_path);
    std::vector<double> Y(net.output_dim() * n);
    net.predict(x, blasnet::MatrixView<double>(Y.data(), net.output_dim(), n), scratch);
    print_columns(Y, net.output_dim(), n);
    return 0;
  }
  // Any other kind: every output, stacked (rows of each output, in the file's output order).
  const blasnet::Graph<double> graph = blasnet::load_graph<double>(model_path);
  std::size_t rows = 0;
  std::vector<std::size_t> units;
  for (const blasnet::OutputSpec& out : loaded.file.spec.outputs) {
    for (const blasnet::NodeSpec& node : loaded.file.spec.nodes) {
      if (node.name == out.node) units.push_back(node.units);
    }
    rows += units.back();
  }
  std::vector<double> Y(rows * n);
  std::vector<blasnet::MatrixView<double>> outputs;
  std::size_t offset = 0;
  for (std::size_t u : units) {
    outputs.emplace_back(Y.data() + offset, u, n, rows);  // leading dimension: all outputs
    offset += u;
  }
  graph.predict({&x, 1}, {outputs.data(), outputs.size()}, scratch);
  print_columns(Y, rows, n);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const blasnet::ModelFileError& e) {
    std::fprintf(stderr, "predict: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "predict: %s\n", e.what());
  }
  return 1;
}
