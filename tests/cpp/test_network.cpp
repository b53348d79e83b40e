// network.hpp: the layout of the flat buffers, forward against the note's eqs. (1)-(2) in loops,
// and the whole backward pass against central differences of J over every parameter.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "blasnet/network.hpp"
#include "reference.hpp"

namespace {

using blasnet::Activation;
using blasnet::DenseSpec;
using blasnet::Loss;
using blasnet::Network;
using blasnet::Targets;
using blasnet_test::Matrix;
using blasnet_test::random_matrix;

// 3 -> 5 (tanh) -> 4 (relu) -> 2 (softmax): 15 + 5, 20 + 4, 8 + 2 = 54 parameters.
std::vector<DenseSpec> classifier() {
  return {{5, Activation::tanh, ""}, {4, Activation::relu, ""}, {2, Activation::softmax, ""}};
}

TEST(NetworkConstruction, InvalidSpecsThrow) {
  EXPECT_THROW(Network<double>(0, classifier(), 0), std::invalid_argument) << "input_dim 0";
  EXPECT_THROW(Network<double>(3, {}, 0), std::invalid_argument) << "no layers";
  EXPECT_THROW(Network<double>(3, {{4, Activation::tanh, "h"}, {2, Activation::sigmoid, "h"}}, 0),
               std::invalid_argument)
      << "duplicate names";
  // An explicit name may not collide with another layer's index name either.
  EXPECT_THROW(Network<double>(3, {{4, Activation::tanh, "1"}, {2, Activation::sigmoid, ""}}, 0),
               std::invalid_argument);
  EXPECT_THROW(Network<float>(3, {{4, Activation::tanh, ""}, {0, Activation::sigmoid, ""}}, 0),
               std::invalid_argument)
      << "0 units";
}

TEST(NetworkLayout, ParameterInfoNamesOffsetsShapes) {
  Network<double> net(3, classifier(), 0);
  struct Row {
    const char* name;
    std::size_t offset, rows, cols, size;
  };
  const Row expected[] = {
      {"0.W", 0, 5, 3, 15}, {"0.b", 15, 5, 0, 5}, {"1.W", 20, 4, 5, 20},
      {"1.b", 40, 4, 0, 4}, {"2.W", 44, 2, 4, 8}, {"2.b", 52, 2, 0, 2},
  };
  const auto& info = net.parameter_info();
  ASSERT_EQ(info.size(), 6u);
  for (std::size_t k = 0; k < info.size(); ++k) {
    SCOPED_TRACE(expected[k].name);
    EXPECT_EQ(info[k].name, expected[k].name);
    EXPECT_EQ(info[k].offset, expected[k].offset);
    EXPECT_EQ(info[k].rows, expected[k].rows);
    EXPECT_EQ(info[k].cols, expected[k].cols);
    EXPECT_EQ(info[k].size(), expected[k].size);
  }
  EXPECT_EQ(net.parameters().size, 54u);
  EXPECT_EQ(net.gradients().size, 54u);
  EXPECT_EQ(net.input_dim(), 3u);
  EXPECT_EQ(net.output_dim(), 2u);
  EXPECT_EQ(net.layer_count(), 3u);
}

// The layers are views into the flat buffers, at the offsets parameter_info reports.
TEST(NetworkLayout, LayersViewTheFlatBuffers) {
  Network<double> net(3, classifier(), 0);
  const double* params = net.parameters().data;
  const double* grads = net.gradients().data;
  EXPECT_EQ(net.layer(1).weights().data, params + 20);
  EXPECT_EQ(net.layer(1).bias(), params + 40);
  EXPECT_EQ(net.layer(1).weight_gradient().data, grads + 20);
  EXPECT_EQ(net.layer(2).bias_gradient(), grads + 52);
  EXPECT_THROW(net.layer(3), std::out_of_range);
}

TEST(NetworkLayout, CustomNames) {
  Network<float> net(2, {{3, Activation::relu, "hidden"}, {1, Activation::sigmoid, ""}}, 0);
  const auto& info = net.parameter_info();
  EXPECT_EQ(info[0].name, "hidden.W");
  EXPECT_EQ(info[1].name, "hidden.b");
  EXPECT_EQ(info[2].name, "1.W") << "an unnamed layer is named by its index";
  EXPECT_EQ(net.layer(0).name(), "hidden");
}

// Zero biases; Glorot weights except He for the relu layer; the seed decides everything.
TEST(NetworkInit, BiasesZeroWeightsSeeded) {
  Network<double> a(3, classifier(), 7), b(3, classifier(), 7), c(3, classifier(), 8);
  const auto params = [](const Network<double>& net) {
    return std::vector<double>(net.parameters().begin(), net.parameters().end());
  };
  EXPECT_EQ(params(a), params(b));
  EXPECT_NE(params(a), params(c));
  for (const auto& p : a.parameter_info()) {
    const double* v = a.parameters().data + p.offset;
    double largest = 0;
    for (std::size_t k = 0; k < p.size(); ++k) largest = std::max(largest, std::abs(v[k]));
    if (p.cols == 0) {
      EXPECT_EQ(largest, 0.0) << p.name;
    } else {
      const double limit = p.name == "1.W" ? std::sqrt(6.0 / double(p.cols))
                                           : std::sqrt(6.0 / double(p.rows + p.cols));
      EXPECT_GT(largest, 0.0) << p.name;
      EXPECT_LE(largest, limit) << p.name;
    }
  }
}

// Eqs. (1)-(2) layer by layer from the flat buffer: X (n_in×n) -> Y (n_out×n).
Matrix<double> naive_forward(const Network<double>& net, const Matrix<double>& X) {
  Matrix<double> in = X;
  for (std::size_t l = 0; l < net.layer_count(); ++l) {
    const auto& Wi = net.parameter_info()[2 * l];
    const double* W = net.parameters().data + Wi.offset;
    const double* b = net.parameters().data + net.parameter_info()[2 * l + 1].offset;
    Matrix<double> out(Wi.rows, in.cols);
    for (std::size_t j = 0; j < in.cols; ++j) {
      for (std::size_t i = 0; i < Wi.rows; ++i) {
        double z = b[i];
        for (std::size_t k = 0; k < Wi.cols; ++k) z += W[i * Wi.cols + k] * in(k, j);
        out(i, j) = z;
      }
      double sum = 0;
      for (std::size_t i = 0; i < Wi.rows; ++i) {
        double& y = out(i, j);
        switch (net.layer(l).activation()) {
          case Activation::identity: break;
          case Activation::sigmoid: y = 1 / (1 + std::exp(-y)); break;
          case Activation::tanh: y = std::tanh(y); break;
          case Activation::relu: y = std::max(y, 0.0); break;
          case Activation::softmax:
            y = std::exp(y);
            sum += y;
            break;
          case Activation::step: y = y >= 0 ? 1 : 0; break;
        }
      }
      if (net.layer(l).activation() == Activation::softmax) {
        for (std::size_t i = 0; i < Wi.rows; ++i) out(i, j) /= sum;
      }
    }
    in = std::move(out);
  }
  return in;
}

TEST(NetworkForward, MatchesLayerByLayerLoops) {
  Network<double> net(3, classifier(), 1);
  const Matrix<double> X = random_matrix<double>(3, 6, 2);
  const Matrix<double> expected = naive_forward(net, X);
  const blasnet::MatrixView<const double> Y = net.forward(X.view());
  ASSERT_EQ(Y.rows, 2u);
  ASSERT_EQ(Y.cols, 6u);
  for (std::size_t j = 0; j < 6; ++j) {
    for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(Y(i, j), expected(i, j), 1e-14);
  }
}

// A batch that is a view into a taller buffer (ld 5, NaN padding), then a smaller and a larger
// batch through the same workspace: each gives what the loops give.
TEST(NetworkForward, ViewsAndChangingBatchSizes) {
  Network<double> net(3, classifier(), 1);
  Matrix<double> padded = random_matrix<double>(3, 4, 3, -1, 1, 5);
  Matrix<double> compact(3, 4);
  for (std::size_t j = 0; j < 4; ++j) {
    for (std::size_t i = 0; i < 3; ++i) compact(i, j) = padded(i, j);
    padded.data[3 + j * 5] = padded.data[4 + j * 5] = std::nan("");
  }
  const Matrix<double> expected = naive_forward(net, compact);
  const auto Y = net.forward(padded.view());
  for (std::size_t j = 0; j < 4; ++j) {
    for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(Y(i, j), expected(i, j), 1e-14);
  }
  for (std::size_t n : {1u, 9u}) {
    const Matrix<double> X = random_matrix<double>(3, n, 4 + n);
    const Matrix<double> e = naive_forward(net, X);
    const auto Yn = net.forward(X.view());
    ASSERT_EQ(Yn.cols, n);
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(Yn(i, j), e(i, j), 1e-14) << n;
    }
  }
}

