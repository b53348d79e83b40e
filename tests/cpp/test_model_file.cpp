// model_file.hpp: graphs and networks saved and loaded bit for bit, with the same forward
// outputs; optimizer state that continues training exactly where it stopped; the file read
// back as plain safetensors by an independent parse; atomic saves that never destroy the
// previous file; and every file of the bad-model corpus (tests/data/bad_models) refused with
// a ModelFileError naming its problem.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "blasnet/model_file.hpp"
#include "temp_dir.hpp"
#include "blasnet/training.hpp"

namespace {

using blasnet_test::files_in;
using blasnet_test::read_bytes;
using blasnet_test::TempDir;

using blasnet::Activation;
using blasnet::Batch;
using blasnet::Graph;
using blasnet::GraphSpec;
using blasnet::Loss;
using blasnet::MatrixView;
using blasnet::ModelFileError;
using blasnet::Network;
using blasnet::Span;
using blasnet::Targets;
using json = nlohmann::json;

const std::string data_dir = BLASNET_TEST_DATA_DIR;

template <typename T>
std::string bytes_of(Span<T> s) {
  return {reinterpret_cast<const char*>(s.data), s.size * sizeof(T)};
}

// Two inputs, dropout, a tied decoder (Wᵀ), one node applied twice (shared W and b), two
// outputs of different losses and weights, one taking its target from an input.
GraphSpec rich_spec() {
  GraphSpec spec;
  spec.inputs = {{"x", 4}, {"y", 2}};
  spec.nodes = {{"enc", {"x"}, 3, Activation::relu, "", false, 0.25},
                {"dec", {"enc"}, 4, Activation::sigmoid, "enc", true, 0},
                {"step1", {"enc", "y"}, 3, Activation::tanh, "", false, 0},
                {"step2", {"step1", "y"}, 3, Activation::tanh, "step1", false, 0},
                {"cls", {"step2"}, 2, Activation::softmax, "", false, 0}};
  spec.outputs = {{"dec", Loss::mse, 1.0, "x"}, {"cls", Loss::softmax_cross_entropy, 0.5, ""}};
  return spec;
}

// Samples in [-1, 1), deterministic.
template <typename T>
std::vector<T> samples(std::size_t count, std::uint64_t seed) {
  blasnet::Rng rng(seed);
  std::vector<T> out(count);
  for (T& v : out) v = T(rng.uniform(-1, 1));
  return out;
}

template <typename T>
std::vector<std::vector<T>> graph_outputs(Graph<T>& graph, const std::vector<T>& x,
                                          const std::vector<T>& y, std::size_t n) {
  const MatrixView<const T> inputs[] = {{x.data(), 4, n}, {y.data(), 2, n}};
  graph.forward({inputs, 2});
  std::vector<std::vector<T>> out;
  for (std::size_t i = 0; i < graph.plan().outputs.size(); ++i) {
    const MatrixView<const T> Y = graph.output(i);
    out.emplace_back(Y.data, Y.data + Y.rows * Y.cols);
  }
  return out;
}

void expect_same_spec(const GraphSpec& a, const GraphSpec& b) {
  ASSERT_EQ(a.inputs.size(), b.inputs.size());
  for (std::size_t i = 0; i < a.inputs.size(); ++i) {
    EXPECT_EQ(a.inputs[i].name, b.inputs[i].name);
    EXPECT_EQ(a.inputs[i].dim, b.inputs[i].dim);
  }
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (std::size_t k = 0; k < a.nodes.size(); ++k) {
    EXPECT_EQ(a.nodes[k].name, b.nodes[k].name);
    EXPECT_EQ(a.nodes[k].inputs, b.nodes[k].inputs);
    EXPECT_EQ(a.nodes[k].units, b.nodes[k].units);
    EXPECT_EQ(a.nodes[k].activation, b.nodes[k].activation);
    EXPECT_EQ(a.nodes[k].share, b.nodes[k].share);
    EXPECT_EQ(a.nodes[k].transpose, b.nodes[k].transpose);
    EXPECT_EQ(a.nodes[k].dropout, b.nodes[k].dropout);
  }
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  for (std::size_t i = 0; i < a.outputs.size(); ++i) {
    EXPECT_EQ(a.outputs[i].node, b.outputs[i].node);
    EXPECT_EQ(a.outputs[i].loss, b.outputs[i].loss);
    EXPECT_EQ(a.outputs[i].weight, b.outputs[i].weight);
    EXPECT_EQ(a.outputs[i].target, b.outputs[i].target);
  }
}

template <typename T>
class ModelFileRoundTrip : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ModelFileRoundTrip, Scalars);

