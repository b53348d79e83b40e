// Graph::predict and Network::predict (graph.hpp, network.hpp): the const inference pass into
// caller-owned memory. It must give forward's inference outputs value for value, check its
// output matrices, serve any graph from one scratch, and stay correct when many threads
// predict on one const graph at once, each answer against a single-threaded reference.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "blasnet/graph.hpp"
#include "blasnet/network.hpp"
#include "reference.hpp"

namespace {

using blasnet::Activation;
using blasnet::Checks;
using blasnet::Graph;
using blasnet::GraphSpec;
using blasnet::InferenceScratch;
using blasnet::Loss;
using blasnet::MatrixView;
using blasnet::Mode;
using blasnet::Network;
using blasnet::Span;
using blasnet_test::Matrix;
using blasnet_test::random_matrix;

// Every parameter, biases included, uniform on [−scale, scale): zero biases would hide a bias
// read from the wrong place.
template <typename T>
void randomize(Span<T> parameters, std::uint64_t seed, double scale = 0.8) {
  blasnet::Rng rng(seed);
  for (T& v : parameters) v = static_cast<T>(rng.uniform(-scale, scale));
}

// Two inputs; fan-out; an output ("mixer") that another node reads; a tied, transposed decoder;
// a node over a concatenation; dropout on a hidden node (never applied by predict); softmax.
GraphSpec shared_graph() {
  GraphSpec s;
  s.inputs = {{"x", 6}, {"c", 3}};
  s.nodes = {{"encoder", {"x"}, 5, Activation::tanh, "", false, 0.5},
             {"mixer", {"encoder", "c"}, 4, Activation::sigmoid, "", false},
             {"decoder", {"encoder"}, 6, Activation::identity, "encoder", true},
             {"hidden", {"mixer", "x"}, 7, Activation::relu, "", false},
             {"classes", {"hidden", "encoder"}, 3, Activation::softmax, "", false}};
  s.outputs = {{"decoder", Loss::mse, 0.5, "x"},
               {"mixer", Loss::binary_cross_entropy, 1.0, ""},
               {"classes", Loss::softmax_cross_entropy, 1.0, ""}};
  return s;
}

template <typename T>
Network<T> deep_network(std::uint64_t seed) {
  Network<T> net(5, {{8, Activation::tanh, "a"},
                     {7, Activation::relu, "b", 0.3},
                     {6, Activation::sigmoid, "c"},
                     {3, Activation::softmax, "out"}},
                 seed);
  randomize(net.parameters(), seed + 1);
  return net;
}

template <typename T>
Graph<T> random_graph(std::uint64_t seed) {
  Graph<T> g(shared_graph(), seed);
  randomize(g.parameters(), seed + 1);
  return g;
}

// Output i of forward's inference pass, copied out of the workspace.
template <typename T>
Matrix<T> forward_output(Graph<T>& g, const std::vector<MatrixView<const T>>& inputs,
                         std::size_t i) {
  g.forward({inputs.data(), inputs.size()}, Checks::on, Mode::inference);
  const MatrixView<const T> Y = g.output(i);
  Matrix<T> out(Y.rows, Y.cols);
  for (std::size_t j = 0; j < Y.cols; ++j) {
    for (std::size_t r = 0; r < Y.rows; ++r) out(r, j) = Y(r, j);
  }
  return out;
}

// The outputs of predict, one Matrix per graph output (leading dimension units + pad).
template <typename T>
std::vector<Matrix<T>> predicted(const Graph<T>& g, const std::vector<MatrixView<const T>>& inputs,
                                 InferenceScratch<T>& scratch, std::size_t pad = 0) {
  std::vector<Matrix<T>> outs;
  std::vector<MatrixView<T>> views;
  for (const auto& o : g.plan().outputs) {
    const std::size_t units = g.plan().nodes[o.node].units;
    outs.emplace_back(units, inputs[0].cols, units + pad, T(-7));
  }
  for (Matrix<T>& m : outs) views.push_back(m.view());
  g.predict({inputs.data(), inputs.size()}, {views.data(), views.size()}, scratch);
  return outs;
}

template <typename T>
void expect_same(const Matrix<T>& expected, const Matrix<T>& actual, const std::string& what) {
  ASSERT_EQ(expected.rows, actual.rows) << what;
  ASSERT_EQ(expected.cols, actual.cols) << what;
  for (std::size_t j = 0; j < expected.cols; ++j) {
    for (std::size_t i = 0; i < expected.rows; ++i) {
      ASSERT_EQ(expected(i, j), actual(i, j)) << what << " (" << i << ", " << j << ")";
    }
  }
}

template <typename T>
class PredictTyped : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(PredictTyped, Scalars);

TYPED_TEST(PredictTyped, NetworkPredictEqualsForward) {
  using T = TypeParam;
  Network<T> net = deep_network<T>(3);
  InferenceScratch<T> scratch;
  for (std::size_t n : {1u, 9u, 40u, 2u}) {
    const Matrix<T> X = random_matrix<T>(5, n, 10 + n);
    const MatrixView<const T> F = net.forward(X.cview());
    Matrix<T> Y(3, n, 0, T(-7));
    static_cast<const Network<T>&>(net).predict(X.cview(), Y.view(), scratch);
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t i = 0; i < 3; ++i) ASSERT_EQ(F(i, j), Y(i, j)) << "n " << n;
    }
  }
}

