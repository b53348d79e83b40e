// graph.hpp: a loop-free network of dense nodes. Forward against the note's eqs. (1)-(2) in
// loops over explicit concatenations and transposes; backward against central differences of J
// and against an untied twin (dJ/dW of a shared W is the sum over its uses); the folded and
// unfolded SGD steps against backward + update; and the checks made before anything changes.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "blasnet/checked_size.hpp"
#include "blasnet/graph.hpp"
#include "blasnet/network.hpp"
#include "blasnet/optimizers.hpp"
#include "blasnet/training.hpp"
#include "reference.hpp"

namespace {

using blasnet::Activation;
using blasnet::Batch;
using blasnet::Graph;
using blasnet::GraphPlan;
using blasnet::GraphSpec;
using blasnet::Loss;
using blasnet::MatrixView;
using blasnet::NodeSpec;
using blasnet::OutputSpec;
using blasnet::ParameterInfo;
using blasnet::Span;
using blasnet::Targets;
using blasnet::Transpose;
using blasnet_test::Matrix;
using blasnet_test::random_matrix;

NodeSpec node(std::string name, std::vector<std::string> inputs, std::size_t units,
              Activation activation, std::string share = "", bool transpose = false) {
  return {std::move(name), std::move(inputs), units, activation, std::move(share), transpose};
}

OutputSpec output(std::string name, Loss loss, double weight = 1.0, std::string target = "") {
  return {std::move(name), loss, weight, std::move(target)};
}

template <typename T>
std::vector<T> values(Span<const T> s) {
  return {s.begin(), s.end()};
}
template <typename T>
std::vector<T> values(Span<T> s) {
  return {s.begin(), s.end()};
}

// Every parameter, biases included, uniform on [−scale, scale): the initialiser's zero biases
// would hide a bias that is read from the wrong place.
template <typename T>
void randomize(Graph<T>& g, std::uint64_t seed, double scale = 0.8) {
  blasnet::Rng rng(seed);
  for (T& v : g.parameters()) v = static_cast<T>(rng.uniform(-scale, scale));
}

const ParameterInfo& param(const GraphPlan& plan, const std::string& name) {
  for (const ParameterInfo& p : plan.parameters) {
    if (p.name == name) return p;
  }
  throw std::out_of_range("no parameter " + name);
}

// W (rows × cols) of a named parameter, copied from the row-major flat buffer.
template <typename T>
Matrix<T> weight(const Graph<T>& g, const std::string& name) {
  const ParameterInfo& p = param(g.plan(), name);
  Matrix<T> W(p.rows, p.cols);
  for (std::size_t i = 0; i < p.rows; ++i) {
    for (std::size_t k = 0; k < p.cols; ++k) W(i, k) = g.parameters()[p.offset + i * p.cols + k];
  }
  return W;
}

template <typename T>
std::vector<T> bias(const Graph<T>& g, const std::string& name) {
  const ParameterInfo& p = param(g.plan(), name);
  return {g.parameters().data + p.offset, g.parameters().data + p.offset + p.size()};
}

template <typename T>
Matrix<T> transpose(const Matrix<T>& A) {
  Matrix<T> B(A.cols, A.rows);
  for (std::size_t i = 0; i < A.rows; ++i) {
    for (std::size_t j = 0; j < A.cols; ++j) B(j, i) = A(i, j);
  }
  return B;
}

// [A; B]: the concatenation the graph never builds, built.
template <typename T>
Matrix<T> stack(const Matrix<T>& A, const Matrix<T>& B) {
  Matrix<T> C(A.rows + B.rows, A.cols);
  for (std::size_t j = 0; j < A.cols; ++j) {
    for (std::size_t i = 0; i < A.rows; ++i) C(i, j) = A(i, j);
    for (std::size_t i = 0; i < B.rows; ++i) C(A.rows + i, j) = B(i, j);
  }
  return C;
}

// eqs. (1)-(2) in loops: Y = f(W·X + b·1ᵀ), W (n_out × n_in), X (n_in × n).
template <typename T>
Matrix<T> dense_ref(Activation a, const Matrix<T>& W, const std::vector<T>& b, const Matrix<T>& X) {
  Matrix<T> Z(W.rows, X.cols);
  blasnet_test::naive_gemm(Transpose::no, Transpose::no, T(1), W, X, T(0), Z);
  for (std::size_t j = 0; j < Z.cols; ++j) {
    for (std::size_t i = 0; i < Z.rows; ++i) Z(i, j) += b[i];
  }
  return blasnet_test::activate(a, Z);
}

template <typename T>
void expect_matrix_near(MatrixView<const T> got, const Matrix<T>& want, double tol) {
  ASSERT_EQ(got.rows, want.rows);
  ASSERT_EQ(got.cols, want.cols);
  for (std::size_t j = 0; j < want.cols; ++j) {
    for (std::size_t i = 0; i < want.rows; ++i) {
      EXPECT_NEAR(got(i, j), want(i, j), tol) << "(" << i << ", " << j << ")";
    }
  }
}

template <typename T>
Batch<T> batch_of(const std::vector<MatrixView<const T>>& inputs,
                  const std::vector<Targets<T>>& targets) {
  return {{inputs.data(), inputs.size()}, {targets.data(), targets.size()}};
}

template <typename T>
class GraphTyped : public ::testing::Test {
 protected:
  static constexpr double tol = sizeof(T) == 4 ? 2e-5 : 1e-12;
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GraphTyped, Scalars);

// ---------------------------------------------------------------------------------------------
// Forward

// x (3) and q (2); h = tanh(W_h·q + b_h) (4); y = σ(W_y·[x; h] + b_y) (3). Both are outputs, so
// h is an output that another node also reads.
GraphSpec two_inputs() {
  GraphSpec spec;
  spec.inputs = {{"x", 3}, {"q", 2}};
  spec.nodes = {node("h", {"q"}, 4, Activation::tanh),
                node("y", {"x", "h"}, 3, Activation::sigmoid)};
  spec.outputs = {output("y", Loss::mse), output("h", Loss::mse)};
  return spec;
}

TYPED_TEST(GraphTyped, MultiInputForwardIsWTimesTheConcatenation) {
  using T = TypeParam;
  Graph<T> g(two_inputs(), 1);
  randomize(g, 2);
  const Matrix<T> X = random_matrix<T>(3, 5, 3);
  const Matrix<T> Q = random_matrix<T>(2, 5, 4);
  const std::vector<MatrixView<const T>> in{X.cview(), Q.cview()};
  g.forward({in.data(), in.size()});

  const Matrix<T> H = dense_ref(Activation::tanh, weight(g, "h.W"), bias(g, "h.b"), Q);
  ASSERT_EQ(weight(g, "y.W").cols, 7u);
  const Matrix<T> Y = dense_ref(Activation::sigmoid, weight(g, "y.W"), bias(g, "y.b"), stack(X, H));
  expect_matrix_near(g.output(0), Y, this->tol);
  expect_matrix_near(g.output(1), H, this->tol);
}

// The same graph with the blocks in the other order reads W's columns the other way round.
TYPED_TEST(GraphTyped, BlockOrderFollowsTheSpec) {
  using T = TypeParam;
  GraphSpec spec = two_inputs();
  spec.nodes[1].inputs = {"h", "x"};
  Graph<T> g(spec, 1);
  randomize(g, 5);
  const Matrix<T> X = random_matrix<T>(3, 4, 6);
  const Matrix<T> Q = random_matrix<T>(2, 4, 7);
  const std::vector<MatrixView<const T>> in{X.cview(), Q.cview()};
  g.forward({in.data(), in.size()});
  const Matrix<T> H = dense_ref(Activation::tanh, weight(g, "h.W"), bias(g, "h.b"), Q);
  const Matrix<T> Y = dense_ref(Activation::sigmoid, weight(g, "y.W"), bias(g, "y.b"), stack(H, X));
  expect_matrix_near(g.output(0), Y, this->tol);
}

// A tied autoencoder: code = tanh(W·x + b), recon = Wᵀ·code + c with c recon's own bias.
GraphSpec tied_autoencoder(Activation decoder = Activation::identity, Loss loss = Loss::mse) {
  GraphSpec spec;
  spec.inputs = {{"x", 3}};
  spec.nodes = {node("code", {"x"}, 4, Activation::tanh),
                node("recon", {"code"}, 3, decoder, "code", true)};
  spec.outputs = {output("recon", loss, 1.0, "x")};
  return spec;
}

TYPED_TEST(GraphTyped, TransposedShareUsesTheOwnersWTransposedAndItsOwnBias) {
  using T = TypeParam;
  for (Activation decoder : {Activation::identity, Activation::sigmoid}) {
    SCOPED_TRACE(std::string(blasnet::activation_name(decoder)));
    Graph<T> g(tied_autoencoder(decoder), 1);
    ASSERT_EQ(g.plan().parameter_count, 12u + 4 + 3);
    randomize(g, 8);
    const Matrix<T> X = random_matrix<T>(3, 5, 9);
    const MatrixView<const T> x = X.cview();
    g.forward({&x, 1});

    const Matrix<T> W = weight(g, "code.W");
    const Matrix<T> code = dense_ref(Activation::tanh, W, bias(g, "code.b"), X);
    const Matrix<T> recon = dense_ref(decoder, transpose(W), bias(g, "recon.b"), code);
    expect_matrix_near(g.output(0), recon, this->tol);

    // The decoder views the owner's W and its own bias, in place.
    EXPECT_TRUE(g.node(1).uses_transposed_weights());
    EXPECT_FALSE(g.node(0).uses_transposed_weights());
    EXPECT_EQ(g.node(1).weights().data, g.parameters().data);
    EXPECT_EQ(g.node(1).bias(), g.parameters().data + 16);
    EXPECT_EQ(g.node(1).weight_gradient().data, g.gradients().data);
  }
}

// ---------------------------------------------------------------------------------------------
// The DAG every backward test below runs on. Inputs x (3), c (2). Nodes, declared out of order:
//   cls  [r, e]   -> 3 softmax    output, softmax_cross_entropy (labels), weight 0.5
//   enc  [x]      -> 4 tanh       fans out to e and dec
//   e    [enc, c] -> 4 tanh       two inputs; fans out to h, cls, dec2
//   h    [e]      -> 4 sigmoid    output, mse, weight 0.7, and read by r
//   r    [h]      -> 4 tanh       shares h (W and b): a recurrent step
//   dec  [enc]    -> 3 identity   shares enc transposed, own bias; output, mse on x, weight 1.3
//   bin  [r]      -> 2 sigmoid    output, binary_cross_entropy, weight 2
//   dec2 [e]      -> 3 sigmoid    shares dec: enc.W transposed and dec.b; output, bce
GraphSpec dag() {
  GraphSpec spec;
  spec.inputs = {{"x", 3}, {"c", 2}};
  spec.nodes = {node("cls", {"r", "e"}, 3, Activation::softmax),
                node("enc", {"x"}, 4, Activation::tanh),
                node("e", {"enc", "c"}, 4, Activation::tanh),
                node("h", {"e"}, 4, Activation::sigmoid),
                node("r", {"h"}, 4, Activation::tanh, "h"),
                node("dec", {"enc"}, 3, Activation::identity, "enc", true),
                node("bin", {"r"}, 2, Activation::sigmoid),
                node("dec2", {"e"}, 3, Activation::sigmoid, "dec")};
  spec.outputs = {output("h", Loss::mse, 0.7), output("dec", Loss::mse, 1.3, "x"),
                  output("cls", Loss::softmax_cross_entropy, 0.5),
                  output("bin", Loss::binary_cross_entropy, 2.0),
                  output("dec2", Loss::binary_cross_entropy, 1.0)};
  return spec;
}

// The same structure with every weight its own: r, dec and dec2 get W and b of their own.
GraphSpec dag_untied() {
  GraphSpec spec = dag();
  for (NodeSpec& n : spec.nodes) {
    n.share.clear();
    n.transpose = false;
  }
  return spec;
}

// A batch of 6 for dag(): inputs, and targets per output (dec's entry is ignored: its target
// is x). ld_pad > 0 puts x, c and bin's targets in taller buffers with NaN padding.
template <typename T>
struct DagData {
  static constexpr std::size_t n = 6;
  explicit DagData(std::size_t ld_pad = 0)
      : X(padded(random_matrix<T>(3, n, 11), ld_pad)),
        C(padded(random_matrix<T>(2, n, 12), ld_pad)),
        Th(random_matrix<T>(4, n, 13, 0, 1)),
        labels{0, 2, 1, 1, 0, 2},
        Tb(padded(random_matrix<T>(2, n, 14, 0, 1), ld_pad)),
        Td(random_matrix<T>(3, n, 15, 0, 1)),
        inputs{X.cview(), C.cview()},
        targets{Targets<T>::dense(Th.cview()), Targets<T>{},
                Targets<T>::classes(labels.data(), n), Targets<T>::dense(Tb.cview()),
                Targets<T>::dense(Td.cview())} {}
  DagData(const DagData&) = delete;
  DagData& operator=(const DagData&) = delete;

