// training.hpp: train_step and fit learn, are reproducible from their seeds, and check their
// inputs before they change anything. Their records (validation loss and accuracy against
// evaluate and count_correct on the weights captured after each epoch), early stopping and the
// best weights, the stop reasons, a stop flag honoured between steps (weights equal to exactly
// k train_steps), divergence leaving the last finite weights, sample weights against repeated
// samples, schedule hooks, the gradient of a dropout network against central differences, and
// an optimizer shared with other threads (their calls wait for the running fit).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "blasnet/metrics.hpp"

#include "blasnet/training.hpp"
#include "reference.hpp"

namespace {

using blasnet::Activation;
using blasnet::Adam;
using blasnet::Batch;
using blasnet::EarlyStopping;
using blasnet::EpochRecord;
using blasnet::FitOptions;
using blasnet::FitResult;
using blasnet::Graph;
using blasnet::Loss;
using blasnet::MatrixView;
using blasnet::Network;
using blasnet::SGD;
using blasnet::Span;
using blasnet::StopReason;
using blasnet::Targets;
using blasnet_test::Matrix;

template <typename T>
std::vector<T> params(const Network<T>& net) {
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

// --- helpers of the tests below ------------------------------------------------------------

template <typename T>
void set_params(Network<T>& net, const std::vector<T>& values) {
  ASSERT_EQ(values.size(), net.parameters().size);
  std::copy(values.begin(), values.end(), net.parameters().begin());
}

// Plain gradient descent θ ← θ − α·g through Optimizer::step (it is not plain_sgd_rate, so a
// graph does not fold it): every step is backward then this loop. It counts its steps, and
// after stop_after of them sets *stop — a stop request raised at an exact step.
class CountingSGD final : public blasnet::Optimizer {
 public:
  explicit CountingSGD(double lr, std::atomic<bool>* stop = nullptr, std::size_t stop_after = 0)
      : Optimizer("CountingSGD", lr, {}), stop_(stop), stop_after_(stop_after) {}
  void apply_step(Span<float> p, Span<const float> g) override { update(p, g); }
  void apply_step(Span<double> p, Span<const double> g) override { update(p, g); }
  std::string describe() const override { return "CountingSGD"; }

  std::atomic<std::size_t> count{0};

 private:
  template <typename T>
  void update(Span<T> p, Span<const T> g) {
    for (std::size_t i = 0; i < p.size; ++i) p[i] -= static_cast<T>(lr()) * g[i];
    if (++count == stop_after_ && stop_ != nullptr) stop_->store(true);
  }
  std::atomic<bool>* stop_;
  std::size_t stop_after_;
};

// Three overlapping blobs in 3-D with labels 0..2: a classifier cannot be perfect on them.
struct Blobs {
  Matrix<double> X;
  std::vector<std::int64_t> labels;
  Blobs(std::size_t n, std::uint64_t seed) : X(3, n), labels(n) {
    X = blasnet_test::random_matrix<double>(3, n, seed, -0.9, 0.9);
    const double centres[3][3] = {{0.8, 0, 0}, {-0.4, 0.7, 0}, {-0.4, -0.7, 0.2}};
    for (std::size_t j = 0; j < n; ++j) {
      labels[j] = static_cast<std::int64_t>(j % 3);
      for (std::size_t i = 0; i < 3; ++i) X(i, j) += centres[j % 3][i];
    }
  }
  Targets<double> targets() const { return Targets<double>::classes(labels.data(), labels.size()); }
};

Network<double> blob_net(std::uint64_t seed = 3, double dropout = 0) {
  return Network<double>(3, {{5, Activation::tanh, "", dropout}, {3, Activation::softmax, ""}},
                         seed);
}

// J and the share of right answers of a network's current weights on a labelled set.
std::pair<double, double> loss_and_accuracy(Network<double>& net, const Blobs& data) {
  const Targets<double> t = data.targets();
  const MatrixView<const double> x = data.X.view();
  net.graph().set_loss(0, Loss::softmax_cross_entropy);
  const double J = net.graph().evaluate({{&x, 1}, {&t, 1}, nullptr});
  const std::size_t right = blasnet::count_correct<double>(Loss::softmax_cross_entropy,
                                                           net.forward(x), t);
  return {J, double(right) / double(data.labels.size())};
}

// --- records and validation ----------------------------------------------------------------

// Full-batch epochs without shuffling: each record's val_loss and val_accuracy are those of
// evaluate and count_correct on the validation set with the weights after the epoch; its loss
// and accuracy those of the weights it started from (its one step measures before updating);
// lr is the optimizer's. 300 validation samples are evaluated in chunks of 256 and merged.
TEST(FitRecords, MatchEvaluateOnEachEpochsWeights) {
  const Blobs train(60, 21), held_out(300, 22);
  const MatrixView<const double> xv = held_out.X.view();
  const Targets<double> tv = held_out.targets();
  const Batch<double> validation{{&xv, 1}, {&tv, 1}, nullptr};
  Network<double> net = blob_net(), twin = blob_net();
  std::vector<std::vector<double>> weights{params(net)};
  SGD sgd(0.5);
  const FitResult result = blasnet::fit(
      net, train.X.view(), Loss::softmax_cross_entropy, train.targets(), sgd,
      FitOptions{5, 60, false, 0}, &validation, [&](const EpochRecord&) {
        weights.push_back(params(net));
        return true;
      });
  ASSERT_EQ(result.epochs.size(), 5u);
  EXPECT_EQ(result.stopped, StopReason::completed);
  EXPECT_FALSE(result.best_epoch.has_value());
  for (std::size_t e = 0; e < 5; ++e) {
    const EpochRecord& r = result.epochs[e];
    EXPECT_EQ(r.epoch, e);
    EXPECT_EQ(r.lr, 0.5);
    EXPECT_GT(r.seconds, 0);
    set_params(twin, weights[e + 1]);
    const auto [val_loss, val_accuracy] = loss_and_accuracy(twin, held_out);
    ASSERT_TRUE(r.val_loss && r.val_accuracy);
    EXPECT_NEAR(*r.val_loss, val_loss, 1e-12 * val_loss) << "epoch " << e;
    EXPECT_EQ(*r.val_accuracy, val_accuracy) << "epoch " << e;
    set_params(twin, weights[e]);
    const auto [loss, acc] = loss_and_accuracy(twin, train);
    EXPECT_NEAR(r.loss, loss, 1e-12 * loss) << "epoch " << e;
    ASSERT_TRUE(r.accuracy);
    EXPECT_EQ(*r.accuracy, acc) << "epoch " << e;
  }
  EXPECT_GT(*result.epochs.back().val_accuracy, 0.5);
  EXPECT_LT(*result.epochs.back().val_accuracy, 1.0);
}

// mse is not a classification loss: no accuracy, but a validation loss.
TEST(FitRecords, MseHasNoAccuracy) {
  const Matrix<double> X = blasnet_test::random_matrix<double>(3, 12, 23);
  const Matrix<double> T = blasnet_test::random_matrix<double>(1, 12, 24);
  const MatrixView<const double> x = X.view();
  const Targets<double> t = Targets<double>::dense(T.view());
  const Batch<double> validation{{&x, 1}, {&t, 1}, nullptr};
  Network<double> net(3, {{4, Activation::tanh, ""}, {1, Activation::identity, ""}}, 0);
  SGD sgd(0.1);
  const FitResult result =
      blasnet::fit(net, X.view(), Loss::mse, t, sgd, FitOptions{2, 4, true, 0}, &validation);
  for (const EpochRecord& r : result.epochs) {
    EXPECT_FALSE(r.accuracy.has_value());
    EXPECT_FALSE(r.val_accuracy.has_value());
    EXPECT_TRUE(r.val_loss.has_value());
  }
}

// Validation data that do not fit the network are refused before any step.
TEST(FitRecords, BadValidationDataThrowsBeforeTraining) {
  const Blobs train(12, 25);
  const Matrix<double> wrong(2, 4);
  const MatrixView<const double> xv = wrong.view();
  const std::vector<std::int64_t> labels(4, 0);
  const Targets<double> tv = Targets<double>::classes(labels.data(), 4);
  const Batch<double> validation{{&xv, 1}, {&tv, 1}, nullptr};
  Network<double> net = blob_net();
  const std::vector<double> before = params(net);
  SGD sgd(0.1);
  EXPECT_THROW(blasnet::fit(net, train.X.view(), Loss::softmax_cross_entropy, train.targets(),
                            sgd, FitOptions{1, 4, true, 0}, &validation),
               std::invalid_argument);
  EXPECT_EQ(params(net), before);
}

// --- early stopping and stop reasons -------------------------------------------------------

// y = w·x + b from w = b = 0, trained towards 2x on 8 points by full-batch SGD (lr 0.03) and
// validated against x: the validation loss falls until epoch 10, then rises.
struct Line {
  Matrix<double> X{1, 8}, T{1, 8};
  MatrixView<const double> x;
  Targets<double> t, tv;
  Batch<double> validation;
  Line() {
    for (std::size_t j = 0; j < 8; ++j) {
      X(0, j) = 0.5 + double(j) / 7;
      T(0, j) = 2 * X(0, j);
    }
    x = X.view();
    t = Targets<double>::dense(T.view());
    tv = Targets<double>::dense(X.view());
    validation = {{&x, 1}, {&tv, 1}, nullptr};
  }
  static Network<double> net() {
    Network<double> n(1, {{1, Activation::identity, ""}}, 0);
    std::fill(n.parameters().begin(), n.parameters().end(), 0.0);
    return n;
  }
  FitResult fit(Network<double>& net, FitOptions options, std::vector<std::vector<double>>& seen,
                const std::atomic<bool>* stop_at_12 = nullptr) const {
    SGD sgd(0.03);
    options.stop = stop_at_12;
    return blasnet::fit(net, X.view(), Loss::mse, t, sgd, options, &validation,
                        [&](const EpochRecord&) {
                          seen.push_back(params(net));
                          return true;
                        });
  }
};

// (best epoch, epochs run) of the early-stopping rule replayed on a finished series.
std::pair<std::size_t, std::size_t> replay_rule(const std::vector<double>& monitored,
                                                std::size_t patience, double min_delta) {
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_epoch = 0, waited = 0;
  for (std::size_t e = 0; e < monitored.size(); ++e) {
    if (monitored[e] < best - min_delta) {
      best = monitored[e];
      best_epoch = e;
      waited = 0;
    } else if (++waited >= patience) {
      return {best_epoch, e + 1};
    }
  }
  return {best_epoch, monitored.size()};
}

FitOptions line_options(std::size_t patience, double min_delta, bool restore_best) {
  FitOptions options{100, 8, false, 0};
  options.early_stopping = EarlyStopping{patience, min_delta, restore_best};
  return options;
}

// Patience 3: the best epoch is 10, the run stops after epoch 13, and the weights are put
// back to those recorded after epoch 10.
TEST(EarlyStopping, RestoresTheBestEpochsWeights) {
  const Line line;
  Network<double> net = Line::net();
  std::vector<std::vector<double>> seen;
  const FitResult result = line.fit(net, line_options(3, 0, true), seen);
  EXPECT_EQ(result.stopped, StopReason::early_stopping);
  ASSERT_TRUE(result.best_epoch.has_value());
  EXPECT_EQ(*result.best_epoch, 10u);
  ASSERT_EQ(result.epochs.size(), 14u);
  for (std::size_t e = 0; e < 14; ++e) {
    EXPECT_EQ(*result.epochs[e].val_loss < *result.epochs[10].val_loss, false) << e;
  }
  EXPECT_EQ(params(net), seen[10]);
  EXPECT_NE(params(net), seen.back());
}

TEST(EarlyStopping, WithoutRestoreKeepsTheLastEpoch) {
  const Line line;
  Network<double> net = Line::net();
  std::vector<std::vector<double>> seen;
  const FitResult result = line.fit(net, line_options(3, 0, false), seen);
  EXPECT_EQ(result.stopped, StopReason::early_stopping);
  EXPECT_EQ(*result.best_epoch, 10u);
  ASSERT_EQ(result.epochs.size(), 14u);
  EXPECT_EQ(params(net), seen.back());
}

// min_delta 0.005: epoch 10 improves on epoch 9 by 0.0019 only, so 9 is the best, and the run
// stops 3 epochs later.
TEST(EarlyStopping, MinDeltaIgnoresSmallImprovements) {
  const Line line;
  Network<double> net = Line::net();
  std::vector<std::vector<double>> seen;
  const FitResult result = line.fit(net, line_options(3, 0.005, true), seen);
  const double gain = *result.epochs[9].val_loss - *result.epochs[10].val_loss;
  EXPECT_GT(gain, 0);
  EXPECT_LT(gain, 0.005);
  EXPECT_EQ(*result.best_epoch, 9u);
  EXPECT_EQ(result.epochs.size(), 13u);
  EXPECT_EQ(params(net), seen[9]);
}

// Without validation data the training loss is watched; here it only falls, so patience never
// runs out unless min_delta makes small gains not count.
TEST(EarlyStopping, WatchesTrainingLossWithoutValidation) {
  const Line line;
  const auto run = [&](double min_delta) {
    Network<double> net = Line::net();
    SGD sgd(0.03);
    return blasnet::fit(net, line.X.view(), Loss::mse, line.t, sgd,
                        line_options(2, min_delta, true));
  };
  const FitResult patient = run(0);
  EXPECT_EQ(patient.stopped, StopReason::completed);
  EXPECT_EQ(patient.epochs.size(), 100u);
  EXPECT_EQ(*patient.best_epoch, 99u);
  const FitResult strict = run(0.01);
  EXPECT_EQ(strict.stopped, StopReason::early_stopping);
  const auto [best, epochs] = replay_rule(strict.losses(), 2, 0.01);
  EXPECT_EQ(*strict.best_epoch, best);
  EXPECT_EQ(strict.epochs.size(), epochs);
  EXPECT_GT(epochs, 3u);
  EXPECT_LT(epochs, 100u);
}

// A stop requested after epoch 12 — past the best epoch 10, before patience runs out — ends the
// run as interrupted, keeping the last completed step's weights, not the best ones.
TEST(StopReasons, InterruptedKeepsTheLastStepNotTheBest) {
  const Line line;
  Network<double> net = Line::net();
  std::vector<std::vector<double>> seen;
  std::atomic<bool> stop{false};
  SGD sgd(0.03);
  FitOptions options = line_options(3, 0, true);
  options.stop = &stop;
  const FitResult result = blasnet::fit(net, line.X.view(), Loss::mse, line.t, sgd, options,
                                        &line.validation, [&](const EpochRecord& r) {
                                          seen.push_back(params(net));
                                          if (r.epoch == 12) stop = true;
                                          return true;
                                        });
  EXPECT_EQ(result.stopped, StopReason::interrupted);
  EXPECT_EQ(result.epochs.size(), 13u);
  EXPECT_EQ(*result.best_epoch, 10u);
  EXPECT_EQ(params(net), seen[12]);
}

// Each reason in turn: all epochs run; early stopping; a callback returning false; a stop flag
// already set, which returns before the first step and changes nothing. When the callback
// returns false on the epoch early stopping ends, early stopping is the reason.
TEST(StopReasons, EachReason) {
  const Line line;
  std::vector<std::vector<double>> seen;
  Network<double> a = Line::net();
  EXPECT_EQ(line.fit(a, FitOptions{5, 8, false, 0}, seen).stopped, StopReason::completed);

  Network<double> b = Line::net();
  EXPECT_EQ(line.fit(b, line_options(3, 0, true), seen).stopped, StopReason::early_stopping);

  Network<double> c = Line::net();
  SGD sgd(0.03);
  const auto until = [](std::size_t last) {
    return [last](const EpochRecord& r) { return r.epoch < last; };
  };
  FitResult result = blasnet::fit(c, line.X.view(), Loss::mse, line.t, sgd,
                                  FitOptions{50, 8, false, 0}, &line.validation, until(4));
  EXPECT_EQ(result.stopped, StopReason::callback);
  EXPECT_EQ(result.epochs.size(), 5u);

  Network<double> d = Line::net();
  result = blasnet::fit(d, line.X.view(), Loss::mse, line.t, sgd, line_options(3, 0, true),
                        &line.validation, until(13));
  EXPECT_EQ(result.stopped, StopReason::early_stopping);
  EXPECT_EQ(result.epochs.size(), 14u);

  Network<double> e = Line::net();
  const std::atomic<bool> stop{true};
  seen.clear();
  const FitResult none = line.fit(e, FitOptions{5, 8, false, 0}, seen, &stop);
  EXPECT_EQ(none.stopped, StopReason::interrupted);
  EXPECT_TRUE(none.epochs.empty());
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(params(e), params(Line::net()));
}

// --- the stop flag between steps -----------------------------------------------------------

struct Regression {
  Matrix<double> X = blasnet_test::random_matrix<double>(3, 10, 31);
  Matrix<double> T = blasnet_test::random_matrix<double>(2, 10, 32);
  static Network<double> net() {
    return Network<double>(3, {{4, Activation::tanh, ""}, {2, Activation::identity, ""}}, 33);
  }
  // The weights after k train_steps over batches of 3 (3, 3, 3, 1 per epoch) in data order.
  std::vector<double> after_steps(std::size_t k) const {
    Network<double> net = Regression::net();
    CountingSGD rule(0.1);
    for (std::size_t s = 0, first = 0; s < k; ++s, first = first + 3 >= 10 ? 0 : first + 3) {
      const std::size_t count = std::min<std::size_t>(3, 10 - first);
      blasnet::train_step(net, X.view().columns(first, count), Loss::mse,
                          Targets<double>::dense(T.view()).columns(first, count), rule);
    }
    return params(net);
  }
};

// A stop requested by the 7th step (epoch 1, its 3rd batch of 4) is honoured before the 8th:
// the weights are exactly those of 7 train_steps, and the one completed epoch is kept.
TEST(StopFlag, HonouredAtTheNextBatchBoundary) {
  const Regression data;
  Network<double> net = Regression::net();
  std::atomic<bool> stop{false};
  CountingSGD rule(0.1, &stop, 7);
  FitOptions options{50, 3, false, 0};
  options.stop = &stop;
  const FitResult result = blasnet::fit(net, data.X.view(), Loss::mse,
                                        Targets<double>::dense(data.T.view()), rule, options);
  EXPECT_EQ(result.stopped, StopReason::interrupted);
  EXPECT_EQ(result.epochs.size(), 1u);
  EXPECT_EQ(rule.count.load(), 7u);
  EXPECT_EQ(params(net), data.after_steps(7));
  EXPECT_NE(params(net), data.after_steps(8));
  EXPECT_NE(params(net), data.after_steps(4));
}

// The flag set from another thread, at whatever step that lands: fit stops between two steps,
// so the weights equal, bit for bit, those of as many train_steps as the optimizer took.
TEST(StopFlag, SetFromAnotherThread) {
  const Regression data;
  Network<double> net = Regression::net();
  std::atomic<bool> stop{false};
  CountingSGD rule(0.1);
  FitOptions options{10'000'000, 3, false, 0};
  options.stop = &stop;
  std::thread stopper([&] {
    while (rule.count.load() < 5) std::this_thread::yield();
    stop = true;
  });
  const FitResult result = blasnet::fit(net, data.X.view(), Loss::mse,
                                        Targets<double>::dense(data.T.view()), rule, options);
  stopper.join();
  const std::size_t steps = rule.count.load();
  EXPECT_EQ(result.stopped, StopReason::interrupted);
  EXPECT_GE(steps, 5u);
  EXPECT_EQ(result.epochs.size(), steps / 4);
  EXPECT_EQ(params(net), data.after_steps(steps));
}

// --- an optimizer shared between threads ---------------------------------------------------

// 3-16-2 tanh regression on 64 samples, shuffled batches of 4, Adam: runs long enough for
// other threads to meet them.
struct SharedAdam {
  Matrix<double> X = blasnet_test::random_matrix<double>(3, 64, 51);
  Matrix<double> T = blasnet_test::random_matrix<double>(2, 64, 52);
  static Network<double> net(std::uint64_t seed, std::size_t hidden = 16) {
    return Network<double>(3, {{hidden, Activation::tanh, ""}, {2, Activation::identity, ""}},
                           seed);
  }
  std::vector<double> fit(Network<double>& net, Adam& adam, std::size_t epochs) const {
    blasnet::fit(net, X.view(), Loss::mse, Targets<double>::dense(T.view()), adam,
                 FitOptions{epochs, 4, true, 7});
    return params(net);
  }
};

// An Adam state, copied out and back in.
struct SavedState {
  std::size_t steps = 0;
  std::vector<double> m, v;
  explicit SavedState(const Adam& adam)
      : steps(adam.steps()),
        m(adam.state<double>("m").begin(), adam.state<double>("m").end()),
        v(adam.state<double>("v").begin(), adam.state<double>("v").end()) {}
  void load_into(Adam& adam) const {
    adam.load_state<double>(steps, {{"m", {m.data(), m.size()}}, {"v", {v.data(), v.size()}}});
  }
};

// The reproducer: load_state (or reset) in a loop while another thread's fit uses the
// optimizer. Each call waits for the fit, so the fit runs as if alone, from the state it
// started with; before the hold, the calls freed the moments under the update loop.
TEST(SharedOptimizer, LoadStateAndResetWaitForTheRunningFit) {
  const SharedAdam data;
  for (const bool reset : {false, true}) {
    Adam adam(0.01);
    Network<double> warm = SharedAdam::net(1);
    data.fit(warm, adam, 1);
    const SavedState saved(adam);
    Network<double> net = SharedAdam::net(2);
    std::atomic<bool> running{true};
    std::vector<double> trained;
    std::thread trainer([&] {
      trained = data.fit(net, adam, 300);
      running = false;
    });
    while (running) reset ? adam.reset() : saved.load_into(adam);
    trainer.join();
    // The fit started from the saved state, or, with reset, maybe from a reset one.
    Adam from_saved(0.01);
    saved.load_into(from_saved);
    Network<double> a = SharedAdam::net(2);
    const std::vector<double> expected = data.fit(a, from_saved, 300);
    Adam from_reset(0.01);
    Network<double> b = SharedAdam::net(2);
    const std::vector<double> after_reset = data.fit(b, from_reset, 300);
    EXPECT_TRUE(trained == expected || (reset && trained == after_reset)) << "reset=" << reset;
  }
}

// Two fits on two networks with one optimizer take turns: each run is whole, in one order or
// the other, never steps of both interleaved in one state.
TEST(SharedOptimizer, TwoFitsTakeTurns) {
  const SharedAdam data;
  Adam adam(0.01);
  Network<double> a = SharedAdam::net(2), b = SharedAdam::net(3);
  std::vector<double> pa, pb;
  std::thread first([&] { pa = data.fit(a, adam, 200); });
  std::thread second([&] { pb = data.fit(b, adam, 200); });
  first.join();
  second.join();
  const auto in_order = [&](bool a_first) {
    Adam fresh(0.01);
    Network<double> ra = SharedAdam::net(2), rb = SharedAdam::net(3);
    std::vector<double> qa, qb;
    if (a_first) {
      qa = data.fit(ra, fresh, 200);
      qb = data.fit(rb, fresh, 200);
    } else {
      qb = data.fit(rb, fresh, 200);
      qa = data.fit(ra, fresh, 200);
    }
    return std::make_pair(qa, qb);
  };
  const auto got = std::make_pair(pa, pb);
  EXPECT_TRUE(got == in_order(true) || got == in_order(false));
}

// Networks of two sizes: whichever fit comes second refuses the optimizer sized by the first,
// and the first trains as if alone.
TEST(SharedOptimizer, ASecondNetworkOfAnotherSizeIsRefused) {
  const SharedAdam data;
  Adam adam(0.01);
  Network<double> small = SharedAdam::net(2, 16), large = SharedAdam::net(2, 24);
  std::vector<double> trained[2];
  std::string errors[2];
  const auto run = [&](Network<double>& net, std::size_t k) {
    try {
      trained[k] = data.fit(net, adam, 100);
    } catch (const std::invalid_argument& e) {
      errors[k] = e.what();
    }
  };
  std::thread first([&] { run(small, 0); });
  std::thread second([&] { run(large, 1); });
  first.join();
  second.join();
  ASSERT_TRUE(errors[0].empty() != errors[1].empty()) << errors[0] << " | " << errors[1];
  const std::size_t ran = errors[0].empty() ? 0 : 1;
  EXPECT_NE(errors[1 - ran].find("its state belongs to a buffer of"), std::string::npos)
      << errors[1 - ran];
  Adam alone(0.01);
  Network<double> reference = SharedAdam::net(2, ran == 0 ? 16 : 24);
  EXPECT_EQ(trained[ran], data.fit(reference, alone, 100));
}

// --- divergence ----------------------------------------------------------------------------

// y = x₁ + x₂ (w = [1, 1], b = 0) on 10 samples, batches of 2 in order; sample 7 set to `huge`.
template <typename T>
struct Overflow {
  Matrix<T> X = blasnet_test::random_matrix<T>(2, 10, 41);
  Matrix<T> Y{1, 10};
  Overflow() {
    for (std::size_t j = 0; j < 10; ++j) Y(0, j) = X(0, j) + X(1, j);
  }
  static Network<T> net() {
    Network<T> n(2, {{1, Activation::identity, ""}}, 0);
    set_params(n, {T(1), T(1), T(0)});
    return n;
  }
  Targets<T> targets() const { return Targets<T>::dense(Y.view()); }
  // A reference trained on clean data: `epochs` epochs by fit, then `steps` train_steps.
  std::vector<T> reference(std::size_t epochs, std::size_t steps) const {
    Network<T> n = net();
    SGD sgd(0.05);
    if (epochs > 0) {
      blasnet::fit(n, X.cview(), Loss::mse, targets(), sgd, FitOptions{epochs, 2, false, 0});
    }
    for (std::size_t s = 0; s < steps; ++s) {
      blasnet::train_step(n, X.cview().columns(2 * s, 2), Loss::mse, targets().columns(2 * s, 2),
                          sgd);
    }
    return params(n);
  }
};

// In double, sample 7 at 10²⁰⁰ makes the loss (½·(2·10²⁰⁰)²) infinite: fit throws
// TrainingDiverged — a NonFiniteError — at the batch of samples 6-7 in epoch 0, and the weights
// are those after the three batches before it.
TEST(Diverged, InfiniteLossKeepsTheLastFiniteStep) {
  Overflow<double> data;
  const Matrix<double> clean = data.X;
  data.X(0, 7) = data.X(1, 7) = 1e200;
  Network<double> net = Overflow<double>::net();
  SGD sgd(0.05);
  try {
    blasnet::fit(net, data.X.cview(), Loss::mse, data.targets(), sgd, FitOptions{3, 2, false, 0});
    FAIL() << "no TrainingDiverged";
  } catch (const blasnet::TrainingDiverged& e) {
    EXPECT_NE(std::string(e.what()).find("epoch 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("sample 6"), std::string::npos) << e.what();
    EXPECT_TRUE(e.result().epochs.empty());
  }
  data.X = clean;
  EXPECT_EQ(params(net), data.reference(0, 3));
}

// The same overflow put into the data (read in place) after epoch 1: the exception's result
// holds the two completed epochs, and the weights are those of 2 clean epochs and 3 steps.
TEST(Diverged, KeepsTheCompletedEpochs) {
  Overflow<double> data;
  const std::vector<double> clean_losses = [&] {
    Network<double> n = Overflow<double>::net();
    SGD sgd(0.05);
    return blasnet::fit(n, data.X.cview(), Loss::mse, data.targets(), sgd,
                        FitOptions{2, 2, false, 0}).losses();
  }();
  const Matrix<double> clean = data.X;
  Network<double> net = Overflow<double>::net();
  SGD sgd(0.05);
  bool thrown = false;
  try {
    blasnet::fit(net, data.X.cview(), Loss::mse, data.targets(), sgd, FitOptions{5, 2, false, 0},
                 nullptr, [&](const EpochRecord& r) {
                   if (r.epoch == 1) data.X(0, 7) = data.X(1, 7) = 1e200;
                   return true;
                 });
  } catch (const blasnet::NonFiniteError& e) {
    thrown = true;
    const auto* diverged = dynamic_cast<const blasnet::TrainingDiverged*>(&e);
    ASSERT_NE(diverged, nullptr);
    EXPECT_EQ(diverged->result().losses(), clean_losses);
    EXPECT_EQ(diverged->result().stopped, StopReason::completed);
  }
  EXPECT_TRUE(thrown);
  data.X = clean;
  EXPECT_EQ(params(net), data.reference(2, 3));
}

// In float, sample 3 at 10²⁰ has a finite loss and output gradient, but dW = dZ·xᵀ ≈ 10⁴⁰
// overflows, and so does the update of batch 2-3. Training stops at epoch 0, step 2, with the
// weights after batch 0-1, the last finite step, and says so.
TEST(Diverged, OverflowingUpdateMidEpochKeepsTheLastFiniteStep) {
  Overflow<float> data;
  data.X(0, 3) = data.X(1, 3) = 1e20f;
  Network<float> net = Overflow<float>::net();
  SGD sgd(0.05);
  try {
    blasnet::fit(net, data.X.cview(), Loss::mse, data.targets(), sgd, FitOptions{2, 2, false, 0});
    FAIL() << "no TrainingDiverged";
  } catch (const blasnet::TrainingDiverged& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("training stopped at epoch 0, step 2 (the batch from sample 2): "),
              std::string::npos) << message;
    EXPECT_NE(message.find("; the parameters and the optimizer's state are those after step 1"),
              std::string::npos) << message;
  }
  EXPECT_EQ(params(net), data.reference(0, 1));
}

// The review's reproducer: y = w·x + b on x = 1 with targets 10¹⁰. In double at lr 10³⁰⁰ the
// very first update overflows (α·dW ≈ 10³¹⁰): fit stops at epoch 0, step 1 with the starting
// weights. In float at lr 10³⁰ on targets 1, step 1 is finite (w, b ≈ 10²⁹) and step 2's update
// overflows: fit keeps step 1's weights. Parameters were once checked only at the end of an
// epoch, so the loss of the next step met the infinite weights and the message said that
// nothing had changed.
template <typename T>
void overflowing_update_keeps(double lr, T target, std::size_t finite_steps) {
  Matrix<T> X(1, 4), Y(1, 4);
  for (std::size_t j = 0; j < 4; ++j) {
    X(0, j) = T(1);
    Y(0, j) = target;
  }
  const Targets<T> targets = Targets<T>::dense(Y.view());
  Network<T> net(1, {{1, Activation::identity, ""}}, 0);
  Network<T> reference(1, {{1, Activation::identity, ""}}, 0);
  SGD sgd(lr), reference_sgd(lr);
  for (std::size_t s = 0; s < finite_steps; ++s) {
    blasnet::train_step(reference, X.cview().columns(s, 1), Loss::mse, targets.columns(s, 1),
                        reference_sgd);
  }
  const std::vector<T> kept = params(reference);
  EXPECT_THROW(blasnet::train_step(reference, X.cview().columns(finite_steps, 1), Loss::mse,
                                   targets.columns(finite_steps, 1), reference_sgd),
               blasnet::NonFiniteError);
  EXPECT_EQ(params(reference), kept) << "a refused train_step changes nothing";
  try {
    blasnet::fit(net, X.cview(), Loss::mse, targets, sgd, FitOptions{3, 1, false, 0});
    FAIL() << "no TrainingDiverged";
  } catch (const blasnet::TrainingDiverged& e) {
    const std::string message = e.what();
    const std::string at = "training stopped at epoch 0, step " +
                           std::to_string(finite_steps + 1) + " (the batch from sample " +
                           std::to_string(finite_steps) + "): the update makes 0.";
    EXPECT_EQ(message.rfind(at, 0), 0u) << message;
    const std::string kept_text = finite_steps == 0 ? "those fit started with" : "those after step 1";
    EXPECT_NE(message.find("the parameters and the optimizer's state are " + kept_text),
              std::string::npos) << message;
  }
  EXPECT_EQ(params(net), kept);
}

TEST(Diverged, AnUpdateOverflowingAtTheFirstStepKeepsTheStart) {
  overflowing_update_keeps<double>(1e300, 1e10, 0);
  overflowing_update_keeps<float>(1e30, 1e10f, 0);
}

TEST(Diverged, AnUpdateOverflowingMidEpochKeepsTheStepBefore) {
  overflowing_update_keeps<float>(1e30, 1.0f, 1);
}

// train_step promises NonFiniteError, changing nothing, for an infinite gradient: with the
// 10²⁰ sample the weight gradient is, by either update path (folded SGD, or backward then
// Optimizer::step).
TEST(Diverged, TrainStepRefusesAnInfiniteWeightGradient) {
  Overflow<float> data;
  data.X(0, 3) = data.X(1, 3) = 1e20f;
  const MatrixView<const float> x = data.X.cview().columns(2, 2);
  const Targets<float> t = data.targets().columns(2, 2);
  {
    Network<float> net = Overflow<float>::net();
    SGD sgd(0.05);
    EXPECT_THROW(blasnet::train_step(net, x, Loss::mse, t, sgd), blasnet::NonFiniteError);
    EXPECT_EQ(params(net), params(Overflow<float>::net()));
  }
  {
    Network<float> net = Overflow<float>::net();
    CountingSGD rule(0.05);
    EXPECT_THROW(blasnet::train_step(net, x, Loss::mse, t, rule), blasnet::NonFiniteError);
    EXPECT_EQ(params(net), params(Overflow<float>::net()));
  }
}

// --- sample weights ------------------------------------------------------------------------

struct LossCase {
  Loss loss;
  Activation output;
  std::size_t units;
};

// Targets of n samples for a loss: real values, probabilities, or one-hot columns.
Matrix<double> targets_for(const LossCase& c, std::size_t n, std::uint64_t seed) {
  if (c.loss == Loss::mse) return blasnet_test::random_matrix<double>(c.units, n, seed);
  if (c.loss == Loss::binary_cross_entropy) {
    return blasnet_test::random_matrix<double>(c.units, n, seed, 0, 1);
  }
  Matrix<double> T(c.units, n);
  blasnet::Rng rng(seed);
  for (std::size_t j = 0; j < n; ++j) T(rng.below(c.units), j) = 1;
  return T;
}

const LossCase loss_cases[] = {{Loss::mse, Activation::identity, 2},
                               {Loss::binary_cross_entropy, Activation::sigmoid, 2},
                               {Loss::softmax_cross_entropy, Activation::softmax, 3}};

// For every loss: with integer weights (0 included), J and every gradient of a full-batch
// backward equal those on the data with sample j repeated w_j times; evaluate agrees.
TEST(SampleWeights, IntegerWeightsEqualRepeatedSamples) {
  const std::vector<double> w{2, 0, 1, 3, 1};
  for (const LossCase& c : loss_cases) {
    const Matrix<double> X = blasnet_test::random_matrix<double>(3, 5, 51);
    const Matrix<double> T = targets_for(c, 5, 52);
    Matrix<double> Xr(3, 7), Tr(c.units, 7);
    for (std::size_t j = 0, r = 0; j < 5; ++j) {
      for (int k = 0; k < int(w[j]); ++k, ++r) {
        for (std::size_t i = 0; i < 3; ++i) Xr(i, r) = X(i, j);
        for (std::size_t i = 0; i < c.units; ++i) Tr(i, r) = T(i, j);
      }
    }
    Network<double> net(3, {{4, Activation::tanh, ""}, {c.units, c.output, ""}}, 53);
    const double J_rep = net.backward(Xr.view(), c.loss, Targets<double>::dense(Tr.view()));
    const std::vector<double> g_rep(net.gradients().begin(), net.gradients().end());
    const MatrixView<const double> x = X.view();
    const Targets<double> t = Targets<double>::dense(T.view());
    const Batch<double> batch{{&x, 1}, {&t, 1}, w.data()};
    const double J_w = net.graph().backward(batch);
    EXPECT_NEAR(J_w, J_rep, 1e-13 * std::abs(J_rep)) << blasnet::loss_name(c.loss);
    for (std::size_t p = 0; p < g_rep.size(); ++p) {
      EXPECT_NEAR(net.gradients()[p], g_rep[p], 1e-12 * (1 + std::abs(g_rep[p])))
          << blasnet::loss_name(c.loss) << " parameter " << p;
    }
    EXPECT_NEAR(net.graph().evaluate(batch), J_rep, 1e-13 * std::abs(J_rep));
  }
}

// J with real weights is Σ w_j·ℓ_j / Σ w_j, ℓ_j the loss of sample j alone.
TEST(SampleWeights, LossIsTheWeightedMean) {
  const std::vector<double> w{0.5, 2.25, 0, 1, 3.5};
  for (const LossCase& c : loss_cases) {
    const Matrix<double> X = blasnet_test::random_matrix<double>(3, 5, 54);
    const Matrix<double> T = targets_for(c, 5, 55);
    Network<double> net(3, {{4, Activation::tanh, ""}, {c.units, c.output, ""}}, 56);
    double sum = 0, total = 0;
    for (std::size_t j = 0; j < 5; ++j) {
      sum += w[j] * net.backward(X.view().columns(j, 1), c.loss,
                                 Targets<double>::dense(T.view()).columns(j, 1));
      total += w[j];
    }
    const MatrixView<const double> x = X.view();
    const Targets<double> t = Targets<double>::dense(T.view());
    EXPECT_NEAR(net.graph().evaluate({{&x, 1}, {&t, 1}, w.data()}), sum / total,
                1e-13 * sum / total)
        << blasnet::loss_name(c.loss);
  }
}

// fit with sample weights: unshuffled batches of 2 over 5 samples take the weighted steps
// train_step takes on the same blocks, and the epoch's loss is their J weighted by each
// batch's total weight.
TEST(SampleWeights, FitTakesWeightedStepsAndWeighsTheEpochLoss) {
  const std::vector<double> w{1, 0.5, 2, 0, 3};
  const Matrix<double> X = blasnet_test::random_matrix<double>(3, 5, 57);
  const Matrix<double> T = targets_for(loss_cases[1], 5, 58);
  const auto net = [] {
    Network<double> n(3, {{4, Activation::tanh, ""}, {2, Activation::sigmoid, ""}}, 59);
    n.graph().set_loss(0, Loss::binary_cross_entropy);
    return n;
  };
  Network<double> fitted = net(), stepped = net();
  const MatrixView<const double> x = X.view();
  const Targets<double> t = Targets<double>::dense(T.view());
  SGD sgd(0.4);
  const FitResult result = blasnet::fit(fitted.graph(), {{&x, 1}, {&t, 1}, w.data()}, sgd,
                                        FitOptions{1, 2, false, 0});
  double sum = 0;
  for (std::size_t first = 0; first < 5; first += 2) {
    const std::size_t count = std::min<std::size_t>(2, 5 - first);
    const MatrixView<const double> xb = x.columns(first, count);
    const Targets<double> tb = t.columns(first, count);
    const double J = blasnet::train_step(stepped.graph(), {{&xb, 1}, {&tb, 1}, w.data() + first},
                                         sgd);
    double batch_weight = 0;
    for (std::size_t j = first; j < first + count; ++j) batch_weight += w[j];
    sum += J * batch_weight;
  }
  EXPECT_EQ(params(fitted), params(stepped));
  ASSERT_EQ(result.epochs.size(), 1u);
  EXPECT_NEAR(result.epochs[0].loss, sum / 6.5, 1e-14);
}

// Negative, NaN or infinite weights, or all of them zero, are refused before any step.
TEST(SampleWeights, BadWeightsThrowBeforeTraining) {
  const Matrix<double> X = blasnet_test::random_matrix<double>(3, 4, 60);
  const Matrix<double> T = blasnet_test::random_matrix<double>(2, 4, 61);
  const MatrixView<const double> x = X.view();
  const Targets<double> t = Targets<double>::dense(T.view());
  const double inf = std::numeric_limits<double>::infinity();
  for (const std::vector<double>& w : std::vector<std::vector<double>>{
           {1, -1, 1, 1}, {1, std::nan(""), 1, 1}, {1, inf, 1, 1}, {0, 0, 0, 0}}) {
    Network<double> net(3, {{2, Activation::identity, ""}}, 62);
    const std::vector<double> before = params(net);
    SGD sgd(0.1);
    const Batch<double> batch{{&x, 1}, {&t, 1}, w.data()};
    EXPECT_THROW(blasnet::fit(net.graph(), batch, sgd, FitOptions{1, 2, true, 0}),
                 std::invalid_argument);
    EXPECT_THROW(net.graph().backward(batch), std::invalid_argument);
    EXPECT_THROW(net.graph().evaluate(batch), std::invalid_argument);
    EXPECT_EQ(params(net), before);
  }
}

// Weights each finite whose sum is not (two of 10³⁰⁸), or whose sum is too small to divide n
// by, are refused before any step, naming the problem; before, the first made the loss NaN.
TEST(SampleWeights, SumsThatCannotNormaliseThrowBeforeTraining) {
  const Matrix<double> X = blasnet_test::random_matrix<double>(3, 4, 60);
  const Matrix<double> T = blasnet_test::random_matrix<double>(2, 4, 61);
  const MatrixView<const double> x = X.view();
  const Targets<double> t = Targets<double>::dense(T.view());
  const std::vector<std::pair<std::vector<double>, std::string>> cases{
      {{1e308, 1e308, 1, 1}, "sample weights sum to more than the largest float64"},
      {{5e-324, 0, 0, 0}, "sample weights sum to 5e-324, too small to divide by"}};
  for (const auto& [w, expected] : cases) {
    Network<double> net(3, {{2, Activation::identity, ""}}, 62);
    const std::vector<double> before = params(net);
    SGD sgd(0.1);
    const Batch<double> batch{{&x, 1}, {&t, 1}, w.data()};
    for (const auto& call : std::vector<std::function<void()>>{
             [&] { blasnet::fit(net.graph(), batch, sgd, FitOptions{1, 2, true, 0}); },
             [&] { net.graph().backward(batch); }, [&] { net.graph().evaluate(batch); }}) {
      try {
        call();
        ADD_FAILURE() << "no exception for " << expected;
      } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
      }
    }
    EXPECT_EQ(params(net), before);
  }
}

// Weights as large as their sum allows weigh like their ratios: {10³⁰⁸, 5·10³⁰⁷} is {2, 1},
// for the loss, the gradient and the epoch's mean (each share is taken before any product).
TEST(SampleWeights, HugeWeightsWeighLikeTheirRatios) {
  const Matrix<double> X = blasnet_test::random_matrix<double>(3, 2, 63);
  const Matrix<double> T = blasnet_test::random_matrix<double>(2, 2, 64);
  const MatrixView<const double> x = X.view();
  const Targets<double> t = Targets<double>::dense(T.view());
  const std::vector<double> huge{1e308, 5e307}, small{2, 1};
  Network<double> a(3, {{2, Activation::tanh, ""}}, 65), b(3, {{2, Activation::tanh, ""}}, 65);
  SGD sgd_a(0.1), sgd_b(0.1);
  const FitResult fa = blasnet::fit(a.graph(), {{&x, 1}, {&t, 1}, huge.data()}, sgd_a,
                                    FitOptions{3, 2, false, 0});
  const FitResult fb = blasnet::fit(b.graph(), {{&x, 1}, {&t, 1}, small.data()}, sgd_b,
                                    FitOptions{3, 2, false, 0});
  ASSERT_EQ(fa.epochs.size(), 3u);
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_TRUE(std::isfinite(fa.epochs[e].loss));
    EXPECT_NEAR(fa.epochs[e].loss, fb.epochs[e].loss, 1e-12);
  }
  const std::vector<double> pa = params(a), pb = params(b);
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_NEAR(pa[i], pb[i], 1e-12);
}

// --- schedules -----------------------------------------------------------------------------

// α = α₀/(1 + epochs so far), counting its calls and what it is told.
class Harmonic final : public blasnet::Schedule {
 public:
  std::string describe() const override { return "Harmonic()"; }
  std::size_t rates = 0;
  std::vector<double> observed;

