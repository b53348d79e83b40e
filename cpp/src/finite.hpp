#pragma once
// Scans for NaN, ±Inf and magnitudes near overflow, from the bits alone: integer operations
// that vectorize (a std::isfinite or a floating-point max in a loop does not), and that
// -fno-trapping-math cannot fold away.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>

#include "blasnet/matrix.hpp"

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

// The index of the first NaN or ±Inf of x[0..n), or n if every value is finite.
template <typename T>
std::size_t first_not_finite(const T* x, std::size_t n) {
  if (!any_not_finite(x, n)) return n;
  std::size_t i = 0;
  while (i < n && std::isfinite(x[i])) ++i;
  return i;
}

// Where a matrix holds its first NaN or ±Inf, column by column.
struct MatrixEntry {
  std::size_t row = 0, col = 0;
};
template <typename T>
std::optional<MatrixEntry> first_not_finite(MatrixView<const T> X) {
  for (std::size_t j = 0; j < X.cols; ++j) {
    const std::size_t i = first_not_finite(X.column(j), X.rows);
    if (i < X.rows) return MatrixEntry{i, j};
  }
  return std::nullopt;
}

// The top 32 bits of |x| as a non-negative int32: all of a float's, a double's sign, exponent
// and leading 20 mantissa bits. They order like |x| itself (IEEE magnitudes order as integers,
// NaN and ±Inf above every finite value), and an int32 max vectorizes on every x86-64.
inline std::int32_t top_bits(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return static_cast<std::int32_t>(bits & 0x7fffffffu);
}
inline std::int32_t top_bits(double x) {
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return static_cast<std::int32_t>((bits >> 32) & 0x7fffffffu);
}

// The largest value whose |x| has these top bits (a double's low word all ones), as double.
inline double largest_with(std::int32_t top, float) {
  const std::uint32_t bits = static_cast<std::uint32_t>(top);
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}
inline double largest_with(std::int32_t top, double) {
  const std::uint64_t bits = (std::uint64_t(std::uint32_t(top)) << 32) | 0xffffffffull;
  double x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// An upper bound of max |m| over M, exact for float; +Inf if M holds a NaN or ±Inf. A
// floating-point max would carry one long dependency through every element; this scan is an
// integer max over the top bits.
template <typename T>
double max_abs_bound(MatrixView<const T> M) {
  // Contiguous columns are one run: a short column (an output of 10 units) would otherwise
  // leave most of the scan to the loop's scalar tail.
  const bool contiguous = M.ld == M.rows;
  const std::size_t runs = contiguous ? 1 : M.cols;
  const std::size_t length = contiguous ? M.rows * M.cols : M.rows;
  std::int32_t largest = 0;
  for (std::size_t j = 0; j < runs; ++j) {
    const T* m = M.column(j);
    // Unrolled: the loop's own count and branch otherwise cost as much as the max itself.
#pragma GCC unroll 4
    for (std::size_t i = 0; i < length; ++i) {
      const std::int32_t top = top_bits(m[i]);
      largest = top > largest ? top : largest;
    }
  }
  // Exponent bits all ones in the top word: NaN or ±Inf.
  constexpr std::int32_t special = std::is_same_v<T, float> ? 0x7f800000 : 0x7ff00000;
  if ((largest & special) == special) return std::numeric_limits<double>::infinity();
  return largest_with(largest, T());
}

}  // namespace blasnet