TYPED_TEST(ModelFileRoundTrip, GraphKeepsArchitectureParametersAndOutputs) {
  using T = TypeParam;
  TempDir dir;
  Graph<T> graph(rich_spec(), 7);
  // Non-zero biases too, so that a bias mixed up with another shows.
  const std::vector<T> noise = samples<T>(graph.parameters().size, 3);
  std::copy(noise.begin(), noise.end(), graph.parameters().begin());
  blasnet::save(dir / "g.safetensors", graph, "graph", nullptr, R"({"note": "rich", "n": [1, 2]})");

  blasnet::LoadedModel loaded = blasnet::load(dir / "g.safetensors");
  EXPECT_EQ(loaded.file.kind, "graph");
  EXPECT_EQ(loaded.file.dtype, (std::is_same<T, float>::value ? "float32" : "float64"));
  EXPECT_FALSE(loaded.file.optimizer.has_value());
  EXPECT_EQ(json::parse(loaded.file.extra), json::parse(R"({"n": [1, 2], "note": "rich"})"));
  expect_same_spec(loaded.file.spec, rich_spec());
  ASSERT_TRUE(std::holds_alternative<Graph<T>>(loaded.graph));
  Graph<T>& copy = std::get<Graph<T>>(loaded.graph);
  EXPECT_EQ(bytes_of(copy.parameters()), bytes_of(graph.parameters()));
  ASSERT_EQ(copy.parameter_info().size(), graph.parameter_info().size());

  const std::size_t n = 5;
  const std::vector<T> x = samples<T>(4 * n, 11), y = samples<T>(2 * n, 12);
  const auto expected = graph_outputs(graph, x, y, n);
  EXPECT_EQ(graph_outputs(copy, x, y, n), expected);

  Graph<T> typed = blasnet::load_graph<T>(dir / "g.safetensors");
  EXPECT_EQ(graph_outputs(typed, x, y, n), expected);
  using Other = std::conditional_t<std::is_same<T, float>::value, double, float>;
  EXPECT_THROW(blasnet::load_graph<Other>(dir / "g.safetensors"), ModelFileError);
  EXPECT_THROW(blasnet::load_network<T>(dir / "g.safetensors"), ModelFileError);
}

TYPED_TEST(ModelFileRoundTrip, NetworkKeepsLayersAndItsLastLoss) {
  using T = TypeParam;
  TempDir dir;
  Network<T> net(3, {{5, Activation::relu, "hidden", 0.1}, {2, Activation::sigmoid, "out"}}, 1);
  const std::vector<T> X = samples<T>(3 * 6, 5), t = samples<T>(2 * 6, 6);
  std::vector<T> targets(t.size());
  std::transform(t.begin(), t.end(), targets.begin(), [](T v) { return v > 0 ? T(1) : T(0); });
  const MatrixView<const T> x(X.data(), 3, 6);
  net.backward(x, Loss::binary_cross_entropy,
               Targets<T>::dense(MatrixView<const T>(targets.data(), 2, 6)));
  blasnet::save(dir / "n.safetensors", net);

  Network<T> copy = blasnet::load_network<T>(dir / "n.safetensors");
  EXPECT_EQ(copy.input_dim(), 3u);
  EXPECT_EQ(copy.output_dim(), 2u);
  EXPECT_EQ(copy.layer_count(), 2u);
  EXPECT_EQ(copy.graph().plan().outputs[0].loss, Loss::binary_cross_entropy);
  EXPECT_EQ(copy.graph().plan().nodes[0].dropout, 0.1);
  EXPECT_EQ(bytes_of(copy.parameters()), bytes_of(net.parameters()));
  const MatrixView<const T> a = net.forward(x);
  const std::vector<T> expected(a.data, a.data + a.rows * a.cols);
  const MatrixView<const T> b = copy.forward(x);
  EXPECT_EQ(std::vector<T>(b.data, b.data + b.rows * b.cols), expected);
  EXPECT_EQ(blasnet::load(dir / "n.safetensors").file.kind, "sequential");
}