TEST(NetworkForward, InvalidInputsThrow) {
  Network<double> net(3, classifier(), 1);
  EXPECT_THROW(net.forward(Matrix<double>(2, 4).view()), std::invalid_argument) << "2 features";
  EXPECT_THROW(net.forward(Matrix<double>(4, 4).view()), std::invalid_argument) << "4 features";
  EXPECT_THROW(net.forward(Matrix<double>(3, 0).view()), std::invalid_argument) << "empty batch";
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity()}) {
    Matrix<double> X(3, 4);
    X(1, 2) = bad;
    try {
      net.forward(X.view());
      FAIL() << "no exception for " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("sample 2"), std::string::npos) << e.what();
    }
  }
}

// A network, its loss and how its targets are given.
struct GradientCase {
  const char* name;
  std::vector<DenseSpec> layers;
  Loss loss;
  bool labels;
};

class NetworkGradient : public ::testing::TestWithParam<GradientCase> {};

// Every entry of the flat gradient buffer against (J(θ + h·e_p) − J(θ − h·e_p)) / 2h, with J
// the batch mean that backward returns: checks eqs. (6)-(9) through all layers at once.
TEST_P(NetworkGradient, EveryParameterMatchesCentralDifferences) {
  const GradientCase& c = GetParam();
  const std::size_t n = 6;
  Network<double> net(3, c.layers, 5);
  const std::size_t n_out = net.output_dim();
  const Matrix<double> X = random_matrix<double>(3, n, 6);
  Matrix<double> T = random_matrix<double>(n_out, n, 7, 0, 1);
  if (c.loss == Loss::softmax_cross_entropy) {
    for (std::size_t j = 0; j < n; ++j) {
      double sum = 0;
      for (std::size_t i = 0; i < n_out; ++i) sum += T(i, j);
      for (std::size_t i = 0; i < n_out; ++i) T(i, j) /= sum;
    }
  }
  const std::vector<std::int64_t> labels{0, 1, 1, 0, 1, 0};
  const Targets<double> targets =
      c.labels ? Targets<double>::classes(labels.data(), n) : Targets<double>::dense(T.view());

  net.backward(X.view(), c.loss, targets);
  const std::vector<double> analytic(net.gradients().begin(), net.gradients().end());
  const blasnet::Span<double> theta = net.parameters();
  const double h = 1e-6;
  for (std::size_t p = 0; p < theta.size; ++p) {
    const double saved = theta[p];
    theta[p] = saved + h;
    const double plus = net.backward(X.view(), c.loss, targets);
    theta[p] = saved - h;
    const double minus = net.backward(X.view(), c.loss, targets);
    theta[p] = saved;
    const double fd = (plus - minus) / (2 * h);
    EXPECT_NEAR(analytic[p], fd, 1e-8 + 1e-6 * std::abs(fd)) << "parameter " << p;
  }
  const double largest =
      std::abs(*std::max_element(analytic.begin(), analytic.end(),
                                 [](double a, double b) { return std::abs(a) < std::abs(b); }));
  EXPECT_GT(largest, 1e-3) << "a gradient of zeros would pass trivially";
}

