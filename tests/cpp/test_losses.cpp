// losses.hpp: J of eq. (5) as a batch mean on hand-computed cases, its gradient dZ = n·∂J/∂Z
// against central differences for every supported (loss, output unit) pair, and the checks.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "blasnet/losses.hpp"
#include "reference.hpp"

namespace {

using blasnet::Activation;
using blasnet::Loss;
using blasnet::Targets;
using blasnet_test::Matrix;

template <typename T>
double value(Loss loss, Activation a, const Matrix<T>& Z, const Targets<T>& targets) {
  const Matrix<T> Y = blasnet_test::activate(a, Z);
  return blasnet::loss_value<T>(loss, a, Z.view(), Y.view(), targets);
}

template <typename T>
Matrix<T> gradient(Loss loss, Activation a, const Matrix<T>& Z, const Targets<T>& targets) {
  const Matrix<T> Y = blasnet_test::activate(a, Z);
  Matrix<T> dZ(Z.rows, Z.cols);
  blasnet::loss_backward<T>(loss, a, Z.view(), Y.view(), targets, dZ.view());
  return dZ;
}

Matrix<double> column_major(std::size_t rows, std::size_t cols, std::vector<double> values) {
  Matrix<double> m(rows, cols);
  m.data = std::move(values);
  return m;
}

const double ln2 = std::log(2.0);
const double ln3 = std::log(3.0);

// Y (2×2) = [1 3; 2 4], T = [0 3; 0 2]: J = (½(1 + 4) + ½(0 + 4)) / 2 = 2.25.
TEST(LossValue, MeanSquaredError) {
  const Matrix<double> Z = column_major(2, 2, {1, 2, 3, 4});
  const Matrix<double> T = column_major(2, 2, {0, 0, 3, 2});
  EXPECT_DOUBLE_EQ(value(Loss::mse, Activation::identity, Z, Targets<double>::dense(T.view())),
                   2.25);
}

// One sigmoid unit, z = (0, ln3) so y = (1/2, 3/4), t = (1, 0): J = (ln2 + ln4) / 2.
TEST(LossValue, BinaryCrossEntropySigmoid) {
  const Matrix<double> Z = column_major(1, 2, {0, ln3});
  const Matrix<double> T = column_major(1, 2, {1, 0});
  EXPECT_NEAR(
      value(Loss::binary_cross_entropy, Activation::sigmoid, Z, Targets<double>::dense(T.view())),
      1.5 * ln2, 1e-15);
}

// Softmax over z = (0, ln3) gives y = (1/4, 3/4); t = (0, 1): J = −ln(1 − 1/4) − ln(3/4).
TEST(LossValue, BinaryCrossEntropySoftmax) {
  const Matrix<double> Z = column_major(2, 1, {0, ln3});
  const Matrix<double> T = column_major(2, 1, {0, 1});
  EXPECT_NEAR(
      value(Loss::binary_cross_entropy, Activation::softmax, Z, Targets<double>::dense(T.view())),
      -2 * std::log(0.75), 1e-15);
}

// Softmax over (0, ln2, ln3) gives (1, 2, 3)/6. Class 2 then class 0: J = (ln2 + ln6) / 2,
// whether the classes come as one-hot columns or as labels.
TEST(LossValue, SoftmaxCrossEntropyDenseAndLabels) {
  const Matrix<double> Z = column_major(3, 2, {0, ln2, ln3, 0, ln2, ln3});
  const Matrix<double> T = column_major(3, 2, {0, 0, 1, 1, 0, 0});
  const std::int64_t labels[2] = {2, 0};
  const double expected = (ln2 + std::log(6.0)) / 2;
  EXPECT_NEAR(
      value(Loss::softmax_cross_entropy, Activation::softmax, Z, Targets<double>::dense(T.view())),
      expected, 1e-15);
  EXPECT_NEAR(value(Loss::softmax_cross_entropy, Activation::softmax, Z,
                    Targets<double>::classes(labels, 2)),
              expected, 1e-15);
}

// Independent sigmoid units y = (1/2, 3/4): t = (1, 1) gives ln2 + ln(4/3); label 1 ln(4/3).
TEST(LossValue, SoftmaxCrossEntropySigmoid) {
  const Matrix<double> Z = column_major(2, 1, {0, ln3});
  const Matrix<double> T = column_major(2, 1, {1, 1});
  const std::int64_t label = 1;
  EXPECT_NEAR(
      value(Loss::softmax_cross_entropy, Activation::sigmoid, Z, Targets<double>::dense(T.view())),
      ln2 + std::log(4.0 / 3), 1e-15);
  EXPECT_NEAR(value(Loss::softmax_cross_entropy, Activation::sigmoid, Z,
                    Targets<double>::classes(&label, 1)),
              std::log(4.0 / 3), 1e-15);
}

// The targets each loss is checked with: mse any real, BCE inside [0, 1], softmax
// cross-entropy non-negative and not normalised (so 1ᵀt ≠ 1 is exercised), or labels.
enum class TargetKind { real, probability, nonnegative, labels };

std::pair<double, double> target_range(TargetKind kind) {
  switch (kind) {
    case TargetKind::real: return {-1.0, 1.0};
    case TargetKind::probability: return {0.05, 0.95};
    case TargetKind::nonnegative: return {0.1, 2.0};
    case TargetKind::labels: break;
  }
  return {0.0, 0.0};
}

struct GradientCase {
  Loss loss;
  Activation activation;
  TargetKind targets;
};

std::string case_name(const ::testing::TestParamInfo<GradientCase>& info) {
  const char* kinds[] = {"real", "probability", "nonnegative", "labels"};
  return std::string(blasnet::loss_name(info.param.loss)) + "_" +
         std::string(blasnet::activation_name(info.param.activation)) + "_" +
         kinds[static_cast<int>(info.param.targets)];
}

class LossGradient : public ::testing::TestWithParam<GradientCase> {};

// Z (3×4) away from relu's kink; dZ is per sample, so dZ / n is compared with ∂J/∂Z.
TEST_P(LossGradient, BackwardMatchesCentralDifferences) {
  const GradientCase c = GetParam();
  const std::size_t n_out = 3, n = 4;
  Matrix<double> Z = blasnet_test::random_matrix<double>(n_out, n, 21, 0.1, 1.5);
  blasnet::Rng signs(22);
  for (double& z : Z.data) z = signs.below(2) ? z : -z;

  Matrix<double> T(n_out, n);
  const std::int64_t labels[4] = {0, 2, 1, 2};
  Targets<double> targets = Targets<double>::classes(labels, n);
  if (c.targets != TargetKind::labels) {
    const auto [lo, hi] = target_range(c.targets);
    T = blasnet_test::random_matrix<double>(n_out, n, 23, lo, hi);
    targets = Targets<double>::dense(T.view());
  }
  ASSERT_NO_THROW(blasnet::check_loss_supports(c.loss, c.activation));
  ASSERT_NO_THROW(blasnet::check_targets(c.loss, targets, n_out, n));

  const Matrix<double> dZ = gradient(c.loss, c.activation, Z, targets);
  const double h = 1e-6;
  for (std::size_t k = 0; k < Z.data.size(); ++k) {
    Matrix<double> plus = Z, minus = Z;
    plus.data[k] += h;
    minus.data[k] -= h;
    const double fd =
        (value(c.loss, c.activation, plus, targets) - value(c.loss, c.activation, minus, targets)) /
        (2 * h);
    EXPECT_NEAR(dZ.data[k] / double(n), fd, 1e-8) << "entry " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(
    SupportedPairs, LossGradient,
    ::testing::Values(
        GradientCase{Loss::mse, Activation::identity, TargetKind::real},
        GradientCase{Loss::mse, Activation::sigmoid, TargetKind::real},
        GradientCase{Loss::mse, Activation::tanh, TargetKind::real},
        GradientCase{Loss::mse, Activation::relu, TargetKind::real},
        GradientCase{Loss::mse, Activation::softmax, TargetKind::real},
        GradientCase{Loss::binary_cross_entropy, Activation::sigmoid, TargetKind::probability},
        GradientCase{Loss::binary_cross_entropy, Activation::softmax, TargetKind::probability},
        GradientCase{Loss::softmax_cross_entropy, Activation::softmax, TargetKind::nonnegative},
        GradientCase{Loss::softmax_cross_entropy, Activation::softmax, TargetKind::labels},
        GradientCase{Loss::softmax_cross_entropy, Activation::sigmoid, TargetKind::nonnegative},
        GradientCase{Loss::softmax_cross_entropy, Activation::sigmoid, TargetKind::labels}),
    case_name);

// The fused forms must equal the chain the general path would take: dY = ∂J/∂Y entry by entry
// (dJ_dy(y, t)), then dZ = dY ⊙ f'(Z) through activation_backward. Z and T (rows×5) come from
// seeds seed and seed + 1.
template <typename DJ_DY>
void expect_fused_equals_chain(Loss loss, Activation a, std::size_t rows, std::uint64_t seed,
                               DJ_DY dJ_dy) {
  const Matrix<double> Z = blasnet_test::random_matrix<double>(rows, 5, seed, -2, 2);
  const Matrix<double> T = blasnet_test::random_matrix<double>(rows, 5, seed + 1, 0, 1);
  const Matrix<double> Y = blasnet_test::activate(a, Z);
  Matrix<double> general(rows, 5);
  for (std::size_t k = 0; k < general.data.size(); ++k) {
    general.data[k] = dJ_dy(Y.data[k], T.data[k]);
  }
  blasnet::activation_backward<double>(a, Y.view(), general.view());

  const Matrix<double> fused = gradient(loss, a, Z, Targets<double>::dense(T.view()));
  for (std::size_t k = 0; k < fused.data.size(); ++k) {
    EXPECT_NEAR(fused.data[k], general.data[k], 1e-12);
  }
}

// Y·(1ᵀT) − T against −t/y through the softmax Jacobian.
TEST(LossBackward, FusedSoftmaxCrossEntropyEqualsGeneralChain) {
  expect_fused_equals_chain(Loss::softmax_cross_entropy, Activation::softmax, 4, 31,
                            [](double y, double t) { return -t / y; });
}

// Y − T against (y − t)/(y(1 − y)) through σ' = y(1 − y).
TEST(LossBackward, FusedSigmoidBinaryCrossEntropyEqualsGeneralChain) {
  expect_fused_equals_chain(Loss::binary_cross_entropy, Activation::sigmoid, 3, 33,
                            [](double y, double t) { return (y - t) / (y * (1 - y)); });
}

// Softmax cross-entropy on independent sigmoid units: −t/y through σ' = y(1 − y) is −t·(1 − y).
TEST(LossBackward, SigmoidSoftmaxCrossEntropyEqualsGeneralChain) {
  expect_fused_equals_chain(Loss::softmax_cross_entropy, Activation::sigmoid, 3, 36,
                            [](double y, double t) { return -t / y; });
  const Matrix<double> Z = blasnet_test::random_matrix<double>(3, 5, 36, -2, 2);
  const Matrix<double> T = blasnet_test::random_matrix<double>(3, 5, 37, 0, 1);
  const Matrix<double> Y = blasnet_test::activate(Activation::sigmoid, Z);
  const Matrix<double> dZ = gradient(Loss::softmax_cross_entropy, Activation::sigmoid, Z,
                                     Targets<double>::dense(T.view()));
  for (std::size_t k = 0; k < dZ.data.size(); ++k) {
    EXPECT_NEAR(dZ.data[k], -T.data[k] * (1 - Y.data[k]), 1e-12);
  }
}

// Labels are read as one-hot columns: same dZ as the dense one-hot matrix.
TEST(LossBackward, LabelsEqualOneHot) {
  const Matrix<double> Z = blasnet_test::random_matrix<double>(3, 4, 35, -2, 2);
  const std::int64_t labels[4] = {1, 0, 2, 1};
  Matrix<double> T(3, 4);
  for (std::size_t j = 0; j < 4; ++j) T(static_cast<std::size_t>(labels[j]), j) = 1;
  for (Activation a : {Activation::softmax, Activation::sigmoid}) {
    const Matrix<double> from_labels =
        gradient(Loss::softmax_cross_entropy, a, Z, Targets<double>::classes(labels, 4));
    const Matrix<double> from_dense =
        gradient(Loss::softmax_cross_entropy, a, Z, Targets<double>::dense(T.view()));
    EXPECT_EQ(from_labels.data, from_dense.data) << blasnet::activation_name(a);
  }
}

TEST(LossChecks, OutputUnitMustFitTheLoss) {
  for (Activation a : {Activation::identity, Activation::tanh, Activation::relu}) {
    EXPECT_THROW(blasnet::check_loss_supports(Loss::binary_cross_entropy, a), std::invalid_argument)
        << blasnet::activation_name(a);
    EXPECT_THROW(blasnet::check_loss_supports(Loss::softmax_cross_entropy, a),
                 std::invalid_argument)
        << blasnet::activation_name(a);
    EXPECT_NO_THROW(blasnet::check_loss_supports(Loss::mse, a));
  }
  for (Loss loss : {Loss::mse, Loss::binary_cross_entropy, Loss::softmax_cross_entropy}) {
    EXPECT_THROW(blasnet::check_loss_supports(loss, Activation::step), std::invalid_argument);
    EXPECT_NO_THROW(blasnet::check_loss_supports(loss, Activation::sigmoid));
    EXPECT_NO_THROW(blasnet::check_loss_supports(loss, Activation::softmax));
  }
  try {
    blasnet::check_loss_supports(Loss::binary_cross_entropy, Activation::relu);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("relu"), std::string::npos) << what;
    EXPECT_NE(what.find("binary_cross_entropy"), std::string::npos) << what;
  }
}

// Dense targets (n_out = 2, n = 3) that pass, then one bad entry at a time.
TEST(LossChecks, DenseTargets) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const auto check = [](Loss loss, const Matrix<double>& T) {
    blasnet::check_targets(loss, Targets<double>::dense(T.view()), 2, 3);
  };
  const Matrix<double> good = column_major(2, 3, {0, 1, 0.5, 0.5, 1, 0});
  for (Loss loss : {Loss::mse, Loss::binary_cross_entropy, Loss::softmax_cross_entropy}) {
    EXPECT_NO_THROW(check(loss, good)) << blasnet::loss_name(loss);
    EXPECT_THROW(check(loss, Matrix<double>(3, 3)), std::invalid_argument) << "3 rows, 2 units";
    EXPECT_THROW(check(loss, Matrix<double>(2, 4)), std::invalid_argument)
        << "4 columns, 3 samples";
    for (double bad : {nan, inf}) {
      Matrix<double> T = good;
      T(1, 2) = bad;
      EXPECT_THROW(check(loss, T), std::invalid_argument) << blasnet::loss_name(loss) << " " << bad;
    }
  }
  Matrix<double> T = good;
  T(0, 1) = 1.5;
  EXPECT_THROW(check(Loss::binary_cross_entropy, T), std::invalid_argument);
  EXPECT_NO_THROW(check(Loss::softmax_cross_entropy, T)) << "unnormalised is fine for softmax";
  EXPECT_NO_THROW(check(Loss::mse, T));
  T(0, 1) = -0.25;
  EXPECT_THROW(check(Loss::binary_cross_entropy, T), std::invalid_argument);
  EXPECT_THROW(check(Loss::softmax_cross_entropy, T), std::invalid_argument);
  EXPECT_NO_THROW(check(Loss::mse, T));
}

TEST(LossChecks, LabelTargets) {
  const std::int64_t good[3] = {0, 2, 1};
  const std::int64_t negative[3] = {0, -1, 1};
  const std::int64_t too_big[3] = {0, 3, 1};
  const auto check = [](Loss loss, const std::int64_t* labels, std::size_t count) {
    blasnet::check_targets(loss, Targets<double>::classes(labels, count), 3, 3);
  };
  EXPECT_NO_THROW(check(Loss::softmax_cross_entropy, good, 3));
  EXPECT_THROW(check(Loss::softmax_cross_entropy, negative, 3), std::invalid_argument);
  EXPECT_THROW(check(Loss::softmax_cross_entropy, too_big, 3), std::invalid_argument);
  EXPECT_THROW(check(Loss::softmax_cross_entropy, good, 2), std::invalid_argument)
      << "2 labels, 3 samples";
  EXPECT_THROW(check(Loss::mse, good, 3), std::invalid_argument);
  EXPECT_THROW(check(Loss::binary_cross_entropy, good, 3), std::invalid_argument);
}

template <typename T>
class SaturatedLogits : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SaturatedLogits, Scalars);

