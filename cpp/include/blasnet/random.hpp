#pragma once
// A seeded random stream that gives the same numbers on every platform and standard library
// (std::*_distribution does not), for weight initialisation and shuffling.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace blasnet {

// xoshiro256** (Blackman & Vigna), its state filled from the seed by splitmix64.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  std::uint64_t next();
  // Uniform on [0, 1), from the top 53 bits.
  double uniform();
  // Uniform on [lo, hi).
  double uniform(double lo, double hi);
  // Uniform integer in [0, n), n > 0, without modulo bias.
  std::uint64_t below(std::uint64_t n);
  // Fisher–Yates shuffle in place.
  void shuffle(std::vector<std::size_t>& values);

 private:
  std::uint64_t s_[4];
};

}  // namespace blasnet
