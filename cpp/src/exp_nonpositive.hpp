#pragma once
// e^x for x ≤ 0, written so that a loop over it vectorizes: no branches, no libm call. Every
// exponential in the forward pass has a non-positive argument (softmax takes e^{z − max z},
// sigmoid e^{−|z|}), so overflow never needs handling. Accurate to about 1 ulp.

#include <cstdint>
#include <cstring>

namespace blasnet::detail {

template <typename T>
struct ExpConstants;

template <>
struct ExpConstants<double> {
  using Bits = std::uint64_t;
  static constexpr int mantissa_bits = 52;
  static constexpr int bias = 1023;
  static constexpr double lowest = -746.0;  // e^x rounds to 0 below this
  // 1.5·2^52: adding it rounds to an integer held in the low mantissa bits.
  static constexpr double round_shift = 6755399441055744.0;
  static constexpr double ln2_hi = 6.93147180369123816490e-01;
  static constexpr double ln2_lo = 1.90821492927058770002e-10;
  static constexpr int degree = 13;  // Taylor terms: |r| ≤ ln2/2 leaves < 2^-57
};

template <>
struct ExpConstants<float> {
  using Bits = std::uint32_t;
  static constexpr int mantissa_bits = 23;
  static constexpr int bias = 127;
  static constexpr float lowest = -104.0f;
  static constexpr float round_shift = 12582912.0f;  // 1.5·2^23
  static constexpr float ln2_hi = 6.9314575195e-01f;
  static constexpr float ln2_lo = 1.4286067653e-06f;
  static constexpr int degree = 8;  // |r| ≤ ln2/2 leaves < 2^-27
};

// 1/n! for n = 0 … N, the Taylor coefficients of e^r, each rounded once at compile time.
template <typename T, int N>
struct InverseFactorials {
  T value[N + 1] = {};
  constexpr InverseFactorials() {
    long double factorial = 1;
    for (int n = 0; n <= N; ++n) {
      if (n > 0) factorial *= n;
      value[n] = static_cast<T>(1.0L / factorial);
    }
  }
};

// 2^−m for an integer 0 ≤ m < bias, built from its exponent bits.
template <typename T>
inline T inverse_power_of_two(typename ExpConstants<T>::Bits m) {
  using C = ExpConstants<T>;
  const typename C::Bits bits = (static_cast<typename C::Bits>(C::bias) - m) << C::mantissa_bits;
  T result;
  std::memcpy(&result, &bits, sizeof result);
  return result;
}

// e^x = 2^k · e^r with k = round(x / ln2) ≤ 0, r = x − k·ln2 (Cody–Waite, ln2 in two parts),
// e^r by its Taylor polynomial, and 2^k applied as two halves so that results down to the
// subnormals come out right. k is read from the bits of x/ln2 + 1.5·2^p, where it sits in the
// low mantissa bits: integer operations only, which vectorize on any x86-64.
template <typename T>
inline T exp_nonpositive(T x) {
  using C = ExpConstants<T>;
  using Bits = typename C::Bits;
  x = x < C::lowest ? C::lowest : x;  // NaN passes through: the comparison is false
  const T shifted = x * T(1.4426950408889634) + C::round_shift;
  const T k = shifted - C::round_shift;
  const T r = (x - k * C::ln2_hi) - k * C::ln2_lo;
  static constexpr InverseFactorials<T, C::degree> c{};
  T p = c.value[C::degree];  // Horner: multiplications only
#pragma GCC unroll 16
  for (int n = C::degree - 1; n >= 0; --n) p = p * r + c.value[n];
  Bits shifted_bits, zero_bits;
  const T shift = C::round_shift;
  std::memcpy(&shifted_bits, &shifted, sizeof shifted_bits);
  std::memcpy(&zero_bits, &shift, sizeof zero_bits);
  const Bits m = zero_bits - shifted_bits;  // −k ≥ 0
  const Bits half = m >> 1;
  return p * inverse_power_of_two<T>(half) * inverse_power_of_two<T>(m - half);
}

}  // namespace blasnet::detail