  Batch<T> batch() const { return batch_of(inputs, targets); }
  Span<const MatrixView<const T>> input_span() const { return {inputs.data(), inputs.size()}; }

  // M copied into a buffer with ld = rows + pad, the padding NaN.
  static Matrix<T> padded(const Matrix<T>& M, std::size_t pad) {
    Matrix<T> P(M.rows, M.cols, M.rows + pad, std::numeric_limits<T>::quiet_NaN());
    for (std::size_t j = 0; j < M.cols; ++j) {
      for (std::size_t i = 0; i < M.rows; ++i) P(i, j) = M(i, j);
    }
    return P;
  }

  Matrix<T> X, C, Th;
  std::vector<std::int64_t> labels;
  Matrix<T> Tb, Td;
  std::vector<MatrixView<const T>> inputs;
  std::vector<Targets<T>> targets;
};

TEST(GraphLayout, NodesViewTheFlatBuffersAtThePlansOffsets) {
  Graph<double> g(dag(), 0);
  EXPECT_EQ(g.plan().parameter_count, 104u);
  EXPECT_EQ(g.parameters().size, 104u);
  EXPECT_EQ(g.gradients().size, 104u);
  ASSERT_EQ(g.node_count(), 8u);
  for (std::size_t k = 0; k < g.node_count(); ++k) {
    const auto& planned = g.plan().nodes[k];
    SCOPED_TRACE(planned.name);
    EXPECT_EQ(g.node(k).name(), planned.name);
    EXPECT_EQ(g.node(k).weights().data, g.parameters().data + planned.weight_offset);
    EXPECT_EQ(g.node(k).bias(), g.parameters().data + planned.bias_offset);
    EXPECT_EQ(g.node(k).weight_gradient().data, g.gradients().data + planned.weight_offset);
    EXPECT_EQ(g.node(k).bias_gradient(), g.gradients().data + planned.bias_offset);
    EXPECT_EQ(g.node(k).uses_transposed_weights(), planned.transposed);
    EXPECT_EQ(g.node(k).input_dims(), planned.input_dims());
  }
  EXPECT_THROW(g.node(8), std::out_of_range);
  // dec2 reads enc.W transposed and dec.b.
  const std::size_t dec2 = *g.plan().find_node("dec2");
  EXPECT_TRUE(g.node(dec2).uses_transposed_weights());
  EXPECT_EQ(g.node(dec2).weights().data, g.parameters().data + param(g.plan(), "enc.W").offset);
  EXPECT_EQ(g.node(dec2).bias(), g.parameters().data + param(g.plan(), "dec.b").offset);
}

// Glorot weights (He for relu), zero biases, parameter by parameter from the seed; a chain
// graph starts where the Network of the same layers does.
TEST(GraphInit, SeededLikeNetwork) {
  GraphSpec spec = dag();
  spec.nodes[2].activation = Activation::relu;  // e
  Graph<double> a(spec, 7), b(GraphPlan::build(spec), 7), c(spec, 8);
  EXPECT_EQ(values(a.parameters()), values(b.parameters()));
  EXPECT_NE(values(a.parameters()), values(c.parameters()));
  for (const ParameterInfo& p : a.parameter_info()) {
    double largest = 0;
    for (std::size_t k = 0; k < p.size(); ++k) {
      largest = std::max(largest, std::abs(a.parameters()[p.offset + k]));
    }
    if (p.cols == 0) {
      EXPECT_EQ(largest, 0.0) << p.name;
    } else {
      const double limit = p.name == "e.W" ? std::sqrt(6.0 / double(p.cols))
                                           : std::sqrt(6.0 / double(p.rows + p.cols));
      EXPECT_GT(largest, 0.0) << p.name;
      EXPECT_LE(largest, limit) << p.name;
    }
  }
  const std::vector<blasnet::DenseSpec> layers{{5, Activation::relu, ""},
                                               {2, Activation::sigmoid, ""}};
  Graph<float> chain(blasnet::chain_spec(3, layers), 4);
  blasnet::Network<float> net(3, layers, 4);
  EXPECT_EQ(values(chain.parameters()), values(net.parameters()));
}

// ---------------------------------------------------------------------------------------------
// Backward

// Every entry of g's gradient buffer after backward(batch) against central differences
// (J(θ + h·e_p) − J(θ − h·e_p)) / 2h of the J that backward returns; and every parameter
// block has a gradient that is not zero, so that no check passes on zeros.
void expect_gradient_matches_central_differences(Graph<double>& g, const Batch<double>& batch) {
  g.backward(batch);
  const std::vector<double> analytic = values(g.gradients());
  const Span<double> theta = g.parameters();
  const double h = 1e-6;
  for (std::size_t p = 0; p < theta.size; ++p) {
    const double saved = theta[p];
    theta[p] = saved + h;
    const double plus = g.backward(batch);
    theta[p] = saved - h;
    const double minus = g.backward(batch);
    theta[p] = saved;
    const double fd = (plus - minus) / (2 * h);
    EXPECT_NEAR(analytic[p], fd, 1e-8 + 1e-6 * std::abs(fd)) << "parameter " << p;
  }
  for (const ParameterInfo& info : g.parameter_info()) {
    double largest = 0;
    for (std::size_t k = 0; k < info.size(); ++k) {
      largest = std::max(largest, std::abs(analytic[info.offset + k]));
    }
    EXPECT_GT(largest, 1e-4) << info.name;
  }
}

// The whole gradient buffer of the DAG: fan-out, two inputs, a plain share, a transposed share
// and a share of it, an output read by another node, five weighted outputs of three losses,
// one of them reconstructing an input.
TEST(GraphGradient, EveryParameterMatchesCentralDifferences) {
  Graph<double> g(dag(), 5);
  randomize(g, 6);
  const DagData<double> data;
  expect_gradient_matches_central_differences(g, data.batch());
}

// Each output alone, the others weighted down to 1e-9 (the graph stays valid, J is one
// output's): every loss path and its weight carry through, not only their sum.
TEST(GraphGradient, SingleOutputsMatchCentralDifferences) {
  const DagData<double> data;
  for (std::size_t keep = 0; keep < 5; ++keep) {
    GraphSpec spec = dag();
    for (std::size_t o = 0; o < spec.outputs.size(); ++o) {
      if (o != keep) spec.outputs[o].weight = 1e-9;
    }
    Graph<double> g(spec, 5);
    randomize(g, 6);
    SCOPED_TRACE(spec.outputs[keep].node);
    g.backward(data.batch());
    const std::vector<double> analytic = values(g.gradients());
    const Span<double> theta = g.parameters();
    const double h = 1e-6;
    for (std::size_t p = 0; p < theta.size; ++p) {
      const double saved = theta[p];
      theta[p] = saved + h;
      const double plus = g.backward(data.batch());
      theta[p] = saved - h;
      const double minus = g.backward(data.batch());
      theta[p] = saved;
      const double fd = (plus - minus) / (2 * h);
      ASSERT_NEAR(analytic[p], fd, 1e-8 + 1e-6 * std::abs(fd)) << "parameter " << p;
    }
  }
}

// Blocks that do not line up with the owner's: a (W 4×5) reads [x (3), c (2)]; t uses a.Wᵀ
// (5×4) over [p (1), q (3)]; s uses a.W over [c (2), q (3)]. And outputs of every kind read by
// other nodes: s (softmax, softmax_cross_entropy) feeds u (sigmoid, binary_cross_entropy),
// which feeds v; hs is a hidden softmax.
GraphSpec misaligned() {
  GraphSpec spec;
  spec.inputs = {{"x", 3}, {"c", 2}};
  spec.nodes = {node("a", {"x", "c"}, 4, Activation::tanh),
                node("p", {"a"}, 1, Activation::sigmoid),
                node("q", {"a"}, 3, Activation::tanh),
                node("t", {"p", "q"}, 5, Activation::identity, "a", true),
                node("s", {"c", "q"}, 4, Activation::softmax, "a"),
                node("u", {"s"}, 2, Activation::sigmoid),
                node("hs", {"q"}, 3, Activation::softmax),
                node("v", {"u", "hs"}, 2, Activation::tanh)};
  spec.outputs = {output("t", Loss::mse), output("s", Loss::softmax_cross_entropy, 0.8),
                  output("u", Loss::binary_cross_entropy, 1.1), output("v", Loss::mse)};
  return spec;
}

TEST(GraphGradient, MisalignedBlocksAndOutputsReadByOthers) {
  Graph<double> g(misaligned(), 5);
  randomize(g, 7, 1.5);
  const std::size_t n = 5;
  const Matrix<double> X = random_matrix<double>(3, n, 70), C = random_matrix<double>(2, n, 71);
  const Matrix<double> Tt = random_matrix<double>(5, n, 72);
  const std::vector<std::int64_t> labels{3, 0, 1, 2, 3};
  const Matrix<double> Tu = random_matrix<double>(2, n, 73, 0, 1);
  const Matrix<double> Tv = random_matrix<double>(2, n, 74);
  const std::vector<MatrixView<const double>> in{X.cview(), C.cview()};
  const std::vector<Targets<double>> t{
      Targets<double>::dense(Tt.cview()), Targets<double>::classes(labels.data(), n),
      Targets<double>::dense(Tu.cview()), Targets<double>::dense(Tv.cview())};
  const Batch<double> batch = batch_of(in, t);

  // Forward first: t = a.Wᵀ·[p; q] + b_t, s = softmax(a.W·[c; q] + a.b), by hand.
  g.forward({in.data(), in.size()});
  const Matrix<double> W = weight(g, "a.W");
  const Matrix<double> A = dense_ref(Activation::tanh, W, bias(g, "a.b"), stack(X, C));
  const Matrix<double> P = dense_ref(Activation::sigmoid, weight(g, "p.W"), bias(g, "p.b"), A);
  const Matrix<double> Q = dense_ref(Activation::tanh, weight(g, "q.W"), bias(g, "q.b"), A);
  expect_matrix_near(g.output(0), dense_ref(Activation::identity, transpose(W), bias(g, "t.b"),
                                            stack(P, Q)), 1e-13);
  expect_matrix_near(g.output(1), dense_ref(Activation::softmax, W, bias(g, "a.b"), stack(C, Q)),
                     1e-13);

  expect_gradient_matches_central_differences(g, batch);
}

// A node may share the weights of a node downstream of it: o [x] -> 3 uses the W and b of
// d [o] -> 3, which runs after it (and is the first to write their gradient in backward).
TEST(GraphGradient, SharingANodeDownstream) {
  GraphSpec spec;
  spec.inputs = {{"x", 3}};
  spec.nodes = {node("o", {"x"}, 3, Activation::tanh, "d"),
                node("d", {"o"}, 3, Activation::sigmoid)};
  spec.outputs = {output("d", Loss::binary_cross_entropy)};
  Graph<double> g(spec, 5);
  ASSERT_EQ(g.parameter_info().size(), 2u);
  EXPECT_EQ(g.parameter_info()[0].name, "d.W");
  EXPECT_EQ(g.plan().nodes[0].first_weight_gradient, false);
  EXPECT_EQ(g.plan().nodes[1].first_weight_gradient, true);
  randomize(g, 3);
  const Matrix<double> X = random_matrix<double>(3, 4, 80);
  const Matrix<double> T = random_matrix<double>(3, 4, 81, 0, 1);
  const MatrixView<const double> x = X.cview();
  const Targets<double> t = Targets<double>::dense(T.cview());
  const Batch<double> batch{{&x, 1}, {&t, 1}};
  g.forward(batch.inputs);
  const Matrix<double> W = weight(g, "d.W");
  const std::vector<double> b = bias(g, "d.b");
  expect_matrix_near(g.output(0),
                     dense_ref(Activation::sigmoid, W, b, dense_ref(Activation::tanh, W, b, X)),
                     1e-14);
  expect_gradient_matches_central_differences(g, batch);
}

// Each backward overwrites the gradient buffer, shared blocks included: the first use of a
// block in the backward order writes, the rest add.
TEST(GraphGradient, RepeatedBackwardOverwrites) {
  Graph<double> g(dag(), 5);
  randomize(g, 6);
  const DagData<double> data;
  const double J = g.backward(data.batch());
  const std::vector<double> first = values(g.gradients());
  std::fill(g.gradients().begin(), g.gradients().end(), 1e3);
  EXPECT_EQ(g.backward(data.batch()), J);
  EXPECT_EQ(values(g.gradients()), first);
}

// The note's weight association: for W1 = W2 = W, dJ/dW = dJ/dW1 + dJ/dW2. The tied graph
// against its untied twin holding the same values: equal J, and each tied block's gradient
// the sum of its copies' (transposed back for the transposed uses).
TYPED_TEST(GraphTyped, SharedGradientIsTheSumOverUntiedCopies) {
  using T = TypeParam;
  Graph<T> tied(dag(), 1);
  randomize(tied, 2);
  Graph<T> untied(dag_untied(), 1);
  ASSERT_EQ(untied.plan().parameter_count, 104u + 20 + 12 + 15);

  const auto set = [&](const std::string& name, const std::vector<T>& v) {
    const ParameterInfo& p = param(untied.plan(), name);
    ASSERT_EQ(v.size(), p.size()) << name;
    std::copy(v.begin(), v.end(), untied.parameters().data + p.offset);
  };
  const auto flat = [](const Matrix<T>& W) {  // row-major, as the buffers hold W
    std::vector<T> v;
    for (std::size_t i = 0; i < W.rows; ++i) {
      for (std::size_t k = 0; k < W.cols; ++k) v.push_back(W(i, k));
    }
    return v;
  };
  for (const ParameterInfo& p : tied.parameter_info()) {
    set(p.name, {tied.parameters().data + p.offset, tied.parameters().data + p.offset + p.size()});
  }
  set("r.W", flat(weight(tied, "h.W")));
  set("r.b", bias(tied, "h.b"));
  set("dec.W", flat(transpose(weight(tied, "enc.W"))));
  set("dec2.W", flat(transpose(weight(tied, "enc.W"))));
  set("dec2.b", bias(tied, "dec.b"));

  const DagData<T> data;
  const double J_tied = tied.backward(data.batch());
  const double J_untied = untied.backward(data.batch());
  EXPECT_NEAR(J_tied, J_untied, this->tol * std::abs(J_untied));

  const auto grad = [](const Graph<T>& g, const std::string& name, std::size_t k) {
    return double(g.gradients()[param(g.plan(), name).offset + k]);
  };
  double scale = 0;
  for (T v : untied.gradients()) scale = std::max(scale, double(std::abs(v)));
  const double tol = this->tol * scale;
  for (const ParameterInfo& p : tied.parameter_info()) {
    SCOPED_TRACE(p.name);
    for (std::size_t k = 0; k < p.size(); ++k) {
      double expected = grad(untied, p.name, k);
      if (p.name == "enc.W") {  // enc.W (4×3) [i, j] is used as dec.W and dec2.W (3×4) [j, i]
        const std::size_t i = k / 3, j = k % 3;
        expected += grad(untied, "dec.W", j * 4 + i) + grad(untied, "dec2.W", j * 4 + i);
      } else if (p.name == "h.W") {
        expected += grad(untied, "r.W", k);
      } else if (p.name == "h.b") {
        expected += grad(untied, "r.b", k);
      } else if (p.name == "dec.b") {
        expected += grad(untied, "dec2.b", k);
      }
      EXPECT_NEAR(grad(tied, p.name, k), expected, tol) << "entry " << k;
    }
  }
}

// The same identity through the two views the layer takes of one W: a node whose input is the
// concatenation [x; x] against two separate blocks of the same W.
TYPED_TEST(GraphTyped, RepeatedSourceGetsTheSumOfBothBlocks) {
  using T = TypeParam;
  GraphSpec twice;
  twice.inputs = {{"x", 2}};
  twice.nodes = {node("h", {"x"}, 3, Activation::tanh),
                 node("y", {"h", "h"}, 2, Activation::sigmoid)};
  twice.outputs = {output("y", Loss::binary_cross_entropy)};
  // The same function with the sum of the two blocks: y = σ((W1 + W2)·h + b).
  GraphSpec once = twice;
  once.nodes[1].inputs = {"h"};
  Graph<T> a(twice, 1), b(once, 1);
  randomize(a, 3);
  std::copy(a.parameters().data, a.parameters().data + 9, b.parameters().data);  // h.W, h.b
  const Matrix<T> Wy = weight(a, "y.W");  // 2 × 6
  for (std::size_t i = 0; i < 2; ++i) {
    for (std::size_t k = 0; k < 3; ++k) b.parameters()[9 + i * 3 + k] = Wy(i, k) + Wy(i, 3 + k);
  }
  const std::vector<T> yb = bias(a, "y.b");
  std::copy(yb.begin(), yb.end(), b.parameters().data + 15);

  const Matrix<T> X = random_matrix<T>(2, 5, 4);
  const Matrix<T> Tt = random_matrix<T>(2, 5, 5, 0, 1);
  const MatrixView<const T> x = X.cview();
  const Targets<T> t = Targets<T>::dense(Tt.cview());
  const Batch<T> batch{{&x, 1}, {&t, 1}};
  EXPECT_NEAR(a.backward(batch), b.backward(batch), this->tol);
  // dJ/dh is the same in both, so h's gradients agree; y's two blocks each get b's dW.
  for (std::size_t p = 0; p < 9; ++p) {
    EXPECT_NEAR(a.gradients()[p], b.gradients()[p], this->tol) << p;
  }
  for (std::size_t i = 0; i < 2; ++i) {
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_NEAR(a.gradients()[9 + i * 6 + k], b.gradients()[9 + i * 3 + k], this->tol);
      EXPECT_NEAR(a.gradients()[9 + i * 6 + 3 + k], b.gradients()[9 + i * 3 + k], this->tol);
    }
    EXPECT_NEAR(a.gradients()[21 + i], b.gradients()[15 + i], this->tol) << "y.b";
  }
  // The folded step takes both blocks' dX before changing W: it lands where Θ − α·∇J does.
  Graph<T> stepped(twice, 1);
  std::copy(a.parameters().begin(), a.parameters().end(), stepped.parameters().begin());
  stepped.sgd_step(batch, T(0.5));
  for (std::size_t p = 0; p < a.parameters().size; ++p) {
    EXPECT_NEAR(stepped.parameters()[p], a.parameters()[p] - T(0.5) * a.gradients()[p], this->tol)
        << p;
  }
}