TEST(ModelFileNetwork, FromGraphRefusesWhatIsNotAChain) {
  EXPECT_THROW(Network<float>(Graph<float>(rich_spec(), 0)), std::invalid_argument);
  GraphSpec two_inputs;
  two_inputs.inputs = {{"a", 2}, {"b", 2}};
  two_inputs.nodes = {{"h", {"a", "b"}, 2, Activation::tanh, "", false, 0}};
  two_inputs.outputs = {{"h", Loss::mse, 1.0, ""}};
  EXPECT_THROW(Network<float>(Graph<float>(two_inputs, 0)), std::invalid_argument);
  GraphSpec weighted =
      blasnet::chain_spec(2, {{3, Activation::tanh, "h"}, {1, Activation::identity, "o"}});
  weighted.outputs[0].weight = 2;
  EXPECT_THROW(Network<float>(Graph<float>(weighted, 0)), std::invalid_argument);
  weighted.outputs[0].weight = 1;
  EXPECT_NO_THROW(Network<float>(Graph<float>(weighted, 0)));
}

// k steps, save with the optimizer, load, rebuild the optimizer, m more steps: the same
// parameters, bit for bit, as k + m steps without stopping.
template <typename T>
void expect_training_resumes(std::unique_ptr<blasnet::Optimizer> a,
                             std::unique_ptr<blasnet::Optimizer> b) {
  TempDir dir;
  const std::size_t n = 8;
  const std::vector<T> X = samples<T>(3 * n, 21), Y = samples<T>(2 * n, 22);
  const MatrixView<const T> x(X.data(), 3, n), y(Y.data(), 2, n);
  const Targets<T> t = Targets<T>::dense(y);
  Network<T> straight(3, {{6, Activation::tanh, "h"}, {2, Activation::identity, "o"}}, 9);
  Network<T> stopped(3, {{6, Activation::tanh, "h"}, {2, Activation::identity, "o"}}, 9);
  for (int s = 0; s < 7; ++s) blasnet::train_step(straight, x, Loss::mse, t, *a);
  for (int s = 0; s < 4; ++s) blasnet::train_step(stopped, x, Loss::mse, t, *b);
  blasnet::save(dir / "ckpt.safetensors", stopped, b.get());

  blasnet::LoadedModel loaded = blasnet::load(dir / "ckpt.safetensors");
  ASSERT_TRUE(loaded.file.optimizer.has_value());
  EXPECT_EQ(loaded.file.optimizer->steps, 4u);
  std::unique_ptr<blasnet::Optimizer> resumed = blasnet::make_optimizer(*loaded.file.optimizer);
  EXPECT_EQ(resumed->describe(), b->describe());
  EXPECT_EQ(resumed->steps(), 4u);
  Network<T> net(std::get<Graph<T>>(std::move(loaded.graph)));
  for (int s = 0; s < 3; ++s) blasnet::train_step(net, x, Loss::mse, t, *resumed);
  EXPECT_EQ(bytes_of(net.parameters()),
            bytes_of(straight.parameters()));
  for (const std::string& name : a->state_names()) {
    EXPECT_EQ(bytes_of(resumed->template state<T>(name)),
              bytes_of(a->template state<T>(name)))
        << name;
  }
}

