// metrics.hpp: which losses are classification losses, and count_correct against answers
// worked out by hand — argmax against labels or one-hot columns (ties to the first unit),
// binary units on the right side of 0.5 (strictly above counts as 1), every unit of a sample
// right for it to count — in float and double.

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "blasnet/metrics.hpp"
#include "reference.hpp"

namespace {

using blasnet::Loss;
using blasnet::Targets;
using blasnet_test::Matrix;

template <typename T>
Matrix<T> columns(std::size_t rows, std::size_t cols, std::vector<T> data) {
  Matrix<T> M(rows, cols);
  M.data = std::move(data);
  return M;
}

TEST(Metrics, ClassificationLossesAreTheCrossEntropies) {
  EXPECT_FALSE(blasnet::is_classification(Loss::mse));
  EXPECT_TRUE(blasnet::is_classification(Loss::binary_cross_entropy));
  EXPECT_TRUE(blasnet::is_classification(Loss::softmax_cross_entropy));
}

template <typename T>
class MetricsCountCorrect : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(MetricsCountCorrect, Types);

// Four samples of 3 classes; predictions 1, 0, 2, 0 (the last a tie between units 0 and 2,
// which goes to the first). Against labels 1, 2, 2, 0: samples 0, 2 and 3 are right.
TYPED_TEST(MetricsCountCorrect, SoftmaxArgmaxAgainstLabels) {
  using T = TypeParam;
  const Matrix<T> Y = columns<T>(3, 4, {T(0.2), T(0.7), T(0.1),   //
                                        T(0.5), T(0.3), T(0.2),   //
                                        T(0.1), T(0.2), T(0.7),   //
                                        T(0.4), T(0.2), T(0.4)});
  const std::vector<std::int64_t> labels{1, 2, 2, 0};
  EXPECT_EQ(blasnet::count_correct<T>(Loss::softmax_cross_entropy, Y.view(),
                                      Targets<T>::classes(labels.data(), 4)),
            3u);
  const std::vector<std::int64_t> all_wrong{0, 1, 0, 2};
  EXPECT_EQ(blasnet::count_correct<T>(Loss::softmax_cross_entropy, Y.view(),
                                      Targets<T>::classes(all_wrong.data(), 4)),
            0u);
}

// Dense targets: the class is the largest target of the column (one-hot or soft), so the
// same predictions against one-hot columns of 1, 2, 2, 0 and soft columns leaning the same way
// count alike.
TYPED_TEST(MetricsCountCorrect, SoftmaxArgmaxAgainstDenseTargets) {
  using T = TypeParam;
  const Matrix<T> Y = columns<T>(3, 4, {T(0.2), T(0.7), T(0.1),   //
                                        T(0.5), T(0.3), T(0.2),   //
                                        T(0.1), T(0.2), T(0.7),   //
                                        T(0.4), T(0.2), T(0.4)});
  const Matrix<T> onehot = columns<T>(3, 4, {0, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0});
  EXPECT_EQ(blasnet::count_correct<T>(Loss::softmax_cross_entropy, Y.view(),
                                      Targets<T>::dense(onehot.view())),
            3u);
  const Matrix<T> soft = columns<T>(3, 4, {T(0.2), T(0.6), T(0.2),  //
                                           T(0.3), T(0.3), T(0.4),  //
                                           T(0.1), T(0.1), T(0.8),  //
                                           T(0.5), T(0.25), T(0.25)});
  EXPECT_EQ(blasnet::count_correct<T>(Loss::softmax_cross_entropy, Y.view(),
                                      Targets<T>::dense(soft.view())),
            3u);
}

// One sigmoid unit: y > 0.5 predicts 1. y = 0.5 exactly predicts 0, so it is right for a
// target 0 (and for a soft target 0.5, on the same side) and wrong for a target 1.
TYPED_TEST(MetricsCountCorrect, BinarySideOfOneHalf) {
  using T = TypeParam;
  const Matrix<T> Y = columns<T>(1, 6, {T(0.9), T(0.2), T(0.5), T(0.5), T(0.51), T(0.49)});
  const Matrix<T> t = columns<T>(1, 6, {1, 0, 0, 1, 1, T(0.5)});
  EXPECT_EQ(blasnet::count_correct<T>(Loss::binary_cross_entropy, Y.view(),
                                      Targets<T>::dense(t.view())),
            5u);
}

// Several binary units: a sample counts only if every unit is on its target's side.
TYPED_TEST(MetricsCountCorrect, BinaryEveryUnitMustBeRight) {
  using T = TypeParam;
  const Matrix<T> Y = columns<T>(2, 3, {T(0.9), T(0.1),   // both right
                                        T(0.9), T(0.8),   // second wrong
                                        T(0.2), T(0.7)}); // both wrong
  const Matrix<T> t = columns<T>(2, 3, {1, 0, 1, 0, 1, 0});
  EXPECT_EQ(blasnet::count_correct<T>(Loss::binary_cross_entropy, Y.view(),
                                      Targets<T>::dense(t.view())),
            1u);
}

// Only the view's columns and rows are read: a sub-view of a padded matrix counts as its
// compact copy does.
TYPED_TEST(MetricsCountCorrect, ReadsOnlyTheView) {
  using T = TypeParam;
  Matrix<T> padded(2, 3, 4, T(9));  // ld 4: rows 2 and 3 of each column are padding
  const T values[6] = {T(0.9), T(0.1), T(0.3), T(0.6), T(0.2), T(0.7)};
  for (std::size_t j = 0; j < 3; ++j) {
    padded(0, j) = values[2 * j];
    padded(1, j) = values[2 * j + 1];
  }
  const std::vector<std::int64_t> labels{0, 1, 0};
  EXPECT_EQ(blasnet::count_correct<T>(Loss::softmax_cross_entropy, padded.view(),
                                      Targets<T>::classes(labels.data(), 3)),
            2u);
  EXPECT_EQ(blasnet::count_correct<T>(Loss::softmax_cross_entropy, padded.view().columns(1, 2),
                                      Targets<T>::classes(labels.data() + 1, 2)),
            1u);
}

TYPED_TEST(MetricsCountCorrect, MseHasNoAccuracy) {
  using T = TypeParam;
  const Matrix<T> Y(1, 2);
  EXPECT_THROW(blasnet::count_correct<T>(Loss::mse, Y.view(), Targets<T>::dense(Y.view())),
               std::invalid_argument);
}

}  // namespace