 protected:
  double rate(double initial) override {
    ++rates;
    return initial / double(1 + epochs());
  }
  void observe(double monitored) override { observed.push_back(monitored); }
};

// The schedule is asked for a rate once before each epoch and told once after it: the
// samples, and the validation loss it watches. Each record's lr is the rate set, and the steps
// take it: the weights equal those of one epoch at α₀ then one at α₀/2.
TEST(FitSchedule, HooksRunOncePerEpoch) {
  const Blobs train(12, 71), held_out(6, 72);
  const MatrixView<const double> xv = held_out.X.view();
  const Targets<double> tv = held_out.targets();
  const Batch<double> validation{{&xv, 1}, {&tv, 1}, nullptr};
  Network<double> net = blob_net();
  SGD sgd(0.4);
  Harmonic schedule;
  FitOptions options{4, 5, false, 0};
  options.schedule = &schedule;
  const FitResult result = blasnet::fit(net, train.X.view(), Loss::softmax_cross_entropy,
                                        train.targets(), sgd, options, &validation);
  EXPECT_EQ(schedule.rates, 4u);
  EXPECT_EQ(schedule.epochs(), 4u);
  EXPECT_EQ(schedule.samples(), 48u);
  ASSERT_EQ(schedule.observed.size(), 4u);
  for (std::size_t e = 0; e < 4; ++e) {
    EXPECT_EQ(result.epochs[e].lr, 0.4 / double(1 + e));
    EXPECT_EQ(schedule.observed[e], *result.epochs[e].val_loss);
  }

  // Stopped by a callback after 2 epochs: 2 calls each; the first two epochs' steps used
  // 0.4 and 0.2.
  Network<double> stopped = blob_net(), reference = blob_net();
  Harmonic again;
  options.schedule = &again;
  SGD other(0.4);
  blasnet::fit(stopped, train.X.view(), Loss::softmax_cross_entropy, train.targets(), other,
               options, nullptr, [](const EpochRecord& r) { return r.epoch < 1; });
  EXPECT_EQ(again.rates, 2u);
  EXPECT_EQ(again.observed.size(), 2u);
  for (double lr : {0.4, 0.2}) {
    SGD fixed(lr);
    blasnet::fit(reference, train.X.view(), Loss::softmax_cross_entropy, train.targets(), fixed,
                 FitOptions{1, 5, false, 0});
  }
  EXPECT_EQ(params(stopped), params(reference));
  ASSERT_EQ(again.observed.size(), 2u);
}

// --- dropout -------------------------------------------------------------------------------

// x (3) → h1 tanh 5, dropout 0.3 → h2 tanh 4, dropout 0.5 → y softmax 3, softmax
// cross-entropy on labels, 6 samples.
struct DropoutNet {
  Graph<double> g;
  Matrix<double> X = blasnet_test::random_matrix<double>(3, 6, 81);
  std::vector<std::int64_t> labels{0, 2, 1, 1, 0, 2};
  MatrixView<const double> x;
  Targets<double> t;
  DropoutNet() : g(spec(), 82) {
    x = X.view();
    t = Targets<double>::classes(labels.data(), labels.size());
    blasnet::Rng rng(83);
    for (double& v : g.parameters()) v = rng.uniform(-0.8, 0.8);  // biases too
  }
  static blasnet::GraphSpec spec() {
    blasnet::GraphSpec s;
    s.inputs = {{"x", 3}};
    s.nodes = {{"h1", {"x"}, 5, Activation::tanh, "", false, 0.3},
               {"h2", {"h1"}, 4, Activation::tanh, "", false, 0.5},
               {"y", {"h2"}, 3, Activation::softmax, "", false, 0}};
    s.outputs = {{"y", Loss::softmax_cross_entropy, 1.0, ""}};
    return s;
  }
  // J of a training pass with the masks of stream `seed`.
  double J(std::uint64_t seed) {
    g.seed_dropout(seed);
    return g.backward({{&x, 1}, {&t, 1}, nullptr});
  }
  std::vector<double> gradients() const { return {g.gradients().begin(), g.gradients().end()}; }
};

// With the masks fixed by seed_dropout, backward is a deterministic function of the
// parameters, the masks change J (another seed, another J; inference differs from both), and
// its gradient matches central differences of J taken with the same masks, entry by entry.
TEST(Dropout, GradientMatchesCentralDifferencesWithFixedMasks) {
  DropoutNet net;
  const double J = net.J(5);
  const std::vector<double> grad = net.gradients();
  EXPECT_EQ(net.J(5), J);
  EXPECT_EQ(net.gradients(), grad);
  EXPECT_NE(net.J(6), J);
  EXPECT_NE(net.g.evaluate({{&net.x, 1}, {&net.t, 1}, nullptr}), J);

  const double h = 1e-6;
  std::size_t nonzero = 0;
  for (std::size_t p = 0; p < grad.size(); ++p) {
    double& theta = net.g.parameters()[p];
    const double saved = theta;
    theta = saved + h;
    const double up = net.J(5);
    theta = saved - h;
    const double down = net.J(5);
    theta = saved;
    const double numeric = (up - down) / (2 * h);
    EXPECT_NEAR(grad[p], numeric, 1e-8 + 1e-6 * std::abs(numeric)) << "parameter " << p;
    nonzero += grad[p] != 0;
  }
  // Dropped units give whole rows and columns of zero gradient, but not everywhere.
  EXPECT_GT(nonzero, grad.size() / 3);
  EXPECT_LT(nonzero, grad.size());
}

// Inference never drops: forward in inference mode is the same before and after training
// passes, whatever the dropout stream.
TEST(Dropout, InferenceIsUnaffected) {
  DropoutNet net;
  net.g.forward({&net.x, 1});
  const MatrixView<const double> Y = net.g.output(0);
  const std::vector<double> first(Y.data, Y.data + Y.rows * Y.cols);
  net.J(9);
  net.g.forward({&net.x, 1}, blasnet::Checks::on, blasnet::Mode::training);
  net.g.forward({&net.x, 1});
  const MatrixView<const double> again = net.g.output(0);
  EXPECT_EQ(std::vector<double>(again.data, again.data + again.rows * again.cols), first);
}

}  // namespace