TYPED_TEST(ModelFileRoundTrip, AdamResumesExactly) {
  using T = TypeParam;
  expect_training_resumes<T>(std::make_unique<blasnet::Adam>(0.01, 0.8, 0.99, 1e-7, 0.01),
                             std::make_unique<blasnet::Adam>(0.01, 0.8, 0.99, 1e-7, 0.01));
}

TYPED_TEST(ModelFileRoundTrip, AdamWResumesExactly) {
  using T = TypeParam;
  expect_training_resumes<T>(std::make_unique<blasnet::AdamW>(0.02),
                             std::make_unique<blasnet::AdamW>(0.02));
}

TYPED_TEST(ModelFileRoundTrip, SgdWithMomentumResumesExactly) {
  using T = TypeParam;
  expect_training_resumes<T>(std::make_unique<blasnet::SGD>(0.05, 0.9, true, 1e-3),
                             std::make_unique<blasnet::SGD>(0.05, 0.9, true, 1e-3));
}

TEST(ModelFileOptimizer, RecordRoundTripsWithoutAFile) {
  blasnet::SGD sgd(0.1, 0.5);
  std::vector<float> params(4, 1.0f), grads{1, 2, 3, 4};
  sgd.step(Span<float>{params.data(), 4}, Span<const float>{grads.data(), 4});
  const blasnet::OptimizerRecord record = blasnet::record_optimizer(sgd);
  EXPECT_EQ(record.name, "SGD");
  EXPECT_EQ(record.hyperparameters.at("momentum"), 0.5);
  ASSERT_EQ(record.buffers.size(), 1u);
  EXPECT_EQ(std::get<std::vector<float>>(record.buffers[0].second), grads);
  const auto rebuilt = blasnet::make_optimizer(record);
  EXPECT_EQ(rebuilt->describe(), sgd.describe());
  blasnet::OptimizerRecord unknown = record;
  unknown.name = "RMSprop";
  EXPECT_THROW(blasnet::make_optimizer(unknown), std::invalid_argument);
  blasnet::OptimizerRecord missing = record;
  missing.hyperparameters.erase("nesterov");
  EXPECT_THROW(blasnet::make_optimizer(missing), std::invalid_argument);
}

TEST(ModelFileOptimizer, StateOfAnotherNetworkIsNotSaved) {
  TempDir dir;
  Network<float> net(2, {{3, Activation::tanh, "h"}}, 0);
  blasnet::Adam adam;
  std::vector<float> other(5, 0.f), grads(5, 1.f);
  adam.step(Span<float>{other.data(), 5}, Span<const float>{grads.data(), 5});
  EXPECT_THROW(blasnet::save(dir / "x.safetensors", net, &adam), ModelFileError);
  std::vector<double> wrong_type(net.parameters().size, 0), g(wrong_type.size(), 1);
  blasnet::Adam adam_double;
  adam_double.step(Span<double>{wrong_type.data(), wrong_type.size()},
                   Span<const double>{g.data(), g.size()});
  EXPECT_THROW(blasnet::save(dir / "x.safetensors", net, &adam_double), ModelFileError);
  EXPECT_TRUE(files_in(dir.path()).empty());
}

