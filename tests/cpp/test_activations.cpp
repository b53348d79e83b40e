// activations.hpp: eq. (2) y = f(z) at known points, the bias add of eq. (1), and the backward
// dZ = dY ⊙ f'(Z) against central differences.

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "blasnet/activations.hpp"
#include "reference.hpp"

namespace {

using blasnet::Activation;
using blasnet_test::Matrix;

struct ForwardCase {
  Activation activation;
  double expected[6];  // Y column-major
};

// Z (2×3) before the bias b = (0.5, −0.5) is chosen so that Z + b·1ᵀ lands every unit on a
// point with a known value: ln3 gives σ = 3/4 and tanh = 4/5.
TEST(ActivationForward, KnownPointsAfterBias) {
  const double ln3 = std::log(3.0);
  const double z_in[6] = {-0.5, -0.5, ln3 - 0.5, 2.5, -ln3 - 0.5, 0.5};
  const double b[2] = {0.5, -0.5};
  // After the bias: column 0 (0, −1), column 1 (ln3, 2), column 2 (−ln3, 0).
  const double z_out[6] = {0.0, -1.0, ln3, 2.0, -ln3, 0.0};
  const double e = std::exp(1.0);
  const ForwardCase cases[] = {
      {Activation::identity, {0.0, -1.0, ln3, 2.0, -ln3, 0.0}},
      {Activation::sigmoid, {0.5, 1 / (1 + e), 0.75, 1 / (1 + std::exp(-2.0)), 0.25, 0.5}},
      {Activation::tanh, {0.0, -std::tanh(1.0), 0.8, std::tanh(2.0), -0.8, 0.0}},
      {Activation::relu, {0.0, 0.0, ln3, 2.0, 0.0, 0.0}},
      {Activation::step, {1.0, 0.0, 1.0, 1.0, 0.0, 1.0}},  // z ≥ 0 -> 1
  };
  for (const ForwardCase& c : cases) {
    SCOPED_TRACE(std::string(blasnet::activation_name(c.activation)));
    Matrix<double> Z(2, 3), Y(2, 3);
    Z.data.assign(z_in, z_in + 6);
    blasnet::activation_forward<double>(c.activation, b, Z.view(), Y.view());
    for (std::size_t k = 0; k < 6; ++k) {
      EXPECT_NEAR(Z.data[k], z_out[k], 1e-15) << "Z holds Z + b·1ᵀ afterwards, entry " << k;
      EXPECT_NEAR(Y.data[k], c.expected[k], 1e-14) << "entry " << k;
    }
  }
}

// The step unit's threshold sits exactly at 0: a tiny negative z is "off".
TEST(ActivationForward, StepThreshold) {
  Matrix<double> Z(3, 1);
  Z.data = {-1e-300, 0.0, 1e-300};
  const Matrix<double> Y = blasnet_test::activate(Activation::step, Z);
  EXPECT_EQ(Y.data, (std::vector<double>{0.0, 1.0, 1.0}));
}

// identity may write Y over Z (the network stores no separate Y for it).
TEST(ActivationForward, IdentityInPlace) {
  Matrix<float> Z(2, 2);
  Z.data = {1, 2, 3, 4};
  const float b[2] = {10, 20};
  blasnet::activation_forward<float>(Activation::identity, b, Z.view(), Z.view());
  EXPECT_EQ(Z.data, (std::vector<float>{11, 22, 13, 24}));
}

TEST(ActivationForward, SoftmaxKnownColumnAndBias) {
  // Column 0 is (0, ln2, ln3) after the bias: e^z = (1, 2, 3), so y = (1, 2, 3)/6.
  Matrix<double> Z(3, 2), Y(3, 2);
  Z.data = {-1.0, std::log(2.0) - 1.0, std::log(3.0) - 1.0, 0.0, 0.0, 0.0};
  const double b[3] = {1.0, 1.0, 1.0};
  blasnet::activation_forward<double>(Activation::softmax, b, Z.view(), Y.view());
  EXPECT_NEAR(Y(0, 0), 1.0 / 6, 1e-15);
  EXPECT_NEAR(Y(1, 0), 2.0 / 6, 1e-15);
  EXPECT_NEAR(Y(2, 0), 3.0 / 6, 1e-15);
  EXPECT_NEAR(Z(1, 0), std::log(2.0), 1e-15) << "Z holds the biased logits";
  for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(Y(i, 1), 1.0 / 3, 1e-15);
}

template <typename T>
class SoftmaxStability : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SoftmaxStability, Scalars);

// Logits of ±1000 overflow a naive exp in both precisions; the shifted form must not.
TYPED_TEST(SoftmaxStability, LargeLogitsGiveFiniteColumnsSummingToOne) {
  using T = TypeParam;
  Matrix<T> Z(3, 4);
  Z.data = {1000, 1000, 0, -1000, -1000, -1000, 1000, -1000, 999, 0.5, -0.25, 2};
  const Matrix<T> Y = blasnet_test::activate(Activation::softmax, Z);
  for (std::size_t j = 0; j < 4; ++j) {
    T sum = 0;
    for (std::size_t i = 0; i < 3; ++i) {
      ASSERT_TRUE(std::isfinite(Y(i, j))) << i << "," << j;
      EXPECT_GE(Y(i, j), T(0));
      sum += Y(i, j);
    }
    EXPECT_NEAR(sum, T(1), 1e-6) << "column " << j;
  }
  EXPECT_NEAR(Y(0, 0), T(0.5), 1e-6);
  EXPECT_NEAR(Y(1, 0), T(0.5), 1e-6);
  EXPECT_NEAR(Y(0, 1), T(1) / 3, 1e-6);
  EXPECT_NEAR(Y(0, 2), T(1) / (T(1) + std::exp(T(-1))), 1e-6);  // 1000 vs 999
}