// z = (100, −100) with the second unit the target: every y rounds to 0 or 1, yet J, computed
// from the logits, stays finite and equals its exact value (e^−200 terms vanish).
TYPED_TEST(SaturatedLogits, CrossEntropiesStayFinite) {
  using T = TypeParam;
  Matrix<T> Z(2, 1);
  Z.data = {T(100), T(-100)};
  Matrix<T> target(2, 1);
  target.data = {T(0), T(1)};
  const Targets<T> t = Targets<T>::dense(target.view());
  struct Case {
    Loss loss;
    Activation activation;
    double expected;
  };
  const Case cases[] = {
      {Loss::softmax_cross_entropy, Activation::softmax, 200},  // −ln y₂ = 200
      {Loss::softmax_cross_entropy, Activation::sigmoid, 100},  // −ln σ(−100)
      {Loss::binary_cross_entropy, Activation::sigmoid, 200},   // −ln(1 − σ(100)) − ln σ(−100)
      {Loss::binary_cross_entropy, Activation::softmax, 400},   // −ln(1 − y₁) − ln y₂
      {Loss::mse, Activation::sigmoid, 1},                      // ½(1 + 1)
  };
  for (const Case& c : cases) {
    const double J = value(c.loss, c.activation, Z, t);
    EXPECT_TRUE(std::isfinite(J)) << blasnet::loss_name(c.loss) << " + "
                                  << blasnet::activation_name(c.activation) << ": J = " << J;
    EXPECT_NEAR(J, c.expected, 1e-6 * c.expected)
        << blasnet::loss_name(c.loss) << " + " << blasnet::activation_name(c.activation);
  }
}