// The file read as plain safetensors, by a parse of our own: 8-byte length, a JSON header
// padded to 8 bytes, tensors in parameter order whose bytes are the parameter buffer's.
TEST(ModelFileFormat, IsPlainSafetensors) {
  TempDir dir;
  Graph<float> graph(rich_spec(), 3);
  blasnet::Adam adam(0.01);
  std::vector<float> grads(graph.parameters().size, 0.5f);
  adam.step(graph.parameters(), Span<const float>{grads.data(), grads.size()});
  blasnet::save(dir / "g.safetensors", graph, "autoencoder", &adam);

  const std::string bytes = read_bytes(dir / "g.safetensors");
  ASSERT_GE(bytes.size(), 8u);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ((8 + n) % 8, 0u);
  ASSERT_LE(8 + n, bytes.size());
  const json header = json::parse(bytes.substr(8, n));
  const std::string data = bytes.substr(8 + n);

  ASSERT_TRUE(header.at("__metadata__").at("blasnet").is_string());
  EXPECT_EQ(header.at("__metadata__").at("format"), "blasnet");
  const json meta = json::parse(header["__metadata__"]["blasnet"].get<std::string>());
  EXPECT_EQ(meta.at("format_version"), 1);
  EXPECT_EQ(meta.at("kind"), "autoencoder");
  EXPECT_EQ(meta.at("dtype"), "float32");
  EXPECT_EQ(meta.at("optimizer").at("name"), "Adam");
  EXPECT_EQ(meta.at("optimizer").at("steps"), 1);
  EXPECT_EQ(meta.at("optimizer").at("state"), json({"m", "v"}));
  EXPECT_EQ(meta.at("architecture").at("nodes").size(), 5u);

  const std::string params = bytes_of(graph.parameters());
  std::uint64_t at = 0;
  for (const blasnet::ParameterInfo& p : graph.parameter_info()) {
    SCOPED_TRACE(p.name);
    const json& t = header.at(p.name);
    EXPECT_EQ(t.at("dtype"), "F32");
    EXPECT_EQ(t.at("shape"), p.cols == 0 ? json({p.rows}) : json({p.rows, p.cols}));
    const std::uint64_t begin = t.at("data_offsets")[0], end = t.at("data_offsets")[1];
    EXPECT_EQ(begin, at);  // parameter order
    EXPECT_EQ(end - begin, p.size() * sizeof(float));
    EXPECT_EQ(data.substr(begin, end - begin),
              params.substr(p.offset * sizeof(float), end - begin));
    at = end;
  }
  for (const char* name : {"m", "v"}) {
    const json& t = header.at(std::string("__optimizer__.") + name);
    EXPECT_EQ(t.at("shape"), json({params.size() / sizeof(float)}));
    const std::uint64_t begin = t.at("data_offsets")[0], end = t.at("data_offsets")[1];
    EXPECT_EQ(begin, at);
    EXPECT_EQ(data.substr(begin, end - begin), bytes_of(adam.state<float>(name)));
    at = end;
  }
  EXPECT_EQ(at, data.size());
  EXPECT_EQ(header.size(), 1 + graph.parameter_info().size() + 2);
}

// --- atomic saves -----------------------------------------------------------------------

TEST(ModelFileAtomicSave, ReplacesTheTargetAndLeavesNoTemporaryFile) {
  TempDir dir;
  Network<float> first(2, {{3, Activation::tanh, "h"}}, 1);
  Network<float> second(2, {{3, Activation::tanh, "h"}}, 2);
  blasnet::save(dir / "m.safetensors", first);
  blasnet::save(dir / "m.safetensors", second);
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"m.safetensors"});
  Network<float> loaded = blasnet::load_network<float>(dir / "m.safetensors");
  EXPECT_EQ(bytes_of(loaded.parameters()), bytes_of(second.parameters()));
}

TEST(ModelFileAtomicSave, FolderThatDoesNotExist) {
  TempDir dir;
  Network<float> net(2, {{3, Activation::tanh, "h"}}, 1);
  try {
    blasnet::save(dir / "missing/m.safetensors", net);
    FAIL() << "saved into a missing folder";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("missing/m.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(files_in(dir.path()).empty());
}

TEST(ModelFileAtomicSave, TargetThatIsAFolderStaysAndNoTemporaryFileRemains) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir / "m.safetensors").c_str(), 0755), 0);
  Network<float> net(2, {{3, Activation::tanh, "h"}}, 1);
  EXPECT_THROW(blasnet::save(dir / "m.safetensors", net), ModelFileError);
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"m.safetensors"});
  struct stat info {};
  ASSERT_EQ(::stat((dir / "m.safetensors").c_str(), &info), 0);
  EXPECT_TRUE(S_ISDIR(info.st_mode));
}