INSTANTIATE_TEST_SUITE_P(
    Nets, NetworkGradient,
    ::testing::Values(
        GradientCase{"tanh_relu_softmax_softmax_cross_entropy", classifier(),
                     Loss::softmax_cross_entropy, false},
        GradientCase{"tanh_relu_softmax_labels", classifier(), Loss::softmax_cross_entropy, true},
        GradientCase{
            "sigmoid_tanh_sigmoid_mse",
            {{5, Activation::sigmoid, ""}, {4, Activation::tanh, ""}, {2, Activation::sigmoid, ""}},
            Loss::mse,
            false},
        // identity hidden layer: its Y is its Z, stored once
        GradientCase{"identity_relu_sigmoid_binary_cross_entropy",
                     {{4, Activation::identity, ""},
                      {3, Activation::relu, ""},
                      {2, Activation::sigmoid, ""}},
                     Loss::binary_cross_entropy,
                     false},
        GradientCase{"tanh_softmax_binary_cross_entropy",
                     {{4, Activation::tanh, ""}, {3, Activation::softmax, ""}},
                     Loss::binary_cross_entropy,
                     false}),
    [](const ::testing::TestParamInfo<GradientCase>& info) { return info.param.name; });

// Labels and the equivalent one-hot columns give the same J and the same gradient.
TEST(NetworkBackward, LabelsEqualOneHot) {
  Network<double> net(3, classifier(), 2);
  const Matrix<double> X = random_matrix<double>(3, 5, 8);
  const std::vector<std::int64_t> labels{1, 0, 0, 1, 1};
  Matrix<double> T(2, 5);
  for (std::size_t j = 0; j < 5; ++j) T(static_cast<std::size_t>(labels[j]), j) = 1;
  const double J_labels = net.backward(X.view(), Loss::softmax_cross_entropy,
                                       Targets<double>::classes(labels.data(), 5));
  const std::vector<double> g_labels(net.gradients().begin(), net.gradients().end());
  const double J_dense =
      net.backward(X.view(), Loss::softmax_cross_entropy, Targets<double>::dense(T.view()));
  EXPECT_EQ(J_labels, J_dense);
  EXPECT_EQ(g_labels, std::vector<double>(net.gradients().begin(), net.gradients().end()));
}

