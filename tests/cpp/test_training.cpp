// training.hpp: train_step and fit learn, are reproducible from their seeds, and check their
// inputs before they change anything.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "blasnet/training.hpp"
#include "reference.hpp"

namespace {

using blasnet::Activation;
using blasnet::FitOptions;
using blasnet::Loss;
using blasnet::Network;
using blasnet::SGD;
using blasnet::Targets;
using blasnet_test::Matrix;

std::vector<double> params(const Network<double>& net) {
  return {net.parameters().begin(), net.parameters().end()};
}

// The note's Figure 4: XOR, X (2×4) with the four corners as columns, t (1×4).
struct Xor {
  Matrix<double> X{2, 4};
  Matrix<double> T{1, 4};
  Xor() {
    X.data = {0, 0, 0, 1, 1, 0, 1, 1};
    T.data = {0, 1, 1, 0};
  }
};

Network<double> xor_net(std::uint64_t seed) {
  return Network<double>(2, {{8, Activation::tanh, ""}, {1, Activation::sigmoid, ""}}, seed);
}

// 2-8-1 tanh/sigmoid, binary cross-entropy, SGD lr 0.5 on the full batch: every corner
// classified right, for several starting points.
TEST(Fit, LearnsXor) {
  const Xor data;
  for (std::uint64_t seed = 0; seed < 3; ++seed) {
    Network<double> net = xor_net(seed);
    SGD sgd(0.5);
    const std::vector<double> history =
        blasnet::fit(net, data.X.view(), Loss::binary_cross_entropy,
                     Targets<double>::dense(data.T.view()), sgd, FitOptions{2000, 4, true, seed}).losses();
    ASSERT_EQ(history.size(), 2000u);
    EXPECT_LT(history.back(), 0.1) << "seed " << seed;
    const auto Y = net.forward(data.X.view());
    for (std::size_t j = 0; j < 4; ++j) {
      EXPECT_EQ(Y(0, j) > 0.5, data.T(0, j) > 0.5) << "seed " << seed << ", corner " << j;
    }
  }
}

// train_step is backward then the optimizer: it returns J before the update, and the update
// is exactly θ − lr·∇J.
TEST(TrainStep, ReturnsLossBeforeUpdateAndAppliesSGD) {
  const Xor data;
  const Targets<double> t = Targets<double>::dense(data.T.view());
  Network<double> net = xor_net(1), twin = xor_net(1);
  const double J = twin.backward(data.X.view(), Loss::binary_cross_entropy, t);
  std::vector<double> expected = params(twin);
  for (std::size_t p = 0; p < expected.size(); ++p) expected[p] -= 0.5 * twin.gradients()[p];

  SGD sgd(0.5);
  EXPECT_EQ(blasnet::train_step(net, data.X.view(), Loss::binary_cross_entropy, t, sgd), J);
  EXPECT_EQ(params(net), expected);
  EXPECT_LT(blasnet::train_step(net, data.X.view(), Loss::binary_cross_entropy, t, sgd), J);
}

// Two nets from one seed, fitted with one shuffling seed, end bit-identical; a different
// shuffling seed takes another path.
TEST(Fit, SameSeedsGiveBitIdenticalParameters) {
  const Matrix<double> X = blasnet_test::random_matrix<double>(3, 20, 1);
  const Matrix<double> T = blasnet_test::random_matrix<double>(2, 20, 2, 0, 1);
  const auto train = [&](std::uint64_t shuffle_seed) {
    Network<double> net(3, {{6, Activation::tanh, ""}, {2, Activation::sigmoid, ""}}, 11);
    SGD sgd(0.3);
    const std::vector<double> history =
        blasnet::fit(net, X.view(), Loss::mse, Targets<double>::dense(T.view()), sgd,
                     FitOptions{5, 6, true, shuffle_seed}).losses();
    return std::make_pair(params(net), history);
  };
  const auto a = train(3), b = train(3), c = train(4);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  EXPECT_NE(a.first, c.first);
}

// Batches of 3 over 10 samples (the last one short), in order and shuffled: both learn.
TEST(Fit, LossDecreasesWithAndWithoutShuffling) {
  const Matrix<double> X = blasnet_test::random_matrix<double>(3, 10, 5);
  Matrix<double> T(1, 10);
  for (std::size_t j = 0; j < 10; ++j) T(0, j) = X(0, j) + X(1, j) > 0 ? 1 : 0;
  for (bool shuffle : {false, true}) {
    Network<double> net(3, {{5, Activation::tanh, ""}, {1, Activation::sigmoid, ""}}, 12);
    SGD sgd(0.5);
    const std::vector<double> history =
        blasnet::fit(net, X.view(), Loss::binary_cross_entropy, Targets<double>::dense(T.view()),
                     sgd, FitOptions{50, 3, shuffle, 0}).losses();
    ASSERT_EQ(history.size(), 50u);
    EXPECT_LT(history.back(), 0.5 * history.front()) << "shuffle " << shuffle;
  }
}

// An epoch without shuffling is the same steps as train_step on consecutive column blocks,
// the short last block included; history holds the sample-weighted mean of their J.
TEST(Fit, UnshuffledEpochEqualsTrainSteps) {
  const Matrix<double> X = blasnet_test::random_matrix<double>(3, 7, 6);
  const Matrix<double> T = blasnet_test::random_matrix<double>(2, 7, 7, 0, 1);
  const std::vector<blasnet::DenseSpec> layers{{4, Activation::tanh, ""},
                                               {2, Activation::sigmoid, ""}};
  Network<double> fitted(3, layers, 13), stepped(3, layers, 13);
  SGD sgd(0.2);
  const std::vector<double> history =
      blasnet::fit(fitted, X.view(), Loss::mse, Targets<double>::dense(T.view()), sgd,
                   FitOptions{1, 3, false, 0}).losses();
  double total = 0;
  for (std::size_t first = 0; first < 7; first += 3) {
    const std::size_t count = std::min<std::size_t>(3, 7 - first);
    total += double(count) *
             blasnet::train_step(stepped, X.view().columns(first, count), Loss::mse,
                                 Targets<double>::dense(T.view()).columns(first, count), sgd);
  }
  EXPECT_EQ(params(fitted), params(stepped));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_DOUBLE_EQ(history[0], total / 7);
}

// A data set that is a view with padding (ld 5, NaN below the rows) trains exactly like its
// compact copy: fit reads only the view's rows, shuffled or not.
TEST(Fit, ReadsOnlyTheRowsOfAView) {
  Matrix<double> padded = blasnet_test::random_matrix<double>(3, 8, 8, -1, 1, 5);
  Matrix<double> compact(3, 8);
  for (std::size_t j = 0; j < 8; ++j) {
    for (std::size_t i = 0; i < 3; ++i) compact(i, j) = padded(i, j);
    padded.data[3 + j * 5] = padded.data[4 + j * 5] = std::nan("");
  }
  const Matrix<double> T = blasnet_test::random_matrix<double>(1, 8, 9, 0, 1);
  for (bool shuffle : {false, true}) {
    const auto train = [&](const Matrix<double>& X) {
      Network<double> net(3, {{4, Activation::relu, ""}, {1, Activation::sigmoid, ""}}, 14);
      SGD sgd(0.1);
      blasnet::fit(net, X.view(), Loss::binary_cross_entropy, Targets<double>::dense(T.view()), sgd,
                   FitOptions{3, 3, shuffle, 1});
      return params(net);
    };
    EXPECT_EQ(train(padded), train(compact)) << "shuffle " << shuffle;
  }
}

TEST(Fit, BatchSizeZeroThrows) {
  const Xor data;
  Network<double> net = xor_net(0);
  SGD sgd(0.1);
  EXPECT_THROW(blasnet::fit(net, data.X.view(), Loss::binary_cross_entropy,
                            Targets<double>::dense(data.T.view()), sgd, FitOptions{1, 0, true, 0}),
               std::invalid_argument);
}

// A batch size beyond the data is one full batch per epoch.
TEST(Fit, BatchLargerThanDataIsFullBatch) {
  const Xor data;
  Network<double> big = xor_net(2), full = xor_net(2);
  SGD sgd(0.5);
  const Targets<double> t = Targets<double>::dense(data.T.view());
  blasnet::fit(big, data.X.view(), Loss::binary_cross_entropy, t, sgd,
               FitOptions{3, 100, false, 0});
  blasnet::fit(full, data.X.view(), Loss::binary_cross_entropy, t, sgd, FitOptions{3, 4, false, 0});
  EXPECT_EQ(params(big), params(full));
}

// Bad data are caught up front: nothing is trained.
TEST(Fit, InvalidDataThrowsBeforeTraining) {
  Xor data;
  Network<double> net = xor_net(0);
  const std::vector<double> before = params(net);
  SGD sgd(0.1);
  data.T(0, 3) = 2;  // outside [0, 1]
  EXPECT_THROW(blasnet::fit(net, data.X.cview(), Loss::binary_cross_entropy,
                            Targets<double>::dense(data.T.view()), sgd, FitOptions{1, 2, true, 0}),
               std::invalid_argument);
  data.T(0, 3) = 0;
  data.X(1, 3) = std::nan("");
  EXPECT_THROW(blasnet::fit(net, data.X.cview(), Loss::binary_cross_entropy,
                            Targets<double>::dense(data.T.view()), sgd, FitOptions{1, 2, false, 0}),
               std::invalid_argument);
  EXPECT_EQ(params(net), before);
}

// The callback sees every finished epoch and its loss; returning false stops after it.
TEST(Fit, CallbackStopsEarly) {
  const Xor data;
  Network<double> net = xor_net(0);
  SGD sgd(0.5);
  std::vector<double> seen;
  const blasnet::FitResult result = blasnet::fit(
      net, data.X.view(), Loss::binary_cross_entropy, Targets<double>::dense(data.T.view()), sgd,
      FitOptions{100, 4, true, 0}, nullptr, [&](const blasnet::EpochRecord& record) {
        EXPECT_EQ(record.epoch, seen.size());
        seen.push_back(record.loss);
        return record.epoch < 2;
      });
  EXPECT_EQ(result.epochs.size(), 3u);
  EXPECT_EQ(seen, result.losses());
  EXPECT_EQ(result.stopped, blasnet::StopReason::callback);
}

// Three blobs, labels as class indices, shuffled batches of 8: the gathered labels must travel
// with their columns, so fitting on labels equals fitting on one-hot columns, step for step.
TEST(Fit, LabelsWithShuffling) {
  const std::size_t n = 60;
  Matrix<double> X = blasnet_test::random_matrix<double>(2, n, 15, -0.3, 0.3);
  std::vector<std::int64_t> labels(n);
  Matrix<double> onehot(3, n);
  const double centers[3][2] = {{2, 0}, {-1, 1.7}, {-1, -1.7}};
  for (std::size_t j = 0; j < n; ++j) {
    labels[j] = static_cast<std::int64_t>(j % 3);
    X(0, j) += centers[j % 3][0];
    X(1, j) += centers[j % 3][1];
    onehot(j % 3, j) = 1;
  }
  const std::vector<blasnet::DenseSpec> layers{{6, Activation::tanh, ""},
                                               {3, Activation::softmax, ""}};
  Network<double> by_label(2, layers, 16), by_onehot(2, layers, 16);
  SGD sgd(0.2);
  const FitOptions options{20, 8, true, 17};
  const std::vector<double> history =
      blasnet::fit(by_label, X.cview(), Loss::softmax_cross_entropy,
                   Targets<double>::classes(labels.data(), n), sgd, options).losses();
  blasnet::fit(by_onehot, X.cview(), Loss::softmax_cross_entropy,
               Targets<double>::dense(onehot.view()), sgd, options);
  EXPECT_EQ(params(by_label), params(by_onehot));
  EXPECT_LT(history.back(), 0.25 * history.front());

  const auto Y = by_label.forward(X.view());
  std::size_t correct = 0;
  for (std::size_t j = 0; j < n; ++j) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < 3; ++i) best = Y(i, j) > Y(best, j) ? i : best;
    correct += static_cast<std::int64_t>(best) == labels[j];
  }
  EXPECT_EQ(correct, n);
}

// float trains too, through the same code: XOR again.
TEST(Fit, FloatLearnsXor) {
  Matrix<float> X(2, 4), T(1, 4);
  X.data = {0, 0, 0, 1, 1, 0, 1, 1};
  T.data = {0, 1, 1, 0};
  Network<float> net(2, {{8, Activation::tanh, ""}, {1, Activation::sigmoid, ""}}, 0);
  SGD sgd(0.5);
  blasnet::fit(net, X.cview(), Loss::binary_cross_entropy, Targets<float>::dense(T.view()), sgd,
               FitOptions{2000, 4, true, 0});
  const auto Y = net.forward(X.view());
  for (std::size_t j = 0; j < 4; ++j) EXPECT_EQ(Y(0, j) > 0.5f, T(0, j) > 0.5f) << j;
}

}  // namespace