TEST(ModelFileAtomicSave, BadArgumentsChangeNothing) {
  TempDir dir;
  Network<float> old(2, {{3, Activation::tanh, "h"}}, 1), net(2, {{3, Activation::tanh, "h"}}, 2);
  blasnet::save(dir / "m.safetensors", old);
  const std::string before = read_bytes(dir / "m.safetensors");
  EXPECT_THROW(blasnet::save(dir / "m.safetensors", net, nullptr, "[1, 2]"), ModelFileError);
  EXPECT_THROW(blasnet::save(dir / "m.safetensors", net, nullptr, "{oops"), ModelFileError);
  EXPECT_THROW(blasnet::save(dir / "m.safetensors", net.graph(), ""), ModelFileError);
  GraphSpec bad_name = blasnet::chain_spec(2, {{3, Activation::tanh, "h\xff"}});
  EXPECT_THROW(blasnet::save(dir / "m.safetensors", Graph<float>(bad_name, 0)), ModelFileError);
  EXPECT_EQ(read_bytes(dir / "m.safetensors"), before);
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"m.safetensors"});
}

// A disk that fills up mid-write, simulated by a file-size limit (write() then fails with
// EFBIG): the previous file stays whole and the temporary file is removed.
TEST(ModelFileAtomicSave, FullDiskMidWriteKeepsThePreviousFile) {
  TempDir dir;
  Network<double> old(4, {{8, Activation::tanh, "h"}, {2, Activation::identity, "o"}}, 1);
  Network<double> big(4, {{512, Activation::tanh, "h"}, {2, Activation::identity, "o"}}, 2);
  blasnet::save(dir / "m.safetensors", old);
  const std::string before = read_bytes(dir / "m.safetensors");

  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto previous_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 8192;  // the big model needs ~24 kB
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  bool threw = false;
  std::string message;
  try {
    blasnet::save(dir / "m.safetensors", big);
  } catch (const ModelFileError& e) {
    threw = true;
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, previous_handler);

  EXPECT_TRUE(threw);
  EXPECT_NE(message.find("writing failed"), std::string::npos) << message;
  EXPECT_EQ(read_bytes(dir / "m.safetensors"), before);
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"m.safetensors"});
  EXPECT_NO_THROW(blasnet::load_network<double>(dir / "m.safetensors"));
}

// load refuses a header of more than 100 MB, so save does not write one; the file saved
// before stays.
TEST(ModelFileAtomicSave, AHeaderPastTheLimitIsNotSaved) {
  TempDir dir;
  Network<float> net(2, {{3, Activation::tanh, "h"}}, 1);
  blasnet::save(dir / "m.safetensors", net);
  const std::string before = read_bytes(dir / "m.safetensors");
  const std::string extra = "{\"note\": \"" + std::string(100'000'000, 'x') + "\"}";
  try {
    blasnet::save(dir / "m.safetensors", net, nullptr, extra);
    FAIL() << "saved a header load refuses";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("not saved: its header would be 1000"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("bytes; a model file's header is at most 100000000"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_bytes(dir / "m.safetensors"), before);
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"m.safetensors"});
}

// The system reads a path up to its first NUL: "fresh\0.safetensors" would save as "fresh".
TEST(ModelFileAtomicSave, APathHoldingANulByteIsRefused) {
  TempDir dir;
  Network<float> net(2, {{3, Activation::tanh, "h"}}, 1);
  blasnet::save(dir / "fresh", net);
  const std::string before = read_bytes(dir / "fresh");
  const std::string path = dir / std::string("fresh\0.safetensors", 18);
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (attempt == 0) {
        blasnet::save(path, net);
      } else {
        blasnet::load(path);
      }
      ADD_FAILURE() << "the NUL byte was let through";
    } catch (const ModelFileError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("fresh\\x00.safetensors': the path holds a NUL byte (at byte "),
                std::string::npos)
          << message;
    }
  }
  EXPECT_THROW(blasnet::load_network<float>(path), ModelFileError);
  EXPECT_THROW(blasnet::load_graph<float>(path), ModelFileError);
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"fresh"});
  EXPECT_EQ(read_bytes(dir / "fresh"), before);
}