// Each backward overwrites the gradient buffer: a second call on the same batch gives the same
// ∇J, not twice it (the layers' accumulate flag is for shared weights only).
TEST(NetworkBackward, RepeatedCallsOverwriteGradients) {
  Network<double> net(3, classifier(), 2);
  const Matrix<double> X = random_matrix<double>(3, 5, 8);
  const std::vector<std::int64_t> labels{1, 0, 0, 1, 1};
  const Targets<double> t = Targets<double>::classes(labels.data(), 5);
  net.backward(X.view(), Loss::softmax_cross_entropy, t);
  const std::vector<double> first(net.gradients().begin(), net.gradients().end());
  net.backward(X.view(), Loss::softmax_cross_entropy, t);
  EXPECT_EQ(std::vector<double>(net.gradients().begin(), net.gradients().end()), first);
}

// The folded step (dX from the old W, then W ← W − α·dZ·Xᵀ/n in the dW gemm, b from the dZ
// pass) lands where Θ − α·∇J does, for every output kind, and leaves the gradients alone.
TEST(NetworkSgdStep, EqualsGradientThenUpdate) {
  for (const auto& [out, loss] : {std::pair{Activation::softmax, Loss::softmax_cross_entropy},
                                  std::pair{Activation::sigmoid, Loss::binary_cross_entropy},
                                  std::pair{Activation::identity, Loss::mse}}) {
    const std::vector<DenseSpec> specs{{5, Activation::tanh, ""}, {4, Activation::relu, ""},
                                       {2, out, ""}};
    Network<double> folded(3, specs, 4), reference(3, specs, 4);
    const Matrix<double> X = random_matrix<double>(3, 6, 9);
    const Matrix<double> T = random_matrix<double>(2, 6, 10, 0.0, 1.0);
    const Targets<double> t = Targets<double>::dense(T.view());
    const double lr = 0.3;

    const double J_ref = reference.backward(X.view(), loss, t);
    for (std::size_t i = 0; i < reference.parameters().size; ++i) {
      reference.parameters()[i] -= lr * reference.gradients()[i];
    }
    const std::vector<double> untouched(folded.gradients().begin(), folded.gradients().end());
    const double J = folded.sgd_step(X.view(), loss, t, lr);

    EXPECT_EQ(J, J_ref);
    for (std::size_t i = 0; i < folded.parameters().size; ++i) {
      EXPECT_NEAR(folded.parameters()[i], reference.parameters()[i], 1e-14) << "parameter " << i;
    }
    // eq. (9) is folded into the update: the weight gradients are never written.
    for (const blasnet::ParameterInfo& p : folded.parameter_info()) {
      if (p.cols == 0) continue;
      for (std::size_t i = p.offset; i < p.offset + p.size(); ++i) {
        EXPECT_EQ(folded.gradients()[i], untouched[i]) << p.name;
      }
    }
  }
}

// A refused folded step changes nothing.
TEST(NetworkSgdStep, BadTargetsThrowBeforeUpdating) {
  Network<double> net(3, classifier(), 2);
  const std::vector<double> before(net.parameters().begin(), net.parameters().end());
  const Matrix<double> X = random_matrix<double>(3, 4, 8);
  const std::vector<std::int64_t> labels{0, 1, 2, 1};  // 2 is out of range for 2 outputs
  EXPECT_THROW(net.sgd_step(X.view(), Loss::softmax_cross_entropy,
                            Targets<double>::classes(labels.data(), 4), 0.1),
               std::invalid_argument);
  EXPECT_EQ(std::vector<double>(net.parameters().begin(), net.parameters().end()), before);
}

