// random.hpp: the seeded stream behind initialisation and shuffling must be reproducible on
// every platform, so its first outputs are pinned as literals.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "blasnet/random.hpp"

namespace {

using blasnet::Rng;

// xoshiro256** with its state from splitmix64(0), as in the reference C code by Blackman and
// Vigna; a change here changes every seeded network.
TEST(Rng, PinnedOutputsOfSeedZero) {
  Rng rng(0);
  EXPECT_EQ(rng.next(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(rng.next(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(rng.next(), 0x1a5f849d4933e6e0ULL);
  EXPECT_EQ(rng.next(), 0x6aa594f1262d2d2cULL);
}

// uniform() is the top 53 bits times 2⁻⁵³: exact, so it is pinned too.
TEST(Rng, PinnedUniformOfSeed42) {
  Rng rng(42);
  EXPECT_EQ(rng.uniform(), double(0x15780b2e0c2ec716ULL >> 11) * 0x1.0p-53);
}

TEST(Rng, SameSeedSameSequence) {
  Rng a(12345), b(12345);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next(), b.next()) << "draw " << i;
}

TEST(Rng, DifferentSeedsDiffer) {
  Rng a(1), b(2);
  int equal = 0;
  for (int i = 0; i < 100; ++i) equal += a.next() == b.next();
  EXPECT_EQ(equal, 0);
}

TEST(Rng, UniformInHalfOpenUnitInterval) {
  Rng rng(7);
  double lo = 1, hi = 0, sum = 0;
  const int draws = 100000;
  for (int i = 0; i < draws; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_LT(lo, 1e-3);
  EXPECT_GT(hi, 1 - 1e-3);
  EXPECT_NEAR(sum / draws, 0.5, 0.01);
}

TEST(Rng, UniformOnInterval) {
  Rng rng(8);
  for (int i = 0; i < 10000; ++i) {
    const double u = rng.uniform(-3.0, 5.0);
    ASSERT_GE(u, -3.0);
    ASSERT_LT(u, 5.0);
  }
}

// Counts of below(10) over 100000 draws: χ² with 9 degrees of freedom stays under 27.9
// (p = 0.001) for a uniform stream; a modulo-biased or stuck one fails by far.
TEST(Rng, BelowIsInRangeAndUniform) {
  Rng rng(9);
  const std::uint64_t n = 10;
  const int draws = 100000;
  std::vector<int> counts(n, 0);
  for (int i = 0; i < draws; ++i) {
    const std::uint64_t v = rng.below(n);
    ASSERT_LT(v, n);
    ++counts[v];
  }
  const double expected = double(draws) / double(n);
  double chi2 = 0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 27.9);
}

TEST(Rng, BelowOneIsZeroAndLargeBoundsStayInRange) {
  Rng rng(10);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rng.below(1), 0u);
  // 2⁶³ + 1 rejects almost half of all 64-bit draws: the loop must still terminate in range.
  const std::uint64_t big = (std::uint64_t(1) << 63) + 1;
  for (int i = 0; i < 1000; ++i) ASSERT_LT(rng.below(big), big);
}

TEST(Rng, ShuffleIsAPermutationAndMovesThings) {
  Rng rng(11);
  std::vector<std::size_t> values(100);
  std::iota(values.begin(), values.end(), std::size_t(0));
  rng.shuffle(values);
  std::vector<std::size_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], i);
  std::size_t fixed = 0;
  for (std::size_t i = 0; i < values.size(); ++i) fixed += values[i] == i;
  EXPECT_LT(fixed, 10u) << "a random permutation has about one fixed point";
}

TEST(Rng, ShuffleIsDeterministicAndHandlesTinyInputs) {
  std::vector<std::size_t> a(20), b(20);
  std::iota(a.begin(), a.end(), std::size_t(0));
  std::iota(b.begin(), b.end(), std::size_t(0));
  Rng ra(12), rb(12);
  ra.shuffle(a);
  rb.shuffle(b);
  EXPECT_EQ(a, b);

  std::vector<std::size_t> empty, one{7};
  ra.shuffle(empty);
  ra.shuffle(one);
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(one, std::vector<std::size_t>{7});
}

// Every one of the 6 orders of three items shows up about equally often.
TEST(Rng, ShuffleOrdersAreUniform) {
  Rng rng(13);
  std::vector<int> counts(27, 0);  // index 9·v0 + 3·v1 + v2
  const int trials = 60000;
  for (int t = 0; t < trials; ++t) {
    std::vector<std::size_t> v{0, 1, 2};
    rng.shuffle(v);
    ++counts[v[0] * 9 + v[1] * 3 + v[2]];
  }
  int seen = 0;
  for (int c : counts) {
    if (c == 0) continue;
    ++seen;
    EXPECT_NEAR(c, trials / 6, trials / 60);
  }
  EXPECT_EQ(seen, 6);
}

}  // namespace