// Files of another format (the ONNX export's) go through the same atomic file and checks.
TEST(ModelFileAtomicSave, WriteAtomicallyReplacesTheFileWhole) {
  TempDir dir;
  blasnet::write_atomically(dir / "m.onnx", "old", 3);
  blasnet::write_atomically(dir / "m.onnx", "new bytes", 9);
  EXPECT_EQ(read_bytes(dir / "m.onnx"), "new bytes");
  EXPECT_THROW(blasnet::write_atomically(dir / std::string("m.onnx\0x", 8), "x", 1),
               ModelFileError);
  try {
    blasnet::write_atomically(dir / "missing/m.onnx", "x", 1);
    FAIL() << "wrote into a missing folder";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("missing/m.onnx': cannot create a temporary file"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"m.onnx"});
  EXPECT_EQ(read_bytes(dir / "m.onnx"), "new bytes");
}

// A 40,000-node chain (a 13 MB header of 120,000 objects) saves and loads: the header's parse
// is linear in its length. It was quadratic, and this load took 226 s; bench/model_file_load.py
// gives the times.
TEST(ModelFileLoad, AFortyThousandNodeChainLoads) {
  TempDir dir;
  const std::vector<blasnet::DenseSpec> layers(40'000, {1, Activation::tanh, ""});
  Network<float> net(1, layers, 3);
  blasnet::save(dir / "deep.safetensors", net);
  const blasnet::LoadedModel model = blasnet::load(dir / "deep.safetensors");
  EXPECT_EQ(model.file.spec.nodes.size(), 40'000u);
  const Graph<float>& graph = std::get<Graph<float>>(model.graph);
  EXPECT_EQ(bytes_of(graph.parameters()), bytes_of(net.parameters()));
}

// --- files from elsewhere ---------------------------------------------------------------

// Each file of tests/data/bad_models is refused, from disk and from memory alike, with the
// phrase expected_errors.txt gives it (a new file without an entry must still be refused).
TEST(ModelFileCorpus, EveryBadFileIsRefusedWithItsReason) {
  const std::string bad = data_dir + "/bad_models";
  std::map<std::string, std::string> expected;
  std::ifstream list(bad + "/expected_errors.txt");
  for (std::string line; std::getline(list, line);) {
    const std::size_t tab = line.find('\t');
    if (tab != std::string::npos) expected[line.substr(0, tab)] = line.substr(tab + 1);
  }
  const std::vector<std::string> names = files_in(bad, ".safetensors");
  ASSERT_GE(names.size(), 40u) << "the corpus is missing from " << bad;
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string path = bad + "/" + name;
    std::string from_file, from_memory;
    try {
      blasnet::load(path);
      ADD_FAILURE() << "loaded";
    } catch (const ModelFileError& e) {
      from_file = e.what();
    }
    const std::string bytes = read_bytes(path);
    try {
      blasnet::load_from_memory(bytes.data(), bytes.size(), path);
      ADD_FAILURE() << "loaded from memory";
    } catch (const ModelFileError& e) {
      from_memory = e.what();
    }
    EXPECT_EQ(from_file, from_memory);
    EXPECT_EQ(from_file.rfind("model file '" + path + "': ", 0), 0u) << from_file;
    const auto it = expected.find(name);
    if (it != expected.end()) {
      EXPECT_NE(from_file.find(it->second), std::string::npos)
          << "expected \"" << it->second << "\" in: " << from_file;
    }
  }
}

TEST(ModelFileCorpus, HandwrittenFileLoads) {
  const std::string path = data_dir + "/good_models/handwritten_adam.safetensors";
  blasnet::LoadedModel model = blasnet::load(path);
  EXPECT_EQ(model.file.kind, "sequential");
  ASSERT_TRUE(model.file.optimizer.has_value());
  EXPECT_EQ(model.file.optimizer->name, "Adam");
  EXPECT_EQ(model.file.optimizer->steps, 3u);
  const Graph<float>& graph = std::get<Graph<float>>(model.graph);
  // make_bad_models.py: parameter i is (i % 7)·0.25 − 0.75; m_i = 0.01·i.
  for (std::size_t i = 0; i < graph.parameters().size; ++i) {
    EXPECT_EQ(graph.parameters()[i], float(double(i % 7) * 0.25 - 0.75)) << i;
  }
  const auto optimizer = blasnet::make_optimizer(*model.file.optimizer);
  EXPECT_EQ(optimizer->state<float>("m")[5], float(5 * 0.01));
  EXPECT_NO_THROW(blasnet::load_network<float>(path));
}

// The committed C++-written files stay exactly what this version writes for the same model,
// so that a change of format is a decision (and a format_version), not an accident. Set
// BLASNET_REGENERATE_GOOD_MODELS=1 to rewrite them.
template <typename T>
Graph<T> reference_graph() {
  Graph<T> graph(rich_spec(), 0);
  for (std::size_t i = 0; i < graph.parameters().size; ++i) {
    graph.parameters()[i] = T(double(i % 11) * 0.125 - 0.5);
  }
  return graph;
}

TEST(ModelFileCorpus, CommittedCppFilesAreWhatThisVersionWrites) {
  TempDir dir;
  Graph<float> graph = reference_graph<float>();
  blasnet::Adam adam(0.01);
  std::vector<float> grads(graph.parameters().size);
  for (std::size_t i = 0; i < grads.size(); ++i) grads[i] = float(i % 5) * 0.5f - 1.0f;
  adam.step(graph.parameters(), Span<const float>{grads.data(), grads.size()});
  Network<double> net(3, {{4, Activation::relu, "hidden"}, {2, Activation::softmax, "out"}}, 0);
  for (std::size_t i = 0; i < net.parameters().size; ++i) net.parameters()[i] = double(i) / 8 - 1;

  const std::map<std::string, std::string> written = {
      {"cpp_graph_f32_adam.safetensors", "graph"}, {"cpp_sequential_f64.safetensors", "net"}};
  for (const auto& [name, what] : written) {
    SCOPED_TRACE(name);
    const std::string committed = data_dir + "/good_models/" + name;
    const std::string target =
        std::getenv("BLASNET_REGENERATE_GOOD_MODELS") != nullptr ? committed : dir / name;
    if (what == "graph") {
      blasnet::save(target, graph, "graph", &adam);
    } else {
      blasnet::save(target, net);
    }
    EXPECT_TRUE(read_bytes(target) == read_bytes(committed))
        << "differs from the committed file; if the format changed on purpose, raise "
           "format_version and rerun with BLASNET_REGENERATE_GOOD_MODELS=1";
    EXPECT_NO_THROW(blasnet::load(committed));
  }
}

// A schedule may end at a rate of 0 (Cosine's default floor): such a state is saved and
// rebuilt as it was, although constructors and set_lr refuse 0.
TEST(ModelFileOptimizer, ARateOfZeroFromAScheduleRoundTrips) {
  blasnet::Adam adam(0.01);
  adam.restore_lr(0.0);
  const blasnet::OptimizerRecord record = blasnet::record_optimizer(adam);
  EXPECT_EQ(record.lr, 0.0);
  const auto rebuilt = blasnet::make_optimizer(record);
  EXPECT_EQ(rebuilt->lr(), 0.0);
  EXPECT_THROW(adam.restore_lr(-1.0), std::invalid_argument);
}

}  // namespace