// The same seed in float and double starts from the same weights (rounded), so outputs, J and
// gradients agree to float precision.
TEST(NetworkPrecision, FloatMatchesDouble) {
  Network<double> nd(3, classifier(), 3);
  Network<float> nf(3, classifier(), 3);
  const Matrix<double> Xd = random_matrix<double>(3, 8, 9);
  Matrix<float> Xf(3, 8);
  for (std::size_t k = 0; k < Xd.data.size(); ++k) Xf.data[k] = static_cast<float>(Xd.data[k]);
  const std::vector<std::int64_t> labels{0, 1, 1, 0, 0, 1, 0, 1};

  const auto Yd = nd.forward(Xd.view());
  const auto Yf = nf.forward(Xf.view());
  for (std::size_t j = 0; j < 8; ++j) {
    for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(Yf(i, j), Yd(i, j), 1e-4 * std::abs(Yd(i, j)));
  }
  const double Jd = nd.backward(Xd.view(), Loss::softmax_cross_entropy,
                                Targets<double>::classes(labels.data(), 8));
  const double Jf = nf.backward(Xf.view(), Loss::softmax_cross_entropy,
                                Targets<float>::classes(labels.data(), 8));
  EXPECT_NEAR(Jf, Jd, 1e-4 * Jd);
  double scale = 0;
  for (double g : nd.gradients()) scale = std::max(scale, std::abs(g));
  for (std::size_t p = 0; p < nd.gradients().size; ++p) {
    EXPECT_NEAR(nf.gradients()[p], nd.gradients()[p], 1e-4 * scale) << "parameter " << p;
  }
}

// A step unit runs forward but has no gradient: backward refuses before writing any gradient.
TEST(NetworkBackward, StepLayerThrowsBeforeTouchingGradients) {
  Network<double> net(3, {{4, Activation::step, ""}, {2, Activation::sigmoid, ""}}, 4);
  const Matrix<double> X = random_matrix<double>(3, 5, 10);
  const Matrix<double> T = random_matrix<double>(2, 5, 11, 0, 1);
  EXPECT_NO_THROW(net.forward(X.view()));
  std::fill(net.gradients().begin(), net.gradients().end(), 42.0);
  EXPECT_THROW(net.backward(X.view(), Loss::mse, Targets<double>::dense(T.view())),
               std::invalid_argument);
  for (double g : net.gradients()) ASSERT_EQ(g, 42.0);

  Network<double> step_out(3, {{2, Activation::step, ""}}, 4);
  EXPECT_THROW(step_out.backward(X.view(), Loss::mse, Targets<double>::dense(T.view())),
               std::invalid_argument);
}

TEST(NetworkBackward, InvalidTrainingSetupsThrow) {
  Network<double> relu_out(3, {{4, Activation::tanh, ""}, {2, Activation::relu, ""}}, 4);
  const Matrix<double> X = random_matrix<double>(3, 5, 12);
  const Matrix<double> T = random_matrix<double>(2, 5, 13, 0, 1);
  EXPECT_THROW(
      relu_out.backward(X.view(), Loss::binary_cross_entropy, Targets<double>::dense(T.view())),
      std::invalid_argument)
      << "relu cannot feed a cross-entropy";
  EXPECT_NO_THROW(relu_out.backward(X.view(), Loss::mse, Targets<double>::dense(T.view())));
  const Matrix<double> wrong = random_matrix<double>(2, 4, 14, 0, 1);
  EXPECT_THROW(relu_out.backward(X.view(), Loss::mse, Targets<double>::dense(wrong.view())),
               std::invalid_argument)
      << "4 targets for 5 samples";
  Matrix<double> bad_x = X;
  bad_x(0, 0) = std::nan("");
  EXPECT_THROW(relu_out.backward(bad_x.view(), Loss::mse, Targets<double>::dense(T.view())),
               std::invalid_argument);
}

// The layers point into the buffers, which a move hands over intact.
TEST(NetworkMove, ViewsSurviveAMove) {
  Network<double> net(3, classifier(), 6);
  const Matrix<double> X = random_matrix<double>(3, 4, 15);
  const auto before = net.forward(X.view());
  const std::vector<double> y(before.data, before.data + before.rows * before.cols);
  Network<double> moved(std::move(net));
  const auto after = moved.forward(X.view());
  EXPECT_EQ(std::vector<double>(after.data, after.data + after.rows * after.cols), y);
  EXPECT_EQ(moved.layer(0).weights().data, moved.parameters().data);
}

}  // namespace
