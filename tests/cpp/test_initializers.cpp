// initializers.hpp: the uniform limits of Glorot and He, which one each unit gets, and that a
// seed fixes the weights.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "blasnet/initializers.hpp"

namespace {

using blasnet::Activation;
using blasnet::Init;

template <typename T>
std::vector<T> draw(Init init, std::size_t fan_in, std::size_t fan_out, std::uint64_t seed) {
  std::vector<T> W(fan_in * fan_out);
  blasnet::Rng rng(seed);
  blasnet::initialize_weights<T>(init, {W.data(), W.size()}, fan_in, fan_out, rng);
  return W;
}

template <typename T>
double max_abs(const std::vector<T>& W) {
  double m = 0;
  for (T w : W) m = std::max(m, std::abs(double(w)));
  return m;
}

template <typename T>
double mean(const std::vector<T>& W) {
  double sum = 0;
  for (T w : W) sum += double(w);
  return sum / double(W.size());
}

template <typename T>
class Initializer : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Initializer, Scalars);

// fan_in 30, fan_out 20 (600 weights): Glorot's a = √(6/50) ≈ 0.346, He's a = √(6/30) ≈ 0.447.
// Each fills its own range, so a draw near He's limit cannot come from Glorot: the two are
// told apart, not only bounded.
TYPED_TEST(Initializer, GlorotUniformFillsItsRange) {
  const std::vector<TypeParam> W = draw<TypeParam>(Init::glorot_uniform, 30, 20, 1);
  const double a = std::sqrt(6.0 / 50);
  EXPECT_LE(max_abs(W), a * (1 + 1e-7));
  EXPECT_GT(max_abs(W), 0.98 * a);
  EXPECT_NEAR(mean(W), 0.0, 0.05);
}

TYPED_TEST(Initializer, HeUniformFillsItsRange) {
  const std::vector<TypeParam> W = draw<TypeParam>(Init::he_uniform, 30, 20, 1);
  const double a = std::sqrt(6.0 / 30);
  EXPECT_LE(max_abs(W), a * (1 + 1e-7));
  EXPECT_GT(max_abs(W), 0.98 * a);
  EXPECT_GT(max_abs(W), std::sqrt(6.0 / 50)) << "beyond Glorot's limit";
  EXPECT_NEAR(mean(W), 0.0, 0.05);
}

// Both signs occur in roughly equal numbers: the range is (−a, a), not (0, a).
TYPED_TEST(Initializer, SymmetricAroundZero) {
  const std::vector<TypeParam> W = draw<TypeParam>(Init::glorot_uniform, 30, 20, 2);
  const auto negative = std::count_if(W.begin(), W.end(), [](TypeParam w) { return w < 0; });
  EXPECT_NEAR(double(negative), 300.0, 60.0);
}

TYPED_TEST(Initializer, SameSeedSameWeights) {
  EXPECT_EQ(draw<TypeParam>(Init::glorot_uniform, 7, 5, 3),
            draw<TypeParam>(Init::glorot_uniform, 7, 5, 3));
  EXPECT_NE(draw<TypeParam>(Init::glorot_uniform, 7, 5, 3),
            draw<TypeParam>(Init::glorot_uniform, 7, 5, 4));
}

// float weights are the double weights rounded: the two precisions start from the same net.
TEST(Initializer, FloatIsRoundedDouble) {
  const std::vector<double> d = draw<double>(Init::he_uniform, 6, 4, 5);
  const std::vector<float> f = draw<float>(Init::he_uniform, 6, 4, 5);
  ASSERT_EQ(d.size(), f.size());
  for (std::size_t i = 0; i < d.size(); ++i) EXPECT_EQ(f[i], static_cast<float>(d[i]));
}

TEST(Initializer, DefaultIsHeForReluGlorotOtherwise) {
  EXPECT_EQ(blasnet::default_init(Activation::relu), Init::he_uniform);
  for (Activation a : {Activation::identity, Activation::sigmoid, Activation::tanh,
                       Activation::softmax, Activation::step}) {
    EXPECT_EQ(blasnet::default_init(a), Init::glorot_uniform) << blasnet::activation_name(a);
  }
}

}  // namespace