TYPED_TEST(PredictTyped, GraphPredictEqualsForward) {
  using T = TypeParam;
  Graph<T> g = random_graph<T>(5);
  InferenceScratch<T> scratch;
  for (std::size_t n : {1u, 13u, 64u, 4u}) {
    const Matrix<T> X = random_matrix<T>(6, n, 20 + n);
    const Matrix<T> C = random_matrix<T>(3, n, 30 + n);
    const std::vector<MatrixView<const T>> inputs{X.cview(), C.cview()};
    // Padded output matrices: predict honours their leading dimension.
    for (std::size_t pad : {0u, 3u}) {
      const std::vector<Matrix<T>> outs = predicted(g, inputs, scratch, pad);
      for (std::size_t i = 0; i < outs.size(); ++i) {
        expect_same(forward_output(g, inputs, i), outs[i],
                    "output " + std::to_string(i) + ", n " + std::to_string(n) + ", pad " +
                        std::to_string(pad));
      }
    }
  }
}

// Inputs given as sub-matrices of larger arrays (a leading dimension above their rows).
TYPED_TEST(PredictTyped, StridedInputs) {
  using T = TypeParam;
  Graph<T> g = random_graph<T>(7);
  const Matrix<T> X = random_matrix<T>(6, 11, 1, -1, 1, 9);
  const Matrix<T> C = random_matrix<T>(3, 11, 2, -1, 1, 5);
  const std::vector<MatrixView<const T>> inputs{X.cview(), C.cview()};
  InferenceScratch<T> scratch;
  const std::vector<Matrix<T>> outs = predicted(g, inputs, scratch);
  for (std::size_t i = 0; i < outs.size(); ++i) {
    expect_same(forward_output(g, inputs, i), outs[i], "output " + std::to_string(i));
  }
}

// One scratch serves graphs of different shapes in turn, and a smaller batch after a larger.
TEST(Predict, OneScratchServesSeveralGraphs) {
  Graph<double> g = random_graph<double>(1);
  Network<double> net = deep_network<double>(2);
  InferenceScratch<double> scratch;
  const Matrix<double> X = random_matrix<double>(6, 30, 3);
  const Matrix<double> C = random_matrix<double>(3, 30, 4);
  const Matrix<double> Xn = random_matrix<double>(5, 50, 5);
  const std::vector<MatrixView<const double>> inputs{X.cview(), C.cview()};
  const std::vector<Matrix<double>> first = predicted(g, inputs, scratch);
  Matrix<double> Y(3, 50);
  net.predict(Xn.cview(), Y.view(), scratch);
  const std::size_t grown = scratch.capacity();
  EXPECT_GE(grown, (8u + 7u + 6u) * 50u);
  const std::vector<Matrix<double>> again = predicted(g, inputs, scratch);
  for (std::size_t i = 0; i < first.size(); ++i) expect_same(first[i], again[i], "graph again");
  const std::vector<MatrixView<const double>> few{X.cview().columns(0, 3), C.cview().columns(0, 3)};
  const std::vector<Matrix<double>> small = predicted(g, few, scratch);
  for (std::size_t i = 0; i < small.size(); ++i) {
    for (std::size_t j = 0; j < 3; ++j) {
      for (std::size_t r = 0; r < small[i].rows; ++r) {
        EXPECT_EQ(small[i](r, j), first[i](r, j)) << "output " << i;
      }
    }
  }
  EXPECT_EQ(scratch.capacity(), grown) << "a smaller batch reuses the scratch";
}

// predict leaves the graph as it was: forward's last outputs stay in the workspace.
TEST(Predict, LeavesTheWorkspaceAlone) {
  Network<double> net = deep_network<double>(4);
  const Matrix<double> A = random_matrix<double>(5, 6, 1);
  const Matrix<double> B = random_matrix<double>(5, 6, 2);
  const MatrixView<const double> F = net.forward(A.cview());
  Matrix<double> before(3, 6);
  for (std::size_t j = 0; j < 6; ++j) {
    for (std::size_t i = 0; i < 3; ++i) before(i, j) = F(i, j);
  }
  InferenceScratch<double> scratch;
  Matrix<double> Y(3, 6);
  net.predict(B.cview(), Y.view(), scratch);
  const MatrixView<const double> G = net.graph().output(0);
  for (std::size_t j = 0; j < 6; ++j) {
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(G(i, j), before(i, j));
  }
}