TYPED_TEST(SoftmaxStability, SigmoidSaturatesWithoutNaN) {
  using T = TypeParam;
  Matrix<T> Z(4, 1);
  Z.data = {1000, -1000, 40, -40};
  const Matrix<T> Y = blasnet_test::activate(Activation::sigmoid, Z);
  EXPECT_EQ(Y(0, 0), T(1));
  EXPECT_EQ(Y(1, 0), T(0));
  EXPECT_NEAR(Y(2, 0), T(1), 1e-7);
  EXPECT_GT(Y(3, 0), T(0)) << "e^-40 is representable in float and double";
}

// Backward of every differentiable activation against central differences of the scalar
// L(Z) = Σ G ⊙ f(Z): its gradient is exactly what activation_backward returns for dY = G, and
// for softmax it involves the full Jacobian, not only its diagonal.
class ActivationGradient : public ::testing::TestWithParam<Activation> {};

TEST_P(ActivationGradient, BackwardMatchesCentralDifferences) {
  const Activation a = GetParam();
  const std::size_t n = 4, batch = 3;
  // Z (4×3) with every |z| ≥ 0.1, so no difference straddles relu's kink.
  Matrix<double> Z = blasnet_test::random_matrix<double>(n, batch, 11, 0.1, 2.0);
  blasnet::Rng signs(12);
  for (double& z : Z.data) z = signs.below(2) ? z : -z;
  const Matrix<double> G = blasnet_test::random_matrix<double>(n, batch, 13);

  const auto L = [&](const Matrix<double>& z) {
    const Matrix<double> y = blasnet_test::activate(a, z);
    double sum = 0;
    for (std::size_t k = 0; k < y.data.size(); ++k) sum += G.data[k] * y.data[k];
    return sum;
  };

  const Matrix<double> Y = blasnet_test::activate(a, Z);
  Matrix<double> dZ = G;
  blasnet::activation_backward<double>(a, Y.view(), dZ.view());

  const double h = 1e-6;
  for (std::size_t k = 0; k < Z.data.size(); ++k) {
    Matrix<double> plus = Z, minus = Z;
    plus.data[k] += h;
    minus.data[k] -= h;
    const double fd = (L(plus) - L(minus)) / (2 * h);
    EXPECT_NEAR(dZ.data[k], fd, 1e-8) << "entry " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Differentiable, ActivationGradient,
                         ::testing::Values(Activation::identity, Activation::sigmoid,
                                           Activation::tanh, Activation::relu, Activation::softmax),
                         [](const ::testing::TestParamInfo<Activation>& info) {
                           return std::string(blasnet::activation_name(info.param));
                         });

// The fused pass (eqs. (7)-(8) in one sweep) gives the same dZ as the plain one, and adds
// scale times dZ's row sums to what row_sums held.
TEST_P(ActivationGradient, RowSumsComeWithTheSamePass) {
  const Activation a = GetParam();
  const Matrix<double> Y = blasnet_test::activate(a, blasnet_test::random_matrix<double>(4, 6, 21));
  const Matrix<double> G = blasnet_test::random_matrix<double>(4, 6, 22);
  Matrix<double> plain = G, fused = G;
  blasnet::activation_backward<double>(a, Y.view(), plain.view());
  std::vector<double> sums = {1.0, 2.0, 3.0, 4.0};
  blasnet::activation_backward<double>(a, Y.view(), fused.view(), sums.data(), 0.5);
  for (std::size_t i = 0; i < 4; ++i) {
    double row = 0;
    for (std::size_t j = 0; j < 6; ++j) {
      EXPECT_EQ(fused.view()(i, j), plain.view()(i, j));
      row += plain.view()(i, j);
    }
    EXPECT_NEAR(sums[i], double(i + 1) + 0.5 * row, 1e-12) << "row " << i;
  }
}

TEST(ActivationBackward, AddRowSums) {
  Matrix<double> M(2, 3);
  for (std::size_t k = 0; k < 6; ++k) M.data[k] = double(k + 1);  // columns (1,2) (3,4) (5,6)
  std::vector<double> sums = {10.0, 20.0};
  blasnet::add_row_sums<double>(M.view(), sums.data(), -1.0);
  EXPECT_EQ(sums[0], 10.0 - 9.0);
  EXPECT_EQ(sums[1], 20.0 - 12.0);
}

TEST(ActivationBackward, StepThrows) {
  EXPECT_FALSE(blasnet::is_differentiable(Activation::step));
  Matrix<double> Y(2, 2), dY(2, 2);
  EXPECT_THROW(
      blasnet::activation_backward<double>(Activation::step, Y.view(), dY.view()),
      std::invalid_argument);
}

TEST(ActivationNames, RoundTrip) {
  for (Activation a : {Activation::identity, Activation::sigmoid, Activation::tanh,
                       Activation::relu, Activation::softmax, Activation::step}) {
    EXPECT_EQ(blasnet::parse_activation(blasnet::activation_name(a)), a);
  }
  EXPECT_EQ(blasnet::activation_names(), "identity, sigmoid, tanh, relu, softmax, step");
}

TEST(ActivationNames, UnknownNameThrowsListingValidNames) {
  try {
    blasnet::parse_activation("Tanh");  // names are case-sensitive
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'Tanh'"), std::string::npos) << what;
    for (const char* name : {"identity", "sigmoid", "tanh", "relu", "softmax", "step"}) {
      EXPECT_NE(what.find(name), std::string::npos) << name << " missing from: " << what;
    }
  }
}

}  // namespace
