#pragma once
// NaN and ±Inf found from the exponent bits alone: integer operations that vectorize (a
// std::isfinite in a loop does not), and that -fno-trapping-math cannot fold away.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

namespace blasnet {

// The unsigned integer as wide as a float type.
template <typename T>
struct ExponentBits;
template <>
struct ExponentBits<float> {
  using Bits = std::uint32_t;
};
template <>
struct ExponentBits<double> {
  using Bits = std::uint64_t;
};

// The test |x| ≥ 2^e, for e from min_exponent to max_exponent of T (2^max_exponent is past
// the largest finite value: NaN and ±Inf alone reach it): |x|'s bits plus a constant carry
// into the sign bit exactly when its exponent reaches e's. An and and an add, which vectorize
// on any x86-64, where a compare of 64-bit integers (none before SSE4.1) would not.
template <typename T>
struct PowerOfTwoTest {
  using Bits = typename ExponentBits<T>::Bits;
  static constexpr int width = 8 * sizeof(Bits);
  static constexpr Bits sign = Bits(1) << (width - 1);

  explicit PowerOfTwoTest(int e)
      : carry(sign - (static_cast<Bits>(e + std::numeric_limits<T>::max_exponent - 1)
                      << (std::numeric_limits<T>::digits - 1))) {}
  // The sign bit of the result is set exactly when |x| ≥ 2^e; OR-ed results answer for all.
  Bits operator()(T x) const {
    Bits bits;
    std::memcpy(&bits, &x, sizeof bits);
    return (bits & (sign - 1)) + carry;
  }
  Bits carry;
};

// 1 if |x| ≥ 2^e (or x is NaN or ±Inf), else 0, to OR into a flag without a branch.
template <typename T>
typename ExponentBits<T>::Bits at_least_power_of_two(T x, int e) {
  return PowerOfTwoTest<T>(e)(x) >> (PowerOfTwoTest<T>::width - 1);
}

// 1 if x is NaN or ±Inf, else 0, to OR into a flag without a branch.
template <typename T>
typename ExponentBits<T>::Bits not_finite(T x) {
  return at_least_power_of_two(x, std::numeric_limits<T>::max_exponent);
}

// Whether any |x[i]| of x[0..n) is at least 2^e; unrolled, so that the loop's own count does
// not double the cost.
template <typename T>
bool any_at_least_power_of_two(const T* x, std::size_t n, int e) {
  const PowerOfTwoTest<T> test(e);
  typename PowerOfTwoTest<T>::Bits any = 0;
#pragma GCC unroll 4
  for (std::size_t i = 0; i < n; ++i) any |= test(x[i]);
  return (any & PowerOfTwoTest<T>::sign) != 0;
}

// Whether any of x[0..n) is NaN or ±Inf.
template <typename T>
bool any_not_finite(const T* x, std::size_t n) {
  return any_at_least_power_of_two(x, n, std::numeric_limits<T>::max_exponent);
}

}  // namespace blasnet
