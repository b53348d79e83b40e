// optimizers.hpp: SGD is the note's Θ ← Θ − α·∇_Θ J, exactly, over a flat buffer.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "blasnet/optimizers.hpp"

namespace {

using blasnet::Optimizer;
using blasnet::SGD;

template <typename T>
class SGDStep : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SGDStep, Scalars);

// lr 0.5 and dyadic values: every product and difference is exact in both precisions.
TYPED_TEST(SGDStep, ExactUpdateThroughTheBaseClass) {
  using T = TypeParam;
  std::vector<T> params{1, 2, -3, 0.25};
  const std::vector<T> grads{0.5, -1, 2, 0};
  SGD sgd(0.5);
  Optimizer& optimizer = sgd;
  optimizer.step(blasnet::Span<T>{params.data(), params.size()},
                 blasnet::Span<const T>{grads.data(), grads.size()});
  EXPECT_EQ(params, (std::vector<T>{0.75, 2.5, -4, 0.25}));
  // A second step applies the same rule again: no hidden state in plain SGD.
  optimizer.step(blasnet::Span<T>{params.data(), params.size()},
                 blasnet::Span<const T>{grads.data(), grads.size()});
  EXPECT_EQ(params, (std::vector<T>{0.5, 3, -5, 0.25}));
}

TYPED_TEST(SGDStep, SizeMismatchThrowsAndLeavesParameters) {
  using T = TypeParam;
  std::vector<T> params{1, 2, 3};
  const std::vector<T> grads{1, 1};
  SGD sgd(0.1);
  EXPECT_THROW(sgd.step(blasnet::Span<T>{params.data(), params.size()},
                        blasnet::Span<const T>{grads.data(), grads.size()}),
               std::invalid_argument);
  EXPECT_EQ(params, (std::vector<T>{1, 2, 3}));
}

TEST(SGD, InvalidLearningRatesThrow) {
  for (double lr : {0.0, -0.1, std::numeric_limits<double>::quiet_NaN(),
                    std::numeric_limits<double>::infinity()}) {
    EXPECT_THROW(SGD{lr}, std::invalid_argument) << lr;
  }
}

TEST(SGD, SetLearningRate) {
  SGD sgd(0.1);
  EXPECT_EQ(sgd.lr(), 0.1);
  sgd.set_lr(0.25);
  EXPECT_EQ(sgd.lr(), 0.25);
  EXPECT_THROW(sgd.set_lr(0.0), std::invalid_argument);
  EXPECT_THROW(sgd.set_lr(std::nan("")), std::invalid_argument);
  EXPECT_EQ(sgd.lr(), 0.25) << "a rejected rate leaves the old one";

  std::vector<double> params{1};
  const std::vector<double> grads{1};
  sgd.step(blasnet::Span<double>{params.data(), 1}, blasnet::Span<const double>{grads.data(), 1});
  EXPECT_EQ(params[0], 0.75) << "step uses the new rate";
}

TEST(SGD, Describe) {
  const std::string text = SGD(0.5).describe();
  EXPECT_NE(text.find("SGD"), std::string::npos) << text;
  EXPECT_NE(text.find("0.5"), std::string::npos) << text;
}

}  // namespace
