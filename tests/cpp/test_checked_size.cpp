// checked_size.hpp: products and sums of sizes that throw instead of wrapping, and an
// allocation refused with a message saying what was asked.

#include <gtest/gtest.h>

#include <cstddef>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "blasnet/checked_size.hpp"

namespace {

using blasnet::AllocationError;
using blasnet::allocate;
using blasnet::bytes_text;
using blasnet::checked_add;
using blasnet::checked_mul;

constexpr std::size_t max_size = std::numeric_limits<std::size_t>::max();

bool contains(const std::string& s, const std::string& piece) {
  return s.find(piece) != std::string::npos;
}

TEST(CheckedSize, ProductsAndSumsThatFitAreExact) {
  EXPECT_EQ(checked_mul(std::size_t(1) << 32, (std::size_t(1) << 32) - 1, "w"),
            max_size - ((std::size_t(1) << 32) - 1));
  EXPECT_EQ(checked_mul(0, max_size, "w"), 0u);
  EXPECT_EQ(checked_add(max_size - 1, 1, "w"), max_size);
}

TEST(CheckedSize, ProductThatWrapsThrowsNamingWhat) {
  try {
    checked_mul(std::size_t(1) << 32, std::size_t(1) << 32, "the weights of node 'h'");
    FAIL() << "no exception";
  } catch (const std::overflow_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "the weights of node 'h': 4294967296 × 4294967296 does not fit in a 64-bit size");
  }
}

TEST(CheckedSize, SumThatWrapsThrowsNamingWhat) {
  try {
    checked_add(max_size, 1, [] { return std::string("the parameter count"); });
    FAIL() << "no exception";
  } catch (const std::overflow_error& e) {
    EXPECT_TRUE(contains(e.what(), "the parameter count: 18446744073709551615 + 1")) << e.what();
  }
}

TEST(CheckedSize, DescriptionIsBuiltOnlyOnFailure) {
  int built = 0;
  const auto what = [&] {
    ++built;
    return std::string("x");
  };
  checked_mul(3, 4, what);
  checked_add(3, 4, what);
  EXPECT_EQ(built, 0);
  EXPECT_THROW(checked_add(max_size, max_size, what), std::overflow_error);
  EXPECT_EQ(built, 1);
}

TEST(CheckedSize, BytesText) {
  EXPECT_EQ(bytes_text(4096), "4096 bytes");
  EXPECT_EQ(bytes_text(8e18), "8.0e18 bytes");
  EXPECT_EQ(bytes_text(1.6e19), "1.6e19 bytes");
}

TEST(CheckedSize, AllocateFillsOrKeeps) {
  std::vector<double> v{1.0, 2.0};
  allocate(v, 3, "v", true);
  EXPECT_EQ(v, (std::vector<double>{1.0, 2.0, 0.0}));
  allocate(v, 2, "v");
  EXPECT_EQ(v, (std::vector<double>{0.0, 0.0}));
}

// Past what a vector can address, refused before the allocator is asked: a bad_alloc whose
// message names what and how many bytes.
TEST(CheckedSize, AllocationPastTheAddressSpaceIsRefusedWithItsSize) {
  std::vector<double> v{1.0};
  try {
    allocate(v, std::size_t(1) << 61, "the workspace of node 'h'");
    FAIL() << "no exception";
  } catch (const AllocationError& e) {
    EXPECT_EQ(std::string(e.what()),
              "the workspace of node 'h' needs 1.8e19 bytes, more memory than could be "
              "allocated");
  }
  EXPECT_EQ(v, std::vector<double>{1.0}) << "a refusal changes nothing";
  try {
    allocate(v, std::size_t(1) << 61, [](double bytes) { return "asked " + bytes_text(bytes); });
    FAIL() << "no exception";
  } catch (const std::bad_alloc& e) {
    EXPECT_EQ(std::string(e.what()), "asked 1.8e19 bytes");
  }
}

}  // namespace
