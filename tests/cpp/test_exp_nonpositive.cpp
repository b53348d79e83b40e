// exp_nonpositive.hpp: the vectorizable e^x of the forward pass, against std::exp to the ulp,
// over the whole range its callers use (x ≤ 0), subnormal results included.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "exp_nonpositive.hpp"

namespace {

using blasnet::detail::exp_nonpositive;

// Distance between a and b in units in the last place of b.
template <typename T>
double ulps(T a, T b) {
  const T ulp = std::nextafter(b, std::numeric_limits<T>::infinity()) - b;
  return std::abs(double(a) - double(b)) / double(ulp);
}

template <typename T>
class ExpNonpositive : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ExpNonpositive, Types);

// Within one ulp of the correctly rounded std::exp from 0 down to where e^x underflows.
TYPED_TEST(ExpNonpositive, WithinOneUlpOfStdExp) {
  using T = TypeParam;
  const T lowest = std::is_same_v<T, float> ? T(-103.9) : T(-745.1);
  double worst = 0;
  for (T x = 0; x > lowest; x -= T(0.00731)) worst = std::max(worst, ulps(exp_nonpositive(x), std::exp(x)));
  EXPECT_LE(worst, 1.0);
}

TYPED_TEST(ExpNonpositive, EdgeValues) {
  using T = TypeParam;
  EXPECT_EQ(exp_nonpositive(T(0)), T(1));
  EXPECT_EQ(exp_nonpositive(T(-0.0)), T(1));
  EXPECT_EQ(exp_nonpositive(-std::numeric_limits<T>::infinity()), T(0));
  EXPECT_EQ(exp_nonpositive(std::numeric_limits<T>::lowest()), T(0));
  EXPECT_TRUE(std::isnan(exp_nonpositive(std::numeric_limits<T>::quiet_NaN())));
  EXPECT_NEAR(exp_nonpositive(T(-1)), T(0.36787944117144233), T(1e-7));
}

}  // namespace
