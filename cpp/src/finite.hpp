#pragma once
// NaN and ±Inf found from the exponent bits alone: integer operations that vectorize (a
// std::isfinite in a loop does not), and that -fno-trapping-math cannot fold away.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

namespace blasnet {

// The exponent bits of a float type, all ones exactly for NaN and ±Inf.
template <typename T>
struct ExponentBits;
template <>
struct ExponentBits<float> {
  using Bits = std::uint32_t;
  static constexpr Bits mask = 0x7f800000u;
};
template <>
struct ExponentBits<double> {
  using Bits = std::uint64_t;
  static constexpr Bits mask = 0x7ff0000000000000ull;
};

// 1 if x is NaN or ±Inf, else 0, to OR into a flag without a branch.
template <typename T>
inline typename ExponentBits<T>::Bits not_finite(T x) {
  using Bits = typename ExponentBits<T>::Bits;
  constexpr Bits mask = ExponentBits<T>::mask;
  Bits bits;
  std::memcpy(&bits, &x, sizeof bits);
  return static_cast<Bits>((bits & mask) == mask);
}

// Whether any |x[i]| of x[0..n) is at least 2^e, for e from min_exponent to max_exponent of
// T (2^max_exponent is past the largest finite value: NaN and ±Inf alone reach it). |x|'s bits
// plus a constant carry into the sign bit exactly when its exponent reaches e's; OR-ed over
// x, the sign bit answers for all. An and, an add and an or per value, which vectorize on
// any x86-64 (a compare would not: there is no 64-bit one before SSE4.2), unrolled so that
// the loop's own count does not double the cost.
template <typename T>
bool any_at_least_power_of_two(const T* x, std::size_t n, int e) {
  using Bits = typename ExponentBits<T>::Bits;
  constexpr int width = 8 * sizeof(Bits);
  constexpr Bits sign = Bits(1) << (width - 1);
  constexpr int mantissa_bits = std::numeric_limits<T>::digits - 1;
  const Bits biased = static_cast<Bits>(e + std::numeric_limits<T>::max_exponent - 1);
  const Bits carry = sign - (biased << mantissa_bits);
  Bits any = 0;
#pragma GCC unroll 4
  for (std::size_t i = 0; i < n; ++i) {
    Bits bits;
    std::memcpy(&bits, &x[i], sizeof bits);
    any |= (bits & (sign - 1)) + carry;
  }
  return (any & sign) != 0;
}

// Whether any of x[0..n) is NaN or ±Inf.
template <typename T>
bool any_not_finite(const T* x, std::size_t n) {
  return any_at_least_power_of_two(x, n, std::numeric_limits<T>::max_exponent);
}

}  // namespace blasnet
