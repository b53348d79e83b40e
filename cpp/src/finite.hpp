#pragma once
// NaN and ±Inf found from the exponent bits alone: integer operations that vectorize (a
// std::isfinite in a loop does not), and that -fno-trapping-math cannot fold away.

#include <cstddef>
#include <cstdint>
#include <cstring>

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

// Whether any of x[0..n) is NaN or ±Inf.
template <typename T>
bool any_not_finite(const T* x, std::size_t n) {
  typename ExponentBits<T>::Bits worst = 0;
  for (std::size_t i = 0; i < n; ++i) worst |= not_finite(x[i]);
  return worst != 0;
}

}  // namespace blasnet