// ---------------------------------------------------------------------------------------------
// J and the outputs' losses

// J_i from the outputs in loops: the costs of the note's eq. (5), each a mean over the batch.
double mse(MatrixView<const double> Y, const Matrix<double>& T) {
  double sum = 0;
  for (std::size_t j = 0; j < Y.cols; ++j) {
    for (std::size_t i = 0; i < Y.rows; ++i) sum += 0.5 * (Y(i, j) - T(i, j)) * (Y(i, j) - T(i, j));
  }
  return sum / double(Y.cols);
}

double bce(MatrixView<const double> Y, const Matrix<double>& T) {
  double sum = 0;
  for (std::size_t j = 0; j < Y.cols; ++j) {
    for (std::size_t i = 0; i < Y.rows; ++i) {
      sum -= T(i, j) * std::log(Y(i, j)) + (1 - T(i, j)) * std::log(1 - Y(i, j));
    }
  }
  return sum / double(Y.cols);
}

double sce(MatrixView<const double> Y, const std::vector<std::int64_t>& labels) {
  double sum = 0;
  for (std::size_t j = 0; j < Y.cols; ++j) {
    sum -= std::log(Y(static_cast<std::size_t>(labels[j]), j));
  }
  return sum / double(Y.cols);
}

TEST(GraphLoss, OutputLossesAndWeightedSum) {
  Graph<double> g(dag(), 5);
  randomize(g, 6);
  ASSERT_EQ(g.output_losses().size(), 5u);
  const DagData<double> data;
  const double J = g.backward(data.batch());

  const std::vector<double> expected{mse(g.output(0), data.Th), mse(g.output(1), data.X),
                                     sce(g.output(2), data.labels), bce(g.output(3), data.Tb),
                                     bce(g.output(4), data.Td)};
  const std::vector<double>& losses = g.output_losses();
  ASSERT_EQ(losses.size(), 5u);
  double sum = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(losses[i], expected[i], 1e-10 * expected[i]) << "output " << i;
    EXPECT_GT(losses[i], 1e-3) << "output " << i;
    sum += g.plan().outputs[i].weight * expected[i];
  }
  EXPECT_NEAR(J, sum, 1e-12 * sum);
  EXPECT_NE(J, expected[0] + expected[1] + expected[2] + expected[3] + expected[4])
      << "J weighs each output";

  // sgd_step reports the same, before its update.
  Graph<double> twin(dag(), 5);
  randomize(twin, 6);
  EXPECT_EQ(twin.sgd_step(data.batch(), 0.1), J);
  EXPECT_EQ(twin.output_losses(), losses);
}