// Every supported pair at the same saturated point, against the exact limit of n·∂J/∂Z
// (n = 1): a finite J must come with a finite, correct gradient. For BCE on a 2-unit softmax,
// 1 − y₁ = y₂, so J = −2 ln y₂ and dZ = 2·(y − t) = (2, −2).
TYPED_TEST(SaturatedLogits, GradientsMatchTheirLimits) {
  using T = TypeParam;
  Matrix<T> Z(2, 1);
  Z.data = {T(100), T(-100)};
  Matrix<T> target(2, 1);
  target.data = {T(0), T(1)};
  const Targets<T> t = Targets<T>::dense(target.view());
  struct Case {
    Loss loss;
    Activation activation;
    double expected[2];
  };
  const Case cases[] = {
      {Loss::softmax_cross_entropy, Activation::softmax, {1, -1}},
      {Loss::softmax_cross_entropy, Activation::sigmoid, {0, -1}},  // −t·σ(−z)
      {Loss::binary_cross_entropy, Activation::sigmoid, {1, -1}},
      {Loss::binary_cross_entropy, Activation::softmax, {2, -2}},
      {Loss::mse, Activation::sigmoid, {0, 0}},  // (y − t)·σ'(z), σ'(±100) ≈ 4e-44
  };
  for (const Case& c : cases) {
    const Matrix<T> dZ = gradient(c.loss, c.activation, Z, t);
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_NEAR(double(dZ.data[i]), c.expected[i], 1e-6)
          << blasnet::loss_name(c.loss) << " + " << blasnet::activation_name(c.activation)
          << ", unit " << i;
    }
  }
}

TEST(LossNames, RoundTripAndUnknownName) {
  for (Loss loss : {Loss::mse, Loss::binary_cross_entropy, Loss::softmax_cross_entropy}) {
    EXPECT_EQ(blasnet::parse_loss(blasnet::loss_name(loss)), loss);
  }
  try {
    blasnet::parse_loss("cross_entropy");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    for (const char* name : {"mse", "binary_cross_entropy", "softmax_cross_entropy"}) {
      EXPECT_NE(what.find(name), std::string::npos) << name << " missing from: " << what;
    }
  }
}

}  // namespace