// The checks: forward's on the inputs, and the output matrices' count and shapes, each naming
// the output and both shapes.
TEST(Predict, ChecksItsArguments) {
  const Graph<double> g = random_graph<double>(1);
  InferenceScratch<double> scratch;
  const Matrix<double> X = random_matrix<double>(6, 4, 1);
  const Matrix<double> C = random_matrix<double>(3, 4, 2);
  const std::vector<MatrixView<const double>> inputs{X.cview(), C.cview()};
  Matrix<double> d(6, 4), m(4, 4), c(3, 4), wrong(3, 5);
  std::vector<MatrixView<double>> outs{d.view(), m.view(), c.view()};
  EXPECT_NO_THROW(g.predict({inputs.data(), 2}, {outs.data(), 3}, scratch));
  EXPECT_THROW(g.predict({inputs.data(), 2}, {outs.data(), 2}, scratch), std::invalid_argument);
  EXPECT_THROW(g.predict({inputs.data(), 1}, {outs.data(), 3}, scratch), std::invalid_argument);
  outs[2] = wrong.view();
  try {
    g.predict({inputs.data(), 2}, {outs.data(), 3}, scratch);
    FAIL() << "a 3×5 matrix for a batch of 4";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'classes' is 3×5"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3×4"), std::string::npos) << e.what();
  }
  Matrix<double> bad = X;
  bad(2, 1) = std::nan("");
  const std::vector<MatrixView<const double>> nan_inputs{bad.cview(), C.cview()};
  outs[2] = c.view();
  EXPECT_THROW(g.predict({nan_inputs.data(), 2}, {outs.data(), 3}, scratch),
               std::invalid_argument);
}

// Threads hammer one const graph with their own batches (sizes 1 to 97, both graphs' shapes),
// each answer compared with the single-threaded reference computed beforehand.
template <typename T>
struct Job {
  Matrix<T> X, C;
  std::vector<Matrix<T>> expected;
};

template <typename T>
void hammer(std::size_t threads, int rounds) {
  const Graph<T> g = random_graph<T>(11);
  InferenceScratch<T> reference_scratch;
  std::vector<Job<T>> jobs;
  const std::size_t sizes[] = {1, 2, 7, 16, 33, 64, 97, 5};
  for (std::size_t k = 0; k < 16; ++k) {
    const std::size_t n = sizes[k % 8];
    Job<T> job{random_matrix<T>(6, n, 100 + k), random_matrix<T>(3, n, 200 + k), {}};
    job.expected = predicted(g, {job.X.cview(), job.C.cview()}, reference_scratch);
    jobs.push_back(std::move(job));
  }
  std::atomic<long> mismatches{0};
  std::atomic<long> answers{0};
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      InferenceScratch<T> scratch;
      for (int r = 0; r < rounds; ++r) {
        const Job<T>& job = jobs[(t * 5 + static_cast<std::size_t>(r) * 3) % jobs.size()];
        const std::vector<Matrix<T>> got = predicted(g, {job.X.cview(), job.C.cview()}, scratch);
        for (std::size_t i = 0; i < got.size(); ++i) {
          if (got[i].data != job.expected[i].data) mismatches.fetch_add(1);
        }
        answers.fetch_add(1);
      }
    });
  }
  for (std::thread& th : pool) th.join();
  EXPECT_EQ(answers.load(), static_cast<long>(threads) * rounds);
  EXPECT_EQ(mismatches.load(), 0);
}

TYPED_TEST(PredictTyped, ThreadsShareOneConstGraph) { hammer<TypeParam>(8, 200); }

TEST(Predict, ThreadsShareOneConstNetwork) {
  const Network<float> net = deep_network<float>(9);
  std::vector<Matrix<float>> X, expected;
  InferenceScratch<float> reference_scratch;
  for (std::size_t k = 0; k < 8; ++k) {
    const std::size_t n = 1 + 17 * k;
    X.push_back(random_matrix<float>(5, n, 300 + k));
    expected.emplace_back(3, n);
    net.predict(X.back().cview(), expected.back().view(), reference_scratch);
  }
  std::atomic<long> mismatches{0};
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < 6; ++t) {
    pool.emplace_back([&, t] {
      InferenceScratch<float> scratch;
      for (std::size_t r = 0; r < 300; ++r) {
        const std::size_t k = (t + r) % X.size();
        Matrix<float> Y(3, X[k].cols);
        net.predict(X[k].cview(), Y.view(), scratch);
        if (Y.data != expected[k].data) mismatches.fetch_add(1);
      }
    });
  }
  for (std::thread& th : pool) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