// A changed weight changes J by exactly its share, and the gradient by the same factor for the
// parameters only that output reaches.
TEST(GraphLoss, OutputWeightScalesItsTerm) {
  const DagData<double> data;
  GraphSpec spec = dag();
  Graph<double> a(spec, 5);
  randomize(a, 6);
  spec.outputs[3].weight = 6.0;  // bin: 2 -> 6
  Graph<double> b(spec, 5);
  randomize(b, 6);
  const double Ja = a.backward(data.batch());
  const double Jb = b.backward(data.batch());
  EXPECT_NEAR(Jb - Ja, 4.0 * a.output_losses()[3], 1e-12 * Jb);
  // bin.W and bin.b feed bin alone: their gradients triple.
  for (const char* name : {"bin.W", "bin.b"}) {
    const ParameterInfo& p = param(a.plan(), name);
    for (std::size_t k = 0; k < p.size(); ++k) {
      EXPECT_NEAR(b.gradients()[p.offset + k], 3.0 * a.gradients()[p.offset + k], 1e-12) << name;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SGD steps

// No parameter is shared here, so sgd_step folds the update into the backward products:
// x (3), c (2); e [x, c] -> 4 tanh; h [e] -> 3 sigmoid (output, read by cls); cls [h, e] -> 3
// softmax; bin [e] -> 2 sigmoid; dec [e] -> 3 identity reconstructing x; e is an output too.
GraphSpec unshared() {
  GraphSpec spec;
  spec.inputs = {{"x", 3}, {"c", 2}};
  spec.nodes = {node("e", {"x", "c"}, 4, Activation::tanh),
                node("h", {"e"}, 3, Activation::sigmoid),
                node("cls", {"h", "e"}, 3, Activation::softmax),
                node("bin", {"e"}, 2, Activation::sigmoid),
                node("dec", {"e"}, 3, Activation::identity)};
  spec.outputs = {output("h", Loss::mse, 0.7), output("dec", Loss::mse, 0.4, "x"),
                  output("cls", Loss::softmax_cross_entropy, 1.5),
                  output("bin", Loss::binary_cross_entropy, 1.0), output("e", Loss::mse, 0.3)};
  return spec;
}

// Targets for unshared(): h, dec (ignored), cls (labels), bin, e.
template <typename T>
struct UnsharedData {
  static constexpr std::size_t n = 7;
  UnsharedData()
      : X(random_matrix<T>(3, n, 21)),
        C(random_matrix<T>(2, n, 22)),
        Th(random_matrix<T>(3, n, 23, 0, 1)),
        labels{2, 0, 1, 1, 2, 0, 0},
        Tb(random_matrix<T>(2, n, 24, 0, 1)),
        Te(random_matrix<T>(4, n, 25)),
        inputs{X.cview(), C.cview()},
        targets{Targets<T>::dense(Th.cview()), Targets<T>{},
                Targets<T>::classes(labels.data(), n), Targets<T>::dense(Tb.cview()),
                Targets<T>::dense(Te.cview())} {}
  UnsharedData(const UnsharedData&) = delete;
  UnsharedData& operator=(const UnsharedData&) = delete;
  Batch<T> batch() const { return batch_of(inputs, targets); }

  Matrix<T> X, C, Th;
  std::vector<std::int64_t> labels;
  Matrix<T> Tb, Te;
  std::vector<MatrixView<const T>> inputs;
  std::vector<Targets<T>> targets;
};

TYPED_TEST(GraphTyped, FoldedSgdStepEqualsBackwardThenUpdate) {
  using T = TypeParam;
  Graph<T> folded(unshared(), 3), reference(unshared(), 3);
  ASSERT_FALSE(folded.plan().shares_parameters);
  randomize(folded, 4);
  randomize(reference, 4);
  const UnsharedData<T> data;
  const T lr = T(0.3);

  const double J_ref = reference.backward(data.batch());
  for (std::size_t i = 0; i < reference.parameters().size; ++i) {
    reference.parameters()[i] -= lr * reference.gradients()[i];
  }
  std::fill(folded.gradients().begin(), folded.gradients().end(), T(42));
  const std::vector<T> before = values(folded.parameters());
  const double J = folded.sgd_step(data.batch(), lr);

  EXPECT_EQ(J, J_ref);
  double moved = 0;
  for (std::size_t i = 0; i < folded.parameters().size; ++i) {
    EXPECT_NEAR(folded.parameters()[i], reference.parameters()[i], this->tol) << "parameter " << i;
    moved = std::max(moved, double(std::abs(folded.parameters()[i] - before[i])));
  }
  EXPECT_GT(moved, 1e-3) << "the step moved the parameters";
  // eq. (9) is folded into the update: no weight gradient is written (the biases' are formed
  // on the way, to check them for NaN before anything changes).
  for (const blasnet::ParameterInfo& p : folded.parameter_info()) {
    if (p.cols == 0) continue;
    for (std::size_t i = 0; i < p.size(); ++i) {
      ASSERT_EQ(folded.gradients()[p.offset + i], T(42)) << p.name << " was written";
    }
  }
}

TYPED_TEST(GraphTyped, SharedSgdStepEqualsBackwardThenUpdate) {
  using T = TypeParam;
  Graph<T> stepped(dag(), 3), reference(dag(), 3);
  ASSERT_TRUE(stepped.plan().shares_parameters);
  randomize(stepped, 4);
  randomize(reference, 4);
  const DagData<T> data;
  const T lr = T(0.3);

  const double J_ref = reference.backward(data.batch());
  const std::vector<T> gradient = values(reference.gradients());
  for (std::size_t i = 0; i < reference.parameters().size; ++i) {
    reference.parameters()[i] -= lr * reference.gradients()[i];
  }
  const double J = stepped.sgd_step(data.batch(), lr);

  EXPECT_EQ(J, J_ref);
  for (std::size_t i = 0; i < stepped.parameters().size; ++i) {
    EXPECT_NEAR(stepped.parameters()[i], reference.parameters()[i], this->tol) << "parameter " << i;
  }
  EXPECT_EQ(values(stepped.gradients()), gradient) << "the gradients are formed first";
  // And the step goes downhill.
  EXPECT_LT(stepped.backward(data.batch()), J);
}

// ---------------------------------------------------------------------------------------------
// Views

// Inputs and targets that are views into taller buffers (NaN padding) give what contiguous
// copies give: forward, J, ∇J and a step.
TYPED_TEST(GraphTyped, StridedInputsEqualContiguousCopies) {
  using T = TypeParam;
  const DagData<T> strided(3), compact(0);
  ASSERT_EQ(strided.X.ld, 6u);
  ASSERT_EQ(compact.X.ld, 3u);
  Graph<T> a(dag(), 1), b(dag(), 1);
  randomize(a, 2);
  randomize(b, 2);

  a.forward(strided.input_span());
  b.forward(compact.input_span());
  for (std::size_t o = 0; o < 5; ++o) {
    const MatrixView<const T> ya = a.output(o), yb = b.output(o);
    ASSERT_EQ(ya.cols, yb.cols);
    for (std::size_t j = 0; j < ya.cols; ++j) {
      for (std::size_t i = 0; i < ya.rows; ++i) {
        EXPECT_NEAR(ya(i, j), yb(i, j), this->tol) << "output " << o;
        EXPECT_FALSE(std::isnan(ya(i, j)));
      }
    }
  }
  EXPECT_NEAR(a.backward(strided.batch()), b.backward(compact.batch()), this->tol);
  for (std::size_t p = 0; p < a.gradients().size; ++p) {
    EXPECT_NEAR(a.gradients()[p], b.gradients()[p], this->tol) << "parameter " << p;
  }
  // Unshared too, through the folded step: its products read X in place.
  Graph<T> fa(unshared(), 1), fb(unshared(), 1);
  randomize(fa, 2);
  randomize(fb, 2);
  const UnsharedData<T> u;
  Matrix<T> Xp = DagData<T>::padded(u.X, 2), Cp = DagData<T>::padded(u.C, 5);
  const std::vector<MatrixView<const T>> in{Xp.cview(), Cp.cview()};
  EXPECT_NEAR(fa.sgd_step(batch_of(in, u.targets), T(0.2)), fb.sgd_step(u.batch(), T(0.2)),
              this->tol);
  for (std::size_t p = 0; p < fa.parameters().size; ++p) {
    EXPECT_NEAR(fa.parameters()[p], fb.parameters()[p], this->tol) << "parameter " << p;
  }
}

// A smaller batch after a larger one reuses the workspace and sees only its own columns; a
// larger one after that grows it. Each output's columns are those of the full batch.
TEST(GraphForward, ChangingBatchSizes) {
  Graph<double> g(dag(), 1);
  randomize(g, 2);
  const DagData<double> data;
  g.forward(data.input_span());
  std::vector<Matrix<double>> full;
  for (std::size_t o = 0; o < 5; ++o) {
    const MatrixView<const double> y = g.output(o);
    full.emplace_back(y.rows, y.cols);
    for (std::size_t j = 0; j < y.cols; ++j) {
      for (std::size_t i = 0; i < y.rows; ++i) full[o](i, j) = y(i, j);
    }
  }
  for (std::size_t n : {2u, 1u, 6u}) {
    SCOPED_TRACE(n);
    const std::vector<MatrixView<const double>> in{data.X.cview().columns(0, n),
                                                   data.C.cview().columns(0, n)};
    g.forward({in.data(), in.size()});
    for (std::size_t o = 0; o < 5; ++o) {
      const MatrixView<const double> y = g.output(o);
      ASSERT_EQ(y.cols, n);
      for (std::size_t j = 0; j < n; ++j) {
        for (std::size_t i = 0; i < y.rows; ++i) {
          EXPECT_NEAR(y(i, j), full[o](i, j), 1e-14) << "output " << o;
        }
      }
    }
  }
  // A bigger batch than any before: 9 samples, the first 6 as above.
  Matrix<double> X9 = random_matrix<double>(3, 9, 90), C9 = random_matrix<double>(2, 9, 91);
  for (std::size_t j = 0; j < 6; ++j) {
    for (std::size_t i = 0; i < 3; ++i) X9(i, j) = data.X(i, j);
    for (std::size_t i = 0; i < 2; ++i) C9(i, j) = data.C(i, j);
  }
  const std::vector<MatrixView<const double>> in9{X9.cview(), C9.cview()};
  g.forward({in9.data(), in9.size()});
  for (std::size_t o = 0; o < 5; ++o) {
    ASSERT_EQ(g.output(o).cols, 9u);
    for (std::size_t j = 0; j < 6; ++j) {
      for (std::size_t i = 0; i < full[o].rows; ++i) {
        EXPECT_NEAR(g.output(o)(i, j), full[o](i, j), 1e-14) << "output " << o;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

// The message of the std::invalid_argument f throws, or a failure if it throws none.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::invalid_argument";
  return "";
}

bool contains(const std::string& s, const std::string& piece) {
  return s.find(piece) != std::string::npos;
}

// Runs forward, backward and sgd_step on a bad batch: each throws std::invalid_argument with
// every piece in its message, and neither the parameters nor the gradients change.
void expect_refused(Graph<double>& g, const Batch<double>& batch,
                    std::initializer_list<const char*> pieces, bool forward_too = true) {
  std::fill(g.gradients().begin(), g.gradients().end(), 42.0);
  const std::vector<double> before = values(g.parameters());
  std::vector<std::string> messages{error_of([&] { g.backward(batch); }),
                                    error_of([&] { g.sgd_step(batch, 0.1); })};
  if (forward_too) messages.push_back(error_of([&] { g.forward(batch.inputs); }));
  for (const std::string& message : messages) {
    for (const char* piece : pieces) {
      EXPECT_TRUE(contains(message, piece)) << "\"" << message << "\" lacks \"" << piece << "\"";
    }
  }
  EXPECT_EQ(values(g.parameters()), before) << "parameters changed";
  for (double v : g.gradients()) ASSERT_EQ(v, 42.0) << "gradients changed";
}

TEST(GraphChecks, BadInputsThrowBeforeChangingAnything) {
  Graph<double> g(dag(), 1);
  const DagData<double> data;
  const std::size_t n = DagData<double>::n;

  {  // wrong number of input arrays
    const std::vector<MatrixView<const double>> one{data.X.cview()};
    expect_refused(g, batch_of(one, data.targets), {"1 input", "2 inputs"});
    const std::vector<MatrixView<const double>> three{data.X.cview(), data.C.cview(),
                                                      data.C.cview()};
    expect_refused(g, batch_of(three, data.targets), {"3 input", "2 inputs"});
  }
  {  // c with 3 features instead of 2
    const Matrix<double> C3 = random_matrix<double>(3, n, 30);
    const std::vector<MatrixView<const double>> in{data.X.cview(), C3.cview()};
    expect_refused(g, batch_of(in, data.targets), {"'c'", "3 features", "2"});
    // inputs in the wrong order: x (3) where c (2) goes
    const std::vector<MatrixView<const double>> swapped{data.C.cview(), data.X.cview()};
    expect_refused(g, batch_of(swapped, data.targets), {"'x'", "2 features", "3"});
  }
  {  // unequal sample counts
    const std::vector<MatrixView<const double>> in{data.X.cview(),
                                                   data.C.cview().columns(0, n - 1)};
    expect_refused(g, batch_of(in, data.targets), {"'c'", "5 samples", "6"});
  }
  {  // an empty batch, in either input
    const std::vector<MatrixView<const double>> empty{data.X.cview().columns(0, 0),
                                                      data.C.cview().columns(0, 0)};
    expect_refused(g, batch_of(empty, data.targets), {"empty batch"});
    const std::vector<MatrixView<const double>> second{data.X.cview(),
                                                       data.C.cview().columns(0, 0)};
    expect_refused(g, batch_of(second, data.targets), {"empty", "'c'"});
  }
  for (double bad : {std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    Matrix<double> C = data.C;
    C(1, 2) = bad;
    const std::vector<MatrixView<const double>> in{data.X.cview(), C.cview()};
    expect_refused(g, batch_of(in, data.targets), {"'c'", "NaN or Inf", "sample 2"});
    Matrix<double> X = data.X;
    X(0, 4) = -bad;
    const std::vector<MatrixView<const double>> in2{X.cview(), data.C.cview()};
    expect_refused(g, batch_of(in2, data.targets), {"'x'", "sample 4"});
  }
}

TEST(GraphChecks, BadTargetsThrowBeforeChangingAnything) {
  Graph<double> g(dag(), 1);
  const DagData<double> data;
  const std::size_t n = DagData<double>::n;

  std::vector<Targets<double>> four(data.targets.begin(), data.targets.end() - 1);
  expect_refused(g, batch_of(data.inputs, four), {"4 targets", "5 outputs"}, false);
  std::vector<Targets<double>> none;
  expect_refused(g, batch_of(data.inputs, none), {"0 targets", "5 outputs"}, false);

  // h's targets: 3 rows for 4 units; then 5 samples for 6.
  const Matrix<double> T3 = random_matrix<double>(3, n, 31, 0, 1);
  std::vector<Targets<double>> t = data.targets;
  t[0] = Targets<double>::dense(T3.cview());
  expect_refused(g, batch_of(data.inputs, t), {"output 'h'"}, false);
  t[0] = Targets<double>::dense(data.Th.cview().columns(0, n - 1));
  expect_refused(g, batch_of(data.inputs, t), {"output 'h'"}, false);

  // cls's labels: 3 is no class of 3 units; bin's targets outside [0, 1]; a NaN target.
  std::vector<std::int64_t> labels = data.labels;
  labels[4] = 3;
  t = data.targets;
  t[2] = Targets<double>::classes(labels.data(), n);
  expect_refused(g, batch_of(data.inputs, t), {"output 'cls'"}, false);
  Matrix<double> Tb = data.Tb;
  Tb(1, 1) = 1.5;
  t = data.targets;
  t[3] = Targets<double>::dense(Tb.cview());
  expect_refused(g, batch_of(data.inputs, t), {"output 'bin'"}, false);
  Tb(1, 1) = std::nan("");
  expect_refused(g, batch_of(data.inputs, t), {"output 'bin'"}, false);
  // Labels where a dense target belongs.
  t = data.targets;
  t[3] = Targets<double>::classes(data.labels.data(), n);
  expect_refused(g, batch_of(data.inputs, t), {"output 'bin'"}, false);

  // The batch is fine after all that.
  std::fill(g.gradients().begin(), g.gradients().end(), 0.0);
  EXPECT_NO_THROW(g.backward(data.batch()));
}

// An input used as a target must lie in its loss's domain: a sigmoid reconstruction with binary
// cross-entropy needs x in [0, 1].
TEST(GraphChecks, TargetInputCheckedAgainstTheLoss) {
  Graph<double> g(tied_autoencoder(Activation::sigmoid, Loss::binary_cross_entropy), 1);
  Matrix<double> X = random_matrix<double>(3, 4, 32, 0, 1);
  const MatrixView<const double> x = X.cview();
  const Targets<double> ignored{};
  const Batch<double> batch{{&x, 1}, {&ignored, 1}};
  EXPECT_NO_THROW(g.backward(batch));
  X(2, 3) = 1.5;
  expect_refused(g, batch, {"binary_cross_entropy"}, false);
  EXPECT_NO_THROW(g.forward(batch.inputs)) << "forward reads no targets";
}

// A step unit runs forward but has no gradient: training refuses before writing anything.
TEST(GraphChecks, StepNodeCannotBeTrained) {
  GraphSpec spec = dag();
  spec.nodes[2].activation = Activation::step;  // e
  Graph<double> g(spec, 1);
  const DagData<double> data;
  EXPECT_NO_THROW(g.forward(data.input_span()));
  expect_refused(g, data.batch(), {"'e'", "step"}, false);
}

TEST(GraphChecks, SetLoss) {
  Graph<double> g(dag(), 1);
  randomize(g, 2);
  EXPECT_THROW(g.set_loss(1, Loss::binary_cross_entropy), std::invalid_argument)
      << "dec is identity";
  EXPECT_EQ(g.plan().outputs[1].loss, Loss::mse) << "a refused loss is not set";
  EXPECT_THROW(g.set_loss(5, Loss::mse), std::out_of_range);
  const DagData<double> data;
  const double J = g.backward(data.batch());
  const double bin_bce = g.output_losses()[3];
  g.set_loss(3, Loss::mse);
  EXPECT_EQ(g.plan().outputs[3].loss, Loss::mse);
  const double J_mse = g.backward(data.batch());
  EXPECT_NEAR(J_mse - J, 2.0 * (mse(g.output(3), data.Tb) - bin_bce), 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Graphs over another graph's buffers

TYPED_TEST(GraphTyped, ExternalBuffersAreSharedWithTheOwner) {
  using T = TypeParam;
  Graph<T> owner(dag(), 1);
  randomize(owner, 2);
  Graph<T> view(owner.plan(), owner.parameters(), owner.gradients());
  EXPECT_EQ(view.parameters().data, owner.parameters().data);
  EXPECT_EQ(view.gradients().data, owner.gradients().data);
  EXPECT_EQ(view.node(0).weights().data, owner.node(0).weights().data);

  const DagData<T> data;
  const double J = owner.backward(data.batch());
  const std::vector<T> gradient = values(owner.gradients());
  std::fill(owner.gradients().begin(), owner.gradients().end(), T(0));
  EXPECT_EQ(view.backward(data.batch()), J);
  EXPECT_EQ(values(owner.gradients()), gradient) << "the view wrote the owner's gradients";

  const std::vector<T> before = values(owner.parameters());
  view.sgd_step(data.batch(), T(0.1));
  EXPECT_NE(values(owner.parameters()), before) << "the view stepped the owner's parameters";
  EXPECT_LT(owner.backward(data.batch()), J);
}

// One recurrent cell unrolled to two and to three steps: the same parameters, so the short
// unrolling can run over the long one's buffers, and does what a graph of its own would.
GraphSpec unrolled(std::size_t steps) {
  GraphSpec spec;
  spec.inputs = {{"h0", 3}};
  std::string previous = "h0";
  for (std::size_t s = 1; s <= steps; ++s) {
    const std::string x = "x" + std::to_string(s), cell = "s" + std::to_string(s);
    spec.inputs.push_back({x, 2});
    spec.nodes.push_back(node(cell, {previous, x}, 3, Activation::tanh, s == 1 ? "" : "s1"));
    previous = cell;
  }
  spec.nodes.push_back(node("out", {previous}, 1, Activation::identity));
  spec.outputs = {output("out", Loss::mse)};
  return spec;
}

TEST(GraphExternalBuffers, UnrolledToSeveralLengths) {
  Graph<double> three(unrolled(3), 1);
  randomize(three, 2);
  const GraphPlan plan2 = GraphPlan::build(unrolled(2));
  ASSERT_EQ(plan2.parameter_count, three.plan().parameter_count);
  Graph<double> two(plan2, three.parameters(), three.gradients());
  Graph<double> alone(unrolled(2), 9);
  std::copy(three.parameters().begin(), three.parameters().end(), alone.parameters().begin());

  const Matrix<double> H0 = random_matrix<double>(3, 5, 40);
  const Matrix<double> X1 = random_matrix<double>(2, 5, 41), X2 = random_matrix<double>(2, 5, 42);
  const Matrix<double> T = random_matrix<double>(1, 5, 43);
  const std::vector<MatrixView<const double>> in{H0.cview(), X1.cview(), X2.cview()};
  const std::vector<Targets<double>> t{Targets<double>::dense(T.cview())};
  const double J = alone.backward(batch_of(in, t));
  EXPECT_EQ(two.backward(batch_of(in, t)), J);
  EXPECT_EQ(values(three.gradients()), values(alone.gradients()));

  // Two steps by hand: s1 = tanh(W·[h0; x1] + b), s2 = tanh(W·[s1; x2] + b), out = v·s2 + c.
  const Matrix<double> W = weight(three, "s1.W");
  const std::vector<double> b = bias(three, "s1.b");
  const Matrix<double> s2 = dense_ref(
      Activation::tanh, W, b, stack(dense_ref(Activation::tanh, W, b, stack(H0, X1)), X2));
  const Matrix<double> out =
      dense_ref(Activation::identity, weight(three, "out.W"), bias(three, "out.b"), s2);
  two.forward({in.data(), in.size()});
  expect_matrix_near(two.output(0), out, 1e-13);
}

TEST(GraphExternalBuffers, WrongSizesThrow) {
  const GraphPlan plan = GraphPlan::build(dag());
  std::vector<double> p(plan.parameter_count), g(plan.parameter_count), longer(105);
  const Span<double> ok{p.data(), p.size()}, grads{g.data(), g.size()};
  EXPECT_NO_THROW(Graph<double>(plan, ok, grads));
  const std::string message =
      error_of([&] { Graph<double>(plan, Span<double>{p.data(), 103}, grads); });
  EXPECT_TRUE(contains(message, "104")) << message;
  EXPECT_TRUE(contains(message, "103")) << message;
  EXPECT_THROW(Graph<double>(plan, ok, Span<double>{longer.data(), longer.size()}),
               std::invalid_argument);
  EXPECT_THROW(Graph<double>(plan, Span<double>{}, Span<double>{}), std::invalid_argument);
}

// The nodes' views survive a move of the graph that owns the buffers.
TEST(GraphMove, ViewsSurviveAMove) {
  Graph<double> g(dag(), 1);
  randomize(g, 2);
  const DagData<double> data;
  const double J = g.backward(data.batch());
  const std::vector<double> gradient = values(g.gradients());
  Graph<double> moved(std::move(g));
  EXPECT_EQ(moved.node(0).weights().data,
            moved.parameters().data + moved.plan().nodes[0].weight_offset);
  EXPECT_EQ(moved.backward(data.batch()), J);
  EXPECT_EQ(values(moved.gradients()), gradient);
}

// ---------------------------------------------------------------------------------------------
// fit on a graph

// Two inputs, u (2) and v (1); h [u, v] -> 8 tanh; y [h] -> 1 identity; t = u0 − 2·u1 + v.
struct Regression {
  static constexpr std::size_t n = 64;
  Matrix<double> U = random_matrix<double>(2, n, 50);
  Matrix<double> V = random_matrix<double>(1, n, 51);
  Matrix<double> T{1, n};
  std::vector<MatrixView<const double>> inputs{U.cview(), V.cview()};
  std::vector<Targets<double>> targets{Targets<double>::dense(T.cview())};
  Regression() {
    for (std::size_t j = 0; j < n; ++j) T(0, j) = U(0, j) - 2 * U(1, j) + V(0, j);
  }
  Regression(const Regression&) = delete;
  Batch<double> data() const { return batch_of(inputs, targets); }

  static GraphSpec spec() {
    GraphSpec s;
    s.inputs = {{"u", 2}, {"v", 1}};
    s.nodes = {node("h", {"u", "v"}, 8, Activation::tanh),
               node("y", {"h"}, 1, Activation::identity)};
    s.outputs = {output("y", Loss::mse)};
    return s;
  }
};

TEST(GraphFit, TwoInputGraphLearnsAndIsReproducible) {
  const Regression r;
  Graph<double> g(Regression::spec(), 3);
  const double J0 = g.backward(r.data());
  blasnet::SGD sgd(0.1);
  const std::vector<double> history =
      blasnet::fit(g, r.data(), sgd, blasnet::FitOptions{200, 16, true, 5}).losses();
  ASSERT_EQ(history.size(), 200u);
  EXPECT_GT(J0, 0.3);
  EXPECT_LT(history.back(), 0.02 * J0) << "first epoch " << history.front();
  EXPECT_LT(g.backward(r.data()), 0.02 * J0);

  // Same seeds, same path, bit for bit; another shuffling seed, another path.
  Graph<double> again(Regression::spec(), 3), other(Regression::spec(), 3);
  blasnet::SGD sgd2(0.1), sgd3(0.1);
  EXPECT_EQ(blasnet::fit(again, r.data(), sgd2, blasnet::FitOptions{200, 16, true, 5}).losses(), history);
  EXPECT_EQ(values(again.parameters()), values(g.parameters()));
  blasnet::fit(other, r.data(), sgd3, blasnet::FitOptions{200, 16, true, 6});
  EXPECT_NE(values(other.parameters()), values(g.parameters()));
}

// Minibatches of a graph whose output reconstructs an input, and whose weights are tied (so
// each step takes the unfolded path): gathered (shuffled) and sliced (in order) batches both
// learn.
TEST(GraphFit, TiedAutoencoderLearnsShuffledAndInOrder) {
  // x (4) on a 2-dimensional subspace: x = A·s.
  const std::size_t n = 48;
  const Matrix<double> A = random_matrix<double>(4, 2, 60);
  const Matrix<double> S = random_matrix<double>(2, n, 61);
  Matrix<double> X(4, n);
  blasnet_test::naive_gemm(Transpose::no, Transpose::no, 1.0, A, S, 0.0, X);
  GraphSpec spec;
  spec.inputs = {{"x", 4}};
  spec.nodes = {node("code", {"x"}, 2, Activation::identity),
                node("recon", {"code"}, 4, Activation::identity, "code", true)};
  spec.outputs = {output("recon", Loss::mse, 1.0, "x")};
  const MatrixView<const double> x = X.cview();
  const Targets<double> ignored{};
  const Batch<double> data{{&x, 1}, {&ignored, 1}};

  for (bool shuffle : {true, false}) {
    SCOPED_TRACE(shuffle);
    Graph<double> g(spec, 2);
    const double J0 = g.backward(data);
    blasnet::SGD sgd(0.05);
    const std::vector<double> history =
        blasnet::fit(g, data, sgd, blasnet::FitOptions{300, 8, shuffle, 1}).losses();
    EXPECT_LT(history.back(), 0.1 * J0) << "from " << J0;
  }
}

TEST(GraphFit, ChecksTheDataOnceUpFront) {
  const Regression r;
  Graph<double> g(Regression::spec(), 3);
  const std::vector<double> before = values(g.parameters());
  blasnet::SGD sgd(0.1);
  Matrix<double> V = r.V;
  V(0, 40) = std::nan("");
  const std::vector<MatrixView<const double>> in{r.U.cview(), V.cview()};
  EXPECT_THROW(blasnet::fit(g, batch_of(in, r.targets), sgd, blasnet::FitOptions{1, 16, false, 0}),
               std::invalid_argument);
  EXPECT_EQ(values(g.parameters()), before) << "no batch ran before the bad sample was found";
}

// --- sizes -----------------------------------------------------------------------------

// A size the machine cannot provide says what was asked (refused here before the allocator
// is called: 2^61 doubles are past what a vector can address).
TEST(GraphSizes, ParametersThatCannotBeAllocatedSayWhatWasAsked) {
  GraphSpec spec;
  spec.inputs = {{"x", std::size_t(1) << 31}};
  spec.nodes = {node("y", {"x"}, std::size_t(1) << 30, Activation::identity)};
  spec.outputs = {output("y", Loss::mse)};
  try {
    Graph<double> g(spec, 0);
    FAIL() << "no exception";
  } catch (const blasnet::AllocationError& e) {
    EXPECT_EQ(std::string(e.what()),
              "graph: Dense(1073741824) over 2147483648 inputs needs 1.8e19 bytes of parameters "
              "(float64), and as many for their gradients: more memory than could be allocated");
  }
}

TEST(GraphSizes, TheLargestNodeIsNamedInAGraphOfMany) {
  GraphSpec spec;
  spec.inputs = {{"x", std::size_t(1) << 31}};
  spec.nodes = {node("small", {"x"}, 1, Activation::tanh),
                node("big", {"x"}, std::size_t(1) << 30, Activation::identity)};
  spec.outputs = {output("small", Loss::mse), output("big", Loss::mse)};
  try {
    Graph<double> g(spec, 0);
    FAIL() << "no exception";
  } catch (const std::bad_alloc& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("the largest node, 'big', is Dense(1073741824) over 2147483648 inputs"),
              std::string::npos)
        << message;
  }
}

// A batch whose workspace (units × samples) would wrap, or cannot be addressed, is refused
// before a value of it is read (checks off, so the input is only its shape).
TEST(GraphSizes, WorkspaceOfAHugeBatchIsRefused) {
  GraphSpec spec;
  spec.inputs = {{"x", 2}};
  spec.nodes = {node("h", {"x"}, 4, Activation::tanh), node("y", {"h"}, 1, Activation::identity)};
  spec.outputs = {output("y", Loss::mse)};
  Graph<double> g(spec, 0);
  double x[2] = {0, 0};
  const auto huge = [&](std::size_t n) { return MatrixView<const double>{x, 2, n}; };
  MatrixView<const double> wraps = huge(std::size_t(1) << 62);
  try {
    g.forward({&wraps, 1}, blasnet::Checks::off);
    FAIL() << "no exception";
  } catch (const std::overflow_error& e) {
    EXPECT_NE(std::string(e.what()).find("graph: the workspace of node 'h' (4 units) for a batch "
                                         "of 4611686018427387904 samples"),
              std::string::npos)
        << e.what();
  }
  MatrixView<const double> too_big = huge(std::size_t(1) << 58);
  EXPECT_THROW(g.forward({&too_big, 1}, blasnet::Checks::off), blasnet::AllocationError);
  blasnet::InferenceScratch<double> scratch;
  double y[1];
  MatrixView<double> Y{y, 1, std::size_t(1) << 62};
  EXPECT_THROW(g.predict({&wraps, 1}, {&Y, 1}, scratch, blasnet::Checks::off),
               std::overflow_error);
  EXPECT_EQ(scratch.capacity(), 0u);
  // And the graph still works.
  MatrixView<const double> one{x, 2, 1};
  EXPECT_NO_THROW(g.forward({&one, 1}));
}

}  // namespace
