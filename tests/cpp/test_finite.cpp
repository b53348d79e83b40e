// finite.hpp: the bit-level scans answer as std::isfinite and std::fabs would, for every
// position (the unrolled loops' tails included), both signs and both types; a matrix is read
// through its leading dimension, never its padding.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "finite.hpp"

namespace {

template <typename T>
class Finite : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Finite, Types);

template <typename T>
std::vector<T> specials() {
  return {std::numeric_limits<T>::quiet_NaN(), -std::numeric_limits<T>::quiet_NaN(),
          std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity()};
}

TYPED_TEST(Finite, NotFiniteIsNaNOrInfinity) {
  using T = TypeParam;
  for (T x : {T(0), -T(0), T(1), T(-3.5), std::numeric_limits<T>::max(),
              -std::numeric_limits<T>::max(), std::numeric_limits<T>::denorm_min()}) {
    EXPECT_EQ(blasnet::not_finite(x), 0u) << x;
  }
  for (T x : specials<T>()) EXPECT_EQ(blasnet::not_finite(x), 1u) << x;
}

TYPED_TEST(Finite, EveryPositionIsSeen) {
  using T = TypeParam;
  for (std::size_t n : {1, 3, 4, 5, 17}) {
    std::vector<T> x(n, T(0.5));
    x[0] = std::numeric_limits<T>::max();
    EXPECT_FALSE(blasnet::any_not_finite(x.data(), n));
    EXPECT_EQ(blasnet::first_not_finite(x.data(), n), n);
    for (std::size_t at = 0; at < n; ++at) {
      for (T bad : specials<T>()) {
        std::vector<T> y = x;
        y[at] = bad;
        if (at + 1 < n) y[n - 1] = bad;  // a later one is not the first
        EXPECT_TRUE(blasnet::any_not_finite(y.data(), n));
        EXPECT_EQ(blasnet::first_not_finite(y.data(), n), at);
      }
    }
  }
  EXPECT_FALSE(blasnet::any_not_finite(static_cast<const T*>(nullptr), 0));
}

TYPED_TEST(Finite, PowersOfTwoAreThresholdsOnMagnitude) {
  using T = TypeParam;
  for (int e = std::numeric_limits<T>::min_exponent; e < std::numeric_limits<T>::max_exponent;
       ++e) {
    const T power = std::ldexp(T(1), e);
    const T below = std::nextafter(power, T(0));
    for (T sign : {T(1), T(-1)}) {
      EXPECT_EQ(blasnet::at_least_power_of_two(sign * power, e), 1u) << e;
      EXPECT_EQ(blasnet::at_least_power_of_two(sign * below, e), 0u) << e;
      const std::vector<T> x = {T(0), sign * below, T(0), T(0), sign * power};
      EXPECT_TRUE(blasnet::any_at_least_power_of_two(x.data(), x.size(), e)) << e;
      EXPECT_FALSE(blasnet::any_at_least_power_of_two(x.data(), x.size() - 1, e)) << e;
    }
  }
}

TYPED_TEST(Finite, AMatrixNamesItsFirstNaNOrInfByColumn) {
  using T = TypeParam;
  // 2 × 3 with a leading dimension of 3: the third row is padding, NaN, never read.
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> data = {1, 2, nan, 3, 4, nan, 5, 6, nan};
  blasnet::MatrixView<const T> M(data.data(), 2, 3, 3);
  EXPECT_FALSE(blasnet::first_not_finite(M));
  data[7] = std::numeric_limits<T>::infinity();  // (1, 2)
  data[3] = nan;                                  // (0, 1), the first by column
  const std::optional<blasnet::MatrixEntry> bad = blasnet::first_not_finite(M);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->row, 0u);
  EXPECT_EQ(bad->col, 1u);
}

TYPED_TEST(Finite, MaxAbsBoundIsAnUpperBoundExactForFloat) {
  using T = TypeParam;
  for (std::size_t ld : {4, 5}) {  // contiguous, then padded
    std::vector<T> data(ld * 3, T(0));
    const T largest = T(-1234.5678);
    data[ld + 2] = largest;
    data[1] = T(3);
    if (ld == 5) data[4] = std::numeric_limits<T>::quiet_NaN();  // padding
    const blasnet::MatrixView<const T> M(data.data(), 4, 3, ld);
    const double bound = blasnet::max_abs_bound(M);
    EXPECT_GE(bound, std::fabs(double(largest)));
    // A double's bound keeps its leading 20 mantissa bits.
    EXPECT_LE(bound, std::fabs(double(largest)) * (1 + std::ldexp(1.0, -20)));
    if constexpr (std::is_same_v<T, float>) {
      EXPECT_EQ(bound, std::fabs(double(largest)));
    }
    for (T bad : specials<T>()) {
      data[2 * ld + 3] = bad;
      EXPECT_EQ(blasnet::max_abs_bound(M), std::numeric_limits<double>::infinity());
    }
  }
  // Nothing to scan: a bound below every normal number.
  const double empty = blasnet::max_abs_bound(blasnet::MatrixView<const T>());
  EXPECT_GE(empty, 0.0);
  EXPECT_LT(empty, std::numeric_limits<T>::min());
}

}  // namespace
